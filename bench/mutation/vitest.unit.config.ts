import { defineConfig } from 'vitest/config';

// The unit tests Stryker's vitest runner drives for `npm run mutation -- --unit` (stryker.unit.config.mjs):
// those of the model and the oracle, which import the TypeScript sources (the CLI and campaign tests run
// the compiled dist/, which the mutation sandbox does not rebuild).
export default defineConfig({
  test: {
    include: ['test/model/**/*.test.ts', 'test/oracle/**/*.test.ts'],
    testTimeout: 120_000,
  },
});
