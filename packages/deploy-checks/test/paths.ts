import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const DEPLOY = join(ROOT, 'deploy');
export const APPS = ['ingest-bridge', 'parser', 'enricher', 'embedder', 'indexer', 'monitor'] as const;
