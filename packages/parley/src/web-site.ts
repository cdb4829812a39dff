import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SiteHandler } from '@parley/server';
import sirv from 'sirv';

/**
 * The web client's policy: scripts and styles only from this origin (no inline script), the
 * socket and API on this origin, images also as data/blob URLs (previews), and no framing.
 * Frames only from the widget origin, when there is one (apps' widgets, apps/SPEC.md [AP20]).
 */
export function contentSecurityPolicy(widgetOrigin: string | null = null): string {
  return [...BASE_POLICY, `frame-src ${widgetOrigin ?? "'none'"}`].join('; ');
}

const BASE_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
];

/** The policy of a web client that shows no widgets. */
export const CONTENT_SECURITY_POLICY = contentSecurityPolicy();

/** Where `npm run build` puts the web client: the `@parley/web` package's `dist` folder. */
export function builtWebDir(): string | undefined {
  try {
    return path.dirname(fileURLToPath(import.meta.resolve('@parley/web/dist/index.html')));
  } catch {
    return undefined;
  }
}

/**
 * Serves the built web client: its files, and `index.html` for any other path without a file
 * extension, so the client's own routes (`/c/…`, `/invite/…`) load the app [WB1]–[WB3].
 * `widgetOrigin` names the origin the page may frame (known once the widget listener listens).
 * Undefined when the folder holds no build.
 */
export function webSite(directory: string, options: { widgetOrigin?: () => string | null } = {}): SiteHandler | undefined {
  if (!fs.existsSync(path.join(directory, 'index.html'))) return undefined;
  const serve = sirv(directory, {
    single: true,
    etag: true,
    gzip: false,
    setHeaders: (response, pathname) => {
      response.setHeader('Content-Security-Policy', contentSecurityPolicy(options.widgetOrigin?.() ?? null));
      response.setHeader('X-Content-Type-Options', 'nosniff');
      response.setHeader('Referrer-Policy', 'no-referrer');
      // Vite names assets by their content hash: they never change. The page itself always revalidates.
      response.setHeader('Cache-Control', pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  return (request, response, notFound) => serve(request, response, notFound);
}
