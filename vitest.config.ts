import { defineConfig } from 'vitest/config';

// Unit + Node integration tests. Browser (Playwright) tests live in e2e/ and run via scripts/e2e.mjs.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'tests/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
