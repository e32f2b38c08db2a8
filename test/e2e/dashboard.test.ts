import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, createEnvironment, type Environment } from '../support/pipeline.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function queueDocument(env: Environment, name: string, paragraphs: number) {
  const tenantId = await env.taskdb.ensureTenant({ name: 'e2e', embdId: 'ragline-hash-1024@Ragline' });
  const kb = await env.taskdb.ensureKnowledgebase({
    name: 'dashboard',
    tenantId,
    embdId: 'ragline-hash-1024@Ragline',
    parserConfig: { chunk_token_num: 32, delimiter: '\n', layout_recognize: 'DeepDOC' },
  });
  const text = Array.from({ length: paragraphs }, (_, i) => `Paragraph ${i} of ${name} describes how the dashboard shows stage ${i % 4}.`).join('\n');
  await env.store.put(kb.id, name, Buffer.from(text));
  const doc = await env.taskdb.createDocument({ kbId: kb.id, name, location: name, size: text.length, type: 'doc', suffix: 'md', parserId: 'naive', parserConfig: kb.parser_config });
  const [task] = await env.taskdb.queueDocument(doc.id);
  await env.producer.enqueue(env.queues[1]!, { ...task! });
  return task!;
}

// Chromium comes from Debian (.ci/run installs it when absent); without it there is no browser to drive.
describe.skipIf(!haveChromium)('monitor dashboard in a real browser (Chromium via playwright-core)', () => {
  let env: Environment;
  let context: BrowserContext | undefined;
  let profile: string;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    env = await createEnvironment({ MONITOR_PORT: String(port), MONITOR_SAMPLE_MS: '500', PARSER_BATCH_CHUNKS: '3' });
    env.startAll();
    await env.waitFor('monitor listening', async () => {
      try {
        return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
      } catch {
        return false;
      }
    });
    profile = mkdtempSync(join(tmpdir(), 'ragline-chromium-'));
  });

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await env?.cleanup();
  });

  it('shows workers, stage lags and a finished task while documents flow', async () => {
    const tasks = await Promise.all([queueDocument(env, 'one.md', 40), queueDocument(env, 'two.md', 60), queueDocument(env, 'three.md', 30)]);

    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 1400 },
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const failedRequests: string[] = [];
    page.on('requestfailed', (r) => failedRequests.push(r.url()));
    await page.goto(`http://127.0.0.1:${port}/`);

    // all six apps heartbeat (HEARTBEAT_INTERVAL_MS=1000 in the test environment)
    await expect.poll(() => page.locator('#workers tr[data-worker]').count(), { timeout: 60_000 }).toBeGreaterThanOrEqual(6);
    const stages = await page.locator('#workers tr[data-worker] td:nth-child(2)').allTextContents();
    expect(new Set(stages)).toEqual(new Set(['bridge', 'parser', 'enricher', 'embedder', 'indexer', 'monitor']));

    // stage lags: one row per stage with a number, and the charts drawn
    for (const stage of ['parser', 'enricher', 'embedder', 'indexer', 'monitor']) {
      await expect.poll(() => page.locator(`#stages tr[data-stage="${stage}"] td.lag`).textContent(), { timeout: 15_000 }).toMatch(/^\d+$/);
    }
    expect(await page.locator('[data-testid="lag-chart"] canvas').count()).toBeGreaterThan(0);
    expect(await page.locator('[data-testid="throughput-chart"] canvas').count()).toBeGreaterThan(0);

    // a finished task appears without reloading the page
    for (const t of tasks) {
      await env.waitFor(`task ${t.id} done`, async () => {
        const row = await env.taskdb.getTask(t.id);
        if (row && row.progress < 0) throw new Error(`task failed: ${row.progress_msg}`);
        return row && row.progress >= 1;
      });
    }
    await page.waitForSelector(`#slowest tr[data-task="${tasks[0]!.id}"][data-state="done"]`, { timeout: 20_000 });
    await page.waitForSelector(`#recent tr[data-task="${tasks[1]!.id}"][data-state="done"]`, { timeout: 20_000 });
    // the throughput chart has seen the parser work
    const parserProcessed = Number(await page.locator('#stages tr[data-stage="parser"] td:nth-child(5)').textContent());
    expect(parserProcessed).toBeGreaterThanOrEqual(3);
    expect(await page.locator('#status').textContent()).toMatch(/^updated /);
    expect(failedRequests).toEqual([]);

    const out = join(ROOT, 'test', 'output');
    mkdirSync(out, { recursive: true });
    await page.screenshot({ path: join(out, 'dashboard.png'), fullPage: true });
    expect(existsSync(join(out, 'dashboard.png'))).toBe(true);
  });
});

if (!haveChromium) {
  describe('monitor dashboard in a real browser', () => {
    it.skip(`skipped: no Chromium at ${CHROMIUM} (install Debian's chromium package; .ci/run does)`, () => undefined);
  });
}
