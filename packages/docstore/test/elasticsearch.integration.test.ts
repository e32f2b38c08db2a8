import { randomBytes } from 'node:crypto';
import { Client } from '@elastic/elasticsearch';
import { describe } from 'vitest';
import { createElasticDocStore } from '../src/index.js';
import { runDocStoreConformance } from './conformance.js';

const url = process.env.ELASTICSEARCH_URL;

// Needs a real cluster, which this machine does not run: set ELASTICSEARCH_URL (and ES_USERNAME /
// ES_PASSWORD) to run it; otherwise vitest reports the suite as skipped rather than passing it silently.
describe.skipIf(!url)('elasticsearch against a real cluster', () => {
  const auth = process.env.ES_USERNAME ? { username: process.env.ES_USERNAME, password: process.env.ES_PASSWORD ?? '' } : undefined;
  runDocStoreConformance('elasticsearch', async () => {
    // a private index prefix per test, so runs never see each other's indexes
    const indexPrefix = `ragline_test_${randomBytes(4).toString('hex')}_`;
    const make = () => createElasticDocStore({ node: url!, username: auth?.username, password: auth?.password, indexPrefix, retryDelayMs: 100 });
    const store = make();
    return {
      store,
      reopen: async () => make(),
      cleanup: async () => {
        await store.close();
        const admin = new Client({ node: url!, auth });
        try {
          // by name: clusters refuse wildcard deletes by default (action.destructive_requires_name)
          const names = Object.keys(await admin.indices.get({ index: `${indexPrefix}*`, allow_no_indices: true, ignore_unavailable: true }));
          if (names.length) await admin.indices.delete({ index: names });
        } finally {
          await admin.close();
        }
      },
    };
  });
});
