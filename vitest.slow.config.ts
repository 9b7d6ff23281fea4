import { defineConfig } from 'vitest/config';

// Slow suites (crash consistency, multi-instance, soak): `npm run test:slow`, also run by .ci/run.
export default defineConfig({
  test: {
    include: ['test/**/*.slow.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 600_000,
    hookTimeout: 120_000,
  },
});
