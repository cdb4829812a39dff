import fs from 'node:fs';
import { createRequire } from 'node:module';
import tailwindcss from '@tailwindcss/vite';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

const require = createRequire(import.meta.url);

/** The languages of the client (src/i18n) whose emoji names are shipped. */
const EMOJI_LOCALES = ['en', 'fr'];
const EMOJI_FILES = ['data.json', 'messages.json'];

/**
 * The emoji picker's data (frimousse reads `${emojibaseUrl}/${locale}/${file}`), copied from the
 * emojibase-data package into the build under `emojibase/`, and served from it by `vite dev`:
 * Parley serves it itself, since the page may load nothing from another origin [WB29].
 */
function emojibaseData(): Plugin {
  const fileOf = (locale: string, file: string) => require.resolve(`emojibase-data/${locale}/${file}`);
  return {
    name: 'parley-emojibase-data',
    generateBundle() {
      for (const locale of EMOJI_LOCALES) {
        for (const file of EMOJI_FILES) {
          this.emitFile({ type: 'asset', fileName: `emojibase/${locale}/${file}`, source: fs.readFileSync(fileOf(locale, file)) });
        }
      }
    },
    configureServer(server) {
      server.middlewares.use((request, response, next) => {
        const match = /^\/emojibase\/([a-z-]+)\/([a-z]+\.json)$/.exec(request.url ?? '');
        if (!match || !EMOJI_LOCALES.includes(match[1] ?? '') || !EMOJI_FILES.includes(match[2] ?? '')) return next();
        response.setHeader('Content-Type', 'application/json');
        response.end(fs.readFileSync(fileOf(match[1] ?? '', match[2] ?? '')));
      });
    },
  };
}

// The workspace packages are bundled from their TypeScript sources (the `parley-source` export
// condition), so building the web client needs no other build first.
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react(), tailwindcss(), emojibaseData()],
  resolve: { conditions: ['parley-source', 'browser', 'module', 'import', 'default'] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // No inline script or style anywhere: the server's policy allows only files from its origin.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    // Libraries apart from the app: they change less often, so a new release reloads less.
    rolldownOptions: {
      output: {
        codeSplitting: {
          groups: [
            { name: 'react', test: /node_modules[\\/](react|react-dom|scheduler)[\\/]/ },
            { name: 'zod', test: /node_modules[\\/]zod[\\/]/ },
          ],
        },
      },
    },
  },
  server: { proxy: { '/api': { target: 'http://127.0.0.1:3000', ws: true } } },
});
