import { connectNats, isJsNotEnabled } from '@ragline/bus';
import type { CommonEnv } from '@ragline/config';
import { createRedis } from '@ragline/redis-queue';
import { createTaskDb } from '@ragline/taskdb';

export interface ServiceCheck {
  name: string;
  ok: boolean;
  detail: string;
  /** how to start it when it is down */
  hint: string;
}

const safe = (url: string) => url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');

async function check(name: string, hint: string, fn: () => Promise<void>): Promise<ServiceCheck> {
  try {
    await fn();
    return { name, ok: true, detail: 'ok', hint };
  } catch (e) {
    return { name, ok: false, detail: (e as Error).message, hint };
  }
}

/** Verifies NATS (with JetStream), Redis and MySQL answer; says how to start whichever does not. */
export async function checkServices(cfg: CommonEnv): Promise<ServiceCheck[]> {
  return Promise.all([
    check(
      `NATS JetStream (${safe(cfg.NATS_URL)})`,
      'start it with: nats-server -js -a 127.0.0.1 -p 4222 -sd /var/lib/nats-server  (Debian: apt-get install nats-server)',
      async () => {
        const nc = await connectNats({ url: cfg.NATS_URL, user: cfg.NATS_USER, password: cfg.NATS_PASSWORD, token: cfg.NATS_TOKEN });
        try {
          const { jetstreamManager } = await import('@nats-io/jetstream');
          await (await jetstreamManager(nc)).getAccountInfo();
        } catch (e) {
          // by class and err_code, not text: a timeout or a permissions error is not "JetStream is off"
          if (isJsNotEnabled(e)) {
            throw new Error(`JetStream is not enabled (${(e as Error).message}); run nats-server with -js`);
          }
          throw new Error(`JetStream did not answer: ${(e as Error).message}`);
        } finally {
          await nc.close();
        }
      },
    ),
    check(
      `Redis (${safe(cfg.REDIS_URL)})`,
      'start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379  (Debian: apt-get install redis-server)',
      async () => {
        const r = createRedis({ url: cfg.REDIS_URL, maxRetriesPerRequest: 1 });
        try {
          await r.ping();
        } finally {
          r.disconnect();
        }
      },
    ),
    check(
      `MySQL (${safe(cfg.MYSQL_URL)})`,
      'start it with: start-stop-daemon --start --background --exec /usr/sbin/mariadbd  (Debian: apt-get install mariadb-server)',
      async () => {
        const db = createTaskDb({ url: cfg.MYSQL_URL });
        try {
          await db.ping();
        } finally {
          await db.close();
        }
      },
    ),
  ]);
}
