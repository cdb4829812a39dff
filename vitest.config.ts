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
    // A live update crosses a real server and real browsers, on a shared 2-core machine running
    // many test files at once: the default second was too short for one under load (a denied call
    // card in the apps' e2e, seen in CI). A lost update still fails: it never arrives.
    expect: { poll: { timeout: 5000 } },
  },
});
