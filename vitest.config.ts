import { defineConfig } from 'vitest/config';

// Packages export their TypeScript sources under the `parley-source` condition, so tests run
// against the sources without a build step.
export default defineConfig({
  resolve: { conditions: ['parley-source'] },
  ssr: { resolve: { conditions: ['parley-source'], externalConditions: ['parley-source'] } },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'packages/web/e2e/**/*.test.ts', 'scripts/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
});
