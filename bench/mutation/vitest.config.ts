import { defineConfig } from 'vitest/config';

// Only the mutation campaign; Stryker's vitest runner (stryker.config.mjs) loads this file.
export default defineConfig({
  test: {
    include: ['bench/mutation/campaign.spec.ts'],
    testTimeout: 600_000,
  },
});
