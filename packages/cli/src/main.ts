#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError } from '@ragline/config';
import { ragflowQueueNames } from '@ragline/contracts';
import { TaskDbError } from '@ragline/taskdb';
import { docStoreFromConfig, embeddingRegistryFromConfig } from '@ragline/pipeline';
import { Command, Option } from 'commander';
import { checkServices } from './checks.js';
import { embdIdFor, loadCliConfig, openClients, redactForTerminal, type CliEnv } from './context.js';
import { ingestFiles, waitForDocuments } from './ingest.js';
import { formatRecovery, recoverTasks } from './recover.js';
import { deleteDocument, reparseDocument, type DocumentActionDeps } from './reparse.js';
import { formatHits, searchKnowledgebase } from './search.js';
import { collectStatus, formatStatus } from './status.js';
import { APPS, Supervisor, parseReplicas } from './supervisor.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const SAMPLE = join(ROOT, 'samples', 'ragline-overview.md');

function fail(message: string, code = 1): never {
  // an error from an embedding server or a driver may quote a key or a connection URL
  process.stderr.write(`ragline: ${redactForTerminal(message)}\n`);
  process.exit(code);
}

async function requireServices(cfg: CliEnv): Promise<void> {
  const checks = await checkServices(cfg);
  const down = checks.filter((c) => !c.ok);
  if (!down.length) return;
  fail(
    'required services are not reachable:\n' +
      down.map((c) => `  - ${c.name}: ${c.detail}\n    ${c.hint}`).join('\n'),
  );
}

function requireBuilt(): void {
  const missing = APPS.filter((a) => !existsSync(join(ROOT, 'apps', a, 'dist', 'main.js')));
  if (missing.length) fail(`apps not built (${missing.join(', ')}); run: pnpm build`);
}

function startPipeline(replicas: string | undefined, quiet: boolean): Supervisor {
  const sup = new Supervisor({
    root: ROOT,
    replicas: parseReplicas(replicas),
    onLine: (app, line) => {
      if (quiet) {
        // in quiet mode only errors from the apps reach the terminal
        if (!/"level":"(error|fatal)"/.test(line)) return;
      }
      process.stderr.write(`[${app}] ${line}\n`);
    },
    onEvent: (msg) => process.stderr.write(`ragline: ${msg}\n`),
  });
  sup.start();
  return sup;
}

const program = new Command('ragline').description('Ragline: RAGFlow-compatible document ingestion over NATS JetStream');

program
  .command('migrate')
  .description("create or update RAGFlow's tables (task, document, knowledgebase, tenant) and Ragline's own")
  .action(async () => {
    const cfg = loadCliConfig();
    const c = openClients(cfg);
    try {
      await c.taskdb.migrate();
      console.log('database schema is up to date');
    } finally {
      await c.close();
    }
  });

