import { defineConfig } from 'vitest/config';
import { rag } from '../../vitest.shared.mjs';

export default defineConfig(rag());
