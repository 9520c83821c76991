import { defineConfig } from 'vitest/config';

// `npm test` builds first: the campaign tests run the compiled worker, the CLI tests the bundle dist/bundle/main.js.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
