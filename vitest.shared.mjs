// Shared Vitest preset: tests import workspace packages from their TypeScript sources
// (the "@ragline/source" export condition) so no build is needed to run a package's tests.
const conditions = ['@ragline/source', 'node', 'import', 'default'];

/** @param {import('vitest/config').UserConfig['test']} [test] */
export function rag(test = {}) {
  return {
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['node', 'import', 'default'] } },
    test: {
      testTimeout: 30_000,
      hookTimeout: 60_000,
      reporters: ['default', ['json', { outputFile: 'test-results.json' }]],
      ...test,
    },
  };
}
