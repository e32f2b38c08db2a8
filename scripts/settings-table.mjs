#!/usr/bin/env node
// Writes README.md's settings section (between <!-- settings:start --> and <!-- settings:end -->) from
// the built settings schemas: every app's src/env.ts, the CLI's context.ts and the package slices they
// compose. `--check` writes nothing and fails when the README differs (packages/config's tests run it).
//   pnpm build && node scripts/settings-table.mjs [--check]
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const REGENERATE = 'pnpm build && node scripts/settings-table.mjs';

async function load(path) {
  const file = join(root, path);
  if (!existsSync(file)) {
    console.error(`settings-table: ${path} is not built; run \`pnpm build\` first`);
    process.exit(2);
  }
  return import(pathToFileURL(file).href);
}

const config = await load('packages/config/dist/index.js');
const { StorageSettings } = await load('packages/storage/dist/index.js');
const { DocStoreSettings, DocStoreWriterSettings } = await load('packages/docstore/dist/index.js');
const { EmbeddingSettings } = await load('packages/embedding/dist/index.js');
const { RagflowQueueSettings } = await load('packages/redis-queue/dist/index.js');
const { RagTokenizerResourceSettings } = await load('packages/rag-tokenizer/dist/index.js');
const { ChatSettings } = await load('packages/enrichment/dist/index.js');
const { ParsingSettings } = await load('packages/parsing/dist/index.js');

const readers = [
  { name: 'parser', file: 'apps/parser/src/env.ts', schema: (await load('apps/parser/dist/env.js')).ParserEnv },
  { name: 'enricher', file: 'apps/enricher/src/env.ts', schema: (await load('apps/enricher/dist/env.js')).EnricherEnv },
  { name: 'embedder', file: 'apps/embedder/src/env.ts', schema: (await load('apps/embedder/dist/env.js')).EmbedderEnv },
  { name: 'indexer', file: 'apps/indexer/src/env.ts', schema: (await load('apps/indexer/dist/env.js')).IndexerEnv },
  { name: 'ingest-bridge', file: 'apps/ingest-bridge/src/env.ts', schema: (await load('apps/ingest-bridge/dist/env.js')).BridgeEnv },
  { name: 'monitor', file: 'apps/monitor/src/env.ts', schema: (await load('apps/monitor/dist/env.js')).MonitorEnv },
  { name: 'CLI', file: 'packages/cli/src/context.ts', schema: (await load('packages/cli/dist/context.js')).CliEnv },
];

let section;
try {
  section = config.renderSettingsTable({
    common: { name: 'CommonEnv', from: '@ragline/config', title: 'Every process', shape: config.CommonEnv.shape },
    slices: [
      { name: 'RagflowQueueSettings', from: '@ragline/redis-queue', title: 'RAGFlow task queues', shape: RagflowQueueSettings },
      { name: 'MonitorAddressSettings', from: '@ragline/config', title: 'Monitor address', shape: config.MonitorAddressSettings },
      { name: 'StorageSettings', from: '@ragline/storage', title: 'Object storage', shape: StorageSettings },
      { name: 'DocStoreSettings', from: '@ragline/docstore', title: 'Doc store', shape: DocStoreSettings },
      { name: 'DocStoreWriterSettings', from: '@ragline/docstore', title: 'Doc store writes', shape: DocStoreWriterSettings },
      { name: 'EmbeddingSettings', from: '@ragline/embedding', title: 'Embedding', shape: EmbeddingSettings },
      { name: 'ChatSettings', from: '@ragline/enrichment', title: 'Chat models (enrichment)', shape: ChatSettings },
      { name: 'RagTokenizerResourceSettings', from: '@ragline/rag-tokenizer', title: 'Tokenizer resources', shape: RagTokenizerResourceSettings },
      { name: 'ParsingSettings', from: '@ragline/parsing', title: 'Parsing', shape: ParsingSettings },
    ],
    readers,
  });
} catch (e) {
  console.error(e instanceof config.SettingsTableError ? e.message : e);
  process.exit(1);
}

// Exit explicitly: the imported app modules may hold handles (native libraries, timers) open.
const readmePath = join(root, 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const updated = config.replaceSettingsSection(readme, section);
if (check) {
  if (updated !== readme) {
    const a = readme.split('\n');
    const b = updated.split('\n');
    let i = 0;
    while (i < a.length && a[i] === b[i]) i++;
    console.error(
      `README.md's settings table differs from the schemas (first difference at line ${i + 1}):\n` +
        `  README:    ${a[i] ?? '(end)'}\n  generated: ${b[i] ?? '(end)'}\n` +
        `Regenerate it with \`${REGENERATE}\` (descriptions come from each key's .describe() in its settings slice or env.ts).`,
    );
    process.exit(1);
  }
  console.log('README.md settings table is up to date');
} else if (updated !== readme) {
  writeFileSync(readmePath, updated);
  console.log('README.md settings table written');
} else {
  console.log('README.md settings table is up to date');
}
process.exit(0);
