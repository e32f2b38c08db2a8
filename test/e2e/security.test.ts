import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, createEnvironment, type Environment } from '../support/pipeline.js';
import { startSecureServices } from '../support/secure-services.js';

type Secure = Awaited<ReturnType<typeof startSecureServices>>;

/** Runs an app once with the given env and returns its exit code and output. */
function runApp(app: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(ROOT, 'apps', app, 'dist', 'main.js')], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    p.stderr!.on('data', (d) => (out += d));
    const timer = setTimeout(() => p.kill("SIGKILL"), 90_000);
    p.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe('credentials and TLS: NATS user/password over TLS, Redis AUTH, MySQL user with password', () => {
  let sec: Secure;
  let env: Environment;

  beforeAll(async () => {
    sec = await startSecureServices();
    env = await createEnvironment({ ...sec.env, LOG_LEVEL: 'debug' });
    env.startAll();
  });

  afterAll(async () => {
    await env?.cleanup();
    await sec?.stop();
  });

  it('processes documents with every secret in use and never writes a secret to logs or progress messages', async () => {
    const tenantId = await env.taskdb.ensureTenant({ name: 'sec', embdId: 'ragline-hash-1024@Ragline' });
    const kb = await env.taskdb.ensureKnowledgebase({ name: 'sec', tenantId, embdId: 'ragline-hash-1024@Ragline' });
    const queue = async (name: string, text: string | null) => {
      if (text !== null) await env.store.put(kb.id, name, Buffer.from(text));
      const doc = await env.taskdb.createDocument({
        kbId: kb.id, name, location: name, size: text?.length ?? 0, type: 'doc', suffix: 'md', parserId: 'naive', parserConfig: kb.parser_config,
      });
      const [task] = await env.taskdb.queueDocument(doc.id);
      await env.producer.enqueue(env.queues[1]!, { ...task! });
      return task!.id;
    };
    const ok = await queue('secure.md', '# Secure\n\nThe pipeline runs with TLS and passwords everywhere.\n');
    const missing = await queue('missing.md', null);
    await env.waitFor('both tasks finished', async () => {
      const [a, b] = await Promise.all([env.taskdb.getTask(ok), env.taskdb.getTask(missing)]);
      return a && b && a.progress >= 1 && b.progress === -1;
    });

    const texts = env.logs.map((l) => l.line);
    const tasks = await env.taskdb.listTasks({ limit: 10 });
    for (const t of tasks) texts.push(t.progress_msg);
    const docs = await env.taskdb.documentProgress(tasks.map((t) => t.doc_id));
    for (const d of docs) texts.push(d.progress_msg);
    const all = texts.join('\n');
    expect(all.length).toBeGreaterThan(1000);
    for (const secret of Object.values(sec.secrets)) expect(all).not.toContain(secret);
    // the failure reached the task with a clear message
    expect(tasks.find((t) => t.id === missing)!.progress_msg).toMatch(/not found/);
  });

  it('refuses a wrong NATS password or an untrusted certificate with a clear error and no secret in it', async () => {
    const wrongPass = await runApp('parser', { ...env.env, NATS_PASSWORD: 'definitely-wrong-pass' });
    expect(wrongPass.code).not.toBe(0);
    expect(wrongPass.out).toMatch(/cannot connect to NATS|Authorization/i);
    expect(wrongPass.out).not.toContain('definitely-wrong-pass');
    const noCa = await runApp('parser', { ...env.env, NATS_TLS_CA: '' });
    expect(noCa.code).not.toBe(0);
    expect(noCa.out).toMatch(/cannot connect to NATS/i);
    expect(noCa.out).not.toContain(sec.secrets.nats);
  });

  it('refuses a wrong Redis or MySQL password without printing it', async () => {
    const badRedis = await runApp('ingest-bridge', { ...env.env, REDIS_URL: env.env.REDIS_URL!.replace(sec.secrets.redis, 'wrong-redis-pw') });
    expect(badRedis.code).not.toBe(0);
    expect(badRedis.out).not.toContain('wrong-redis-pw');
    expect(badRedis.out).not.toContain(sec.secrets.redis);
    const badMysql = await runApp('monitor', { ...env.env, MYSQL_URL: env.env.MYSQL_URL!.replace(sec.secrets.mysql, 'wrong-mysql-pw'), MONITOR_PORT: '0' });
    expect(badMysql.code).not.toBe(0);
    expect(badMysql.out).toMatch(/Access denied/i);
    expect(badMysql.out).not.toContain('wrong-mysql-pw');
  });
});
