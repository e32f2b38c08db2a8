import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { CONTRACT_VERSION, SCHEMAS } from './messages.js';

/** Writes one JSON Schema file per message into ./schema (run after build). */
const out = join(dirname(fileURLToPath(import.meta.url)), '..', 'schema');
mkdirSync(out, { recursive: true });
for (const [name, schema] of Object.entries(SCHEMAS)) {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  const doc = { $id: `https://ragline.dev/schema/v${CONTRACT_VERSION}/${name}.json`, title: name, ...json };
  writeFileSync(join(out, `${name}.json`), JSON.stringify(doc, null, 2) + '\n');
}
console.log(`wrote ${Object.keys(SCHEMAS).length} schemas to ${out}`);
