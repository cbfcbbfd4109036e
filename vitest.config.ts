import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'machines/**/*.test.ts', 'projections/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // SIPp and store tests bind ports and files; keep files parallel but bounded on 2 cores.
    maxWorkers: 2,
  },
});
