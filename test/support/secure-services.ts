import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createConnection } from 'mysql2/promise';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function waitPort(port: number, proc: ChildProcess, what: string): Promise<void> {
  const net = await import('node:net');
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`${what} exited with ${proc.exitCode}`);
    const ok = await new Promise<boolean>((r) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.end();
        r(true);
      });
      c.on('error', () => r(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${what} did not listen on ${port}`);
}

/**
 * Private NATS (user/password + TLS with a generated CA), Redis (requirepass) and a MySQL user with a
 * password, so a test can run the pipeline with every credential and TLS option in use.
 */
export async function startSecureServices() {
  const dir = mkdtempSync(join(tmpdir(), 'ragline-sec-'));
  const secrets = {
    nats: `nats-${randomBytes(6).toString('hex')}`,
    redis: `redis-${randomBytes(6).toString('hex')}`,
    mysql: `mysql-${randomBytes(6).toString('hex')}`,
  };
  // a CA and a server certificate for 127.0.0.1
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=ragline-test-ca');
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'ext.cnf');

  const natsPort = await freePort();
  const nats = spawn('/usr/sbin/nats-server', [
    '-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', join(dir, 'js'),
    '--user', 'ragline', '--pass', secrets.nats,
    '--tls', '--tlscert', join(dir, 'server.pem'), '--tlskey', join(dir, 'server.key'),
  ], { stdio: 'ignore' });
  await waitPort(natsPort, nats, 'nats-server');

  const redisPort = await freePort();
  const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', secrets.redis, '--dir', dir], {
    stdio: 'ignore',
  });
  await waitPort(redisPort, redis, 'redis-server');

  const id = randomBytes(4).toString('hex');
  const user = `rl_sec_${id}`;
  const database = `ragline_sec_${id}`;
  const root = await createConnection({ host: '127.0.0.1', user: 'root' });
  await root.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${secrets.mysql}'`);
  await root.query(`GRANT ALL PRIVILEGES ON \`${database}\`.* TO '${user}'@'%'`);
  await root.end();

  return {
    dir,
    secrets,
    env: {
      NATS_URL: `tls://127.0.0.1:${natsPort}`,
      NATS_USER: 'ragline',
      NATS_PASSWORD: secrets.nats,
      NATS_TLS_CA: join(dir, 'ca.pem'),
      REDIS_URL: `redis://:${secrets.redis}@127.0.0.1:${redisPort}/0`,
      MYSQL_URL: `mysql://${user}:${secrets.mysql}@127.0.0.1:3306/${database}`,
    },
    async stop() {
      nats.kill('SIGTERM');
      redis.kill('SIGTERM');
      const c = await createConnection({ host: '127.0.0.1', user: 'root' });
      await c.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await c.query(`DROP USER IF EXISTS '${user}'@'%'`);
      await c.end();
      await sleep(200);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
