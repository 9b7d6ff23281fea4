import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/**/*.slow.test.ts', 'node_modules/**'],
    // Native modules (sharp, better-sqlite3, argon2) are happiest in child processes.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // An upload now includes the face check (its models load on a process's first one): on a
    // shared 2-core machine, what a page shows after an upload can take more than the default 1 s.
    expect: { poll: { timeout: 5_000 } },
    reporters: ['default'],
  },
});
