import { defineConfig } from 'vitest/config';

// `npm test` builds first: the campaign and CLI tests run the compiled worker and dist/src/cli/main.js.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