program
  .command('up')
  .description('start all six apps as child processes (restarted if they die) until Ctrl-C')
  .option('--replicas <spec>', 'replicas per app, e.g. embedder=4,enricher=2,parser=2')
  .option('--quiet', 'only show errors from the apps')
  .action(async (opts: { replicas?: string; quiet?: boolean }) => {
    const cfg = loadCliConfig();
    await requireServices(cfg);
    requireBuilt();
    const c = openClients(cfg);
    await c.taskdb.migrate();
    await c.close();
    const sup = startPipeline(opts.replicas, Boolean(opts.quiet));
    process.stderr.write(`ragline: pipeline running (${sup.processes.length} processes); monitor on http://127.0.0.1:${cfg.MONITOR_PORT}; Ctrl-C stops\n`);
    const stop = async () => {
      process.stderr.write('ragline: stopping (draining)...\n');
      await sup.stop(cfg.SHUTDOWN_GRACE_MS + 5000);
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

program
  .command('ingest')
  .description("store files and enqueue parse tasks on RAGFlow's Redis stream, as RAGFlow's API server does")
  .argument('<files...>', 'documents to ingest')
  .option('--kb <name>', 'knowledge base name (created if missing)', 'default')
  .option('--parser <id>', 'parser_id (naive, table, one, ...); default from the knowledge base')
  .option('--wait', 'show progress until every document is done or failed')
  .option('--timeout <seconds>', 'give up waiting after this long', '600')
  .action(async (files: string[], opts: { kb: string; parser?: string; wait?: boolean; timeout: string }) => {
    const cfg = loadCliConfig();
    for (const f of files) if (!existsSync(f)) fail(`file not found: ${f}`);
    const c = openClients(cfg);
    try {
      const docs = await ingestFiles(
        { taskdb: c.taskdb, store: c.store, producer: c.producer, redis: c.redis, queueNaming: cfg.RAGFLOW_QUEUE_NAMING, embdId: embdIdFor(cfg) },
        files,
        { kb: opts.kb, parserId: opts.parser },
      );
      for (const d of docs) console.log(`queued ${d.name} as document ${d.docId} (${d.tasks.length} task${d.tasks.length === 1 ? '' : 's'})`);
      if (!opts.wait) return;
      const results = await waitForDocuments(c.taskdb, docs, { timeoutMs: Number(opts.timeout) * 1000 });
      for (const r of results) console.log(`${r.name}: ${r.state}${r.state === 'done' ? ` (${r.chunks} chunks)` : `\n${r.message}`}`);
      if (results.some((r) => r.state !== 'done')) process.exitCode = 1;
    } finally {
      await c.close();
    }
  });

program
  .command('search')
  .description('print the best chunks for a query (hybrid text + vector by default)')
  .argument('<query>')
  .option('--kb <name>', 'knowledge base name', 'default')
  .option('--top <n>', 'number of hits', '5')
  .addOption(new Option('--mode <mode>', 'search mode').choices(['hybrid', 'fulltext', 'vector']).default('hybrid'))
  .option('--json', 'print JSON')
  .action(async (query: string, opts: { kb: string; top: string; mode: 'hybrid' | 'fulltext' | 'vector'; json?: boolean }) => {
    const cfg = loadCliConfig();
    const c = openClients(cfg);
    const docstore = docStoreFromConfig(cfg);
    try {
      const hits = await searchKnowledgebase({ taskdb: c.taskdb, docstore, embedders: embeddingRegistryFromConfig(cfg) }, query, {
        kb: opts.kb,
        top: Number(opts.top),
        mode: opts.mode,
      });
      console.log(opts.json ? JSON.stringify(hits, null, 2) : formatHits(hits));
    } finally {
      await docstore.close();
      await c.close();
    }
  });

program
  .command('status')
  .description('workers, stage lags and recent tasks')
  .option('--json', 'print JSON')
  .action(async (opts: { json?: boolean }) => {
    const cfg = loadCliConfig();
    const c = openClients(cfg);
    try {
      const s = await collectStatus(cfg, c);
      console.log(opts.json ? JSON.stringify(s, null, 2) : formatStatus(s));
    } finally {
      await c.close();
    }
  });

program
  .command('recover')
  .description('re-enqueue every task MySQL says is unfinished but no stage holds (e.g. after a Redis restart lost the queue)')
  .option('--older-than <seconds>', 'only tasks without progress for this long', '60')
  .option('--dry-run', 'list what would be re-enqueued')
  .option('--json', 'print JSON')
  .action(async (opts: { olderThan: string; dryRun?: boolean; json?: boolean }) => {
    const cfg = loadCliConfig();
    const olderThanMs = Number(opts.olderThan) * 1000;
    if (!Number.isFinite(olderThanMs) || olderThanMs < 0) fail(`--older-than must be a number of seconds, got ${opts.olderThan}`);
    const c = openClients(cfg);
    try {
      const r = await recoverTasks(cfg, c, { olderThanMs, dryRun: opts.dryRun });
      console.log(opts.json ? JSON.stringify(r, null, 2) : formatRecovery(r, { dryRun: opts.dryRun, olderThanMs }));
      if (!r.complete) process.exitCode = 1;
    } finally {
      await c.close();
    }
  });

/** The connections `reparse` and `delete` use (RAGFlow's document actions). */
function documentActionDeps(cfg: CliEnv, c: ReturnType<typeof openClients>): DocumentActionDeps {
  const queues = cfg.RAGFLOW_QUEUES ? cfg.RAGFLOW_QUEUES.split(',') : ragflowQueueNames(cfg.RAGFLOW_QUEUE_NAMING);
  return { taskdb: c.taskdb, store: c.store, docstore: docStoreFromConfig(cfg), producer: c.producer, redis: c.redis, queue: queues[queues.length - 1]! };
}

program
  .command('reparse')
  .description("parse a document again as RAGFlow's run action does: identical earlier tasks keep their chunks, the others' chunks are removed")
  .argument('<doc_id>')
  .action(async (docId: string) => {
    const cfg = loadCliConfig();
    const c = openClients(cfg);
    try {
      const r = await reparseDocument(documentActionDeps(cfg, c), docId);
      console.log(
        `document ${docId}: ${r.queued.length} task(s) queued, ${r.reused.length} reused (${r.reusedChunks} chunks kept), ${r.removedChunks} earlier chunk(s) removed`,
      );
    } catch (e) {
      if (e instanceof TaskDbError && !e.retryable) fail(e.message);
      throw e;
    } finally {
      await c.close();
    }
  });

program
  .command('delete')
  .description("delete a document as RAGFlow does: its tasks are cancelled, its rows, chunks and file removed, the knowledge base's counts lowered")
  .argument('<doc_id>')
  .action(async (docId: string) => {
    const cfg = loadCliConfig();
    const c = openClients(cfg);
    try {
      const r = await deleteDocument(documentActionDeps(cfg, c), docId);
      console.log(`document ${docId} deleted: ${r.cancelledTasks} task(s) cancelled, ${r.removedChunks} chunk(s) removed`);
    } catch (e) {
      if (e instanceof TaskDbError && !e.retryable) fail(e.message);
      throw e;
    } finally {
      await c.close();
    }
  });

/** Lowercased words of a text, to show which a query and its hit share. */
const wordsOf = (s: string): Set<string> => new Set(s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []);

program
  .command('demo')
  .description('start the pipeline, ingest the bundled sample, print a keyword hit and a hit by meaning, stop')
  .option('--query <text>', 'what to search for (hybrid search)', 'How are duplicate chunks avoided?')
  .option(
    '--semantic-query <text>',
    'a second query, searched by vector only, that shares no word with the passage it should find',
    'What keeps retries from creating copies?',
  )
  .action(async (opts: { query: string; semanticQuery: string }) => {
    const cfg = loadCliConfig();
    await requireServices(cfg);
    requireBuilt();
    const c = openClients(cfg);
    await c.taskdb.migrate();
    const sup = startPipeline(undefined, true);
    const embdId = embdIdFor(cfg);
    // One demo knowledge base per model: Ragline remembers the vector size a knowledge base was first
    // embedded with and refuses another, so a demo run before the default model changed must not be reused.
    const kb = `demo-${embdId.split('@')[0]!.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
    let code = 0;
    try {
      process.stderr.write(`ragline: pipeline started; ingesting the sample document (embedding model ${embdId})...\n`);
      const docs = await ingestFiles(
        { taskdb: c.taskdb, store: c.store, producer: c.producer, redis: c.redis, queueNaming: cfg.RAGFLOW_QUEUE_NAMING, embdId },
        [SAMPLE],
        // small chunks, so the sample's paragraphs become separate search hits
        { kb, kbParserConfig: { chunk_token_num: 48, delimiter: '\n', layout_recognize: 'DeepDOC' } },
      );
      const [result] = await waitForDocuments(c.taskdb, docs, { timeoutMs: 180_000 });
      if (!result || result.state !== 'done') throw new Error(`sample document did not finish: ${result?.message ?? 'no result'}`);
      console.log(`\n${result.name}: ${result.chunks} chunks indexed. Searching for: "${opts.query}"\n`);
      const docstore = docStoreFromConfig(cfg);
      try {
        const deps = { taskdb: c.taskdb, docstore, embedders: embeddingRegistryFromConfig(cfg) };
        const hits = await searchKnowledgebase(deps, opts.query, { kb, top: 1, mode: 'hybrid' });
        if (!hits.length) throw new Error('search returned no hit');
        console.log(formatHits(hits));

        // By meaning: vector search only, so no keyword match can carry the hit.
        console.log(`\nSearching by meaning (vector only) for: "${opts.semanticQuery}"\n`);
        const semantic = await searchKnowledgebase(deps, opts.semanticQuery, { kb, top: 1, mode: 'vector' });
        if (!semantic.length) throw new Error('vector search returned no hit');
        console.log(formatHits(semantic));
        const hitWords = wordsOf(semantic[0]!.content_with_weight);
        const shared = [...wordsOf(opts.semanticQuery)].filter((w) => hitWords.has(w));
        console.log(
          shared.length
            ? `   (shares ${shared.length} word${shared.length === 1 ? '' : 's'} with the query: ${shared.join(', ')})`
            : `   (no word in common with the query: matched by meaning, model ${embdId})`,
        );
      } finally {
        await docstore.close();
      }
    } catch (e) {
      code = 1;
      process.stderr.write(`ragline: demo failed: ${redactForTerminal((e as Error).message)}\n`);
    } finally {
      await c.close();
      await sup.stop(30_000);
      await sleep(10);
    }
    process.exit(code);
  });

program.parseAsync().catch((e: unknown) => {
  if (e instanceof ConfigError) fail(e.message, 2);
  fail((e as Error).stack ?? String(e));
});
