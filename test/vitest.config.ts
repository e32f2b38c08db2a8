import { defineConfig } from 'vitest/config';
import { rag } from '../vitest.shared.mjs';

// end-to-end suites start real processes: one file at a time, generous timeouts
export default defineConfig(rag({ include: ['e2e/**/*.test.ts', 'faults/**/*.test.ts', 'deploy/**/*.test.ts'], testTimeout: 180_000, hookTimeout: 120_000, fileParallelism: false }));
