import { createConnection, createPool, type Connection, type Pool, type PoolConnection, type PoolOptions, type ResultSetHeader, type RowDataPacket } from 'mysql2/promise';
import { TaskDbError, TRANSACTION_RETRY_CODES, toTaskDbError } from './errors.js';
import type { TaskDbOptions } from './types.js';

export type Queryable = Pool | PoolConnection;
export type Row = RowDataPacket & Record<string, unknown>;

export interface ResolvedOptions {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
  ssl: object | undefined;
  connectionLimit: number;
  transactionAttempts: number;
}

export function resolveTaskDbOptions(opts: TaskDbOptions = {}): ResolvedOptions {
  let fromUrl: Partial<ResolvedOptions> = {};
  if (opts.url) {
    let u: URL;
    try {
      u = new URL(opts.url);
    } catch {
      // The URL itself may hold the password: never echo it.
      throw new TaskDbError('taskdb: invalid MySQL url', { retryable: false, code: 'BAD_URL' });
    }
    if (u.protocol !== 'mysql:' && u.protocol !== 'mariadb:') {
      throw new TaskDbError(`taskdb: unsupported url scheme ${u.protocol}`, { retryable: false, code: 'BAD_URL' });
    }
    fromUrl = {
      host: u.hostname || undefined,
      port: u.port ? Number(u.port) : undefined,
      user: u.username ? decodeURIComponent(u.username) : undefined,
      password: u.password ? decodeURIComponent(u.password) : undefined,
      database: u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : undefined,
    };
  }
  return {
    host: opts.host ?? fromUrl.host ?? '127.0.0.1',
    port: opts.port ?? fromUrl.port ?? 3306,
    user: opts.user ?? fromUrl.user ?? 'root',
    password: opts.password ?? fromUrl.password ?? '',
    database: opts.database ?? fromUrl.database ?? 'rag_flow',
    ssl: opts.ssl,
    connectionLimit: opts.connectionLimit ?? 10,
    transactionAttempts: Math.max(1, opts.transactionAttempts ?? 3),
  };
}

/**
 * The pool and the ways every module runs SQL on it: errors come out as TaskDbErrors without
 * the password, transactions re-run on deadlocks. The modules by caller (receive, progress-sync,
 * completion, queries, ragflow-api, migrate) are functions over one of these.
 */
export class TaskDbConnection {
  readonly options: Readonly<Omit<ResolvedOptions, 'password'>>;
  readonly pool: Pool;
  private readonly password: string;
  private readonly attempts: number;

  constructor(opts: TaskDbOptions = {}) {
    const o = resolveTaskDbOptions(opts);
    const { password, ...visible } = o;
    this.options = Object.freeze(visible);
    this.password = password;
    this.attempts = o.transactionAttempts;
    this.pool = createPool(this.connectionOptions(true));
  }

  private connectionOptions(withDatabase: boolean): PoolOptions {
    const o = this.options;
    return {
      host: o.host,
      port: o.port,
      user: o.user,
      password: this.password,
      ...(withDatabase ? { database: o.database } : {}),
      ...(o.ssl ? { ssl: o.ssl as PoolOptions['ssl'] } : {}),
      connectionLimit: o.connectionLimit,
      waitForConnections: true,
      charset: 'utf8mb4',
      // DATETIME values stay "YYYY-MM-DD HH:MM:SS" strings in the server's time zone, as RAGFlow stores them.
      dateStrings: true,
      decimalNumbers: true,
      supportBigNumbers: true,
      enableKeepAlive: true,
    };
  }

  wrap(err: unknown, op: string): TaskDbError {
    return toTaskDbError(err, `taskdb.${op}`, this.password ? [this.password, encodeURIComponent(this.password)] : []);
  }

  async run<T>(op: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw this.wrap(err, op);
    }
  }

  async rows(db: Queryable, sql: string, params: unknown[] = []): Promise<Row[]> {
    const [rows] = await db.query<Row[]>(sql, params);
    return rows;
  }

  async exec(db: Queryable, sql: string, params: unknown[] = []): Promise<ResultSetHeader> {
    const [res] = await db.query<ResultSetHeader>(sql, params);
    return res;
  }

  /** Runs `fn` in a transaction; deadlocks and lock-wait timeouts re-run it a few times. */
  async tx<T>(op: string, fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let conn: PoolConnection | undefined;
      try {
        conn = await this.pool.getConnection();
        await conn.beginTransaction();
        const result = await fn(conn);
        await conn.commit();
        return result;
      } catch (err) {
        if (conn) await conn.rollback().catch(() => undefined);
        const code = (err as { code?: string } | null)?.code;
        if (code && TRANSACTION_RETRY_CODES.has(code) && attempt < this.attempts) {
          await new Promise((r) => setTimeout(r, 10 * attempt + Math.random() * 40));
          continue;
        }
        throw this.wrap(err, op);
      } finally {
        conn?.release();
      }
    }
  }

  /** Runs `fn` on one connection holding a server-wide named lock (serialises find-or-create). */
  async withNamedLock<T>(op: string, name: string, fn: (conn: PoolConnection) => Promise<T>): Promise<T> {
    return this.run(op, async () => {
      const conn = await this.pool.getConnection();
      const lockName = `ragline:${this.options.database}:${name}`.slice(0, 64);
      try {
        const [got] = await this.rows(conn, 'SELECT GET_LOCK(?, 30) AS got', [lockName]);
        if (Number(got?.['got']) !== 1) throw new TaskDbError(`taskdb.${op}: lock ${name} busy`, { retryable: true, code: 'LOCK_BUSY' });
        try {
          return await fn(conn);
        } finally {
          await this.rows(conn, 'SELECT RELEASE_LOCK(?)', [lockName]).catch(() => undefined);
        }
      } finally {
        conn.release();
      }
    });
  }

  /**
   * Runs `fn` on a connection of its own that selects no database, so it works before `migrate`
   * created it (ping, CREATE/DROP DATABASE).
   */
  async onServer<T>(op: string, fn: (conn: Connection) => Promise<T>, connectTimeout?: number): Promise<T> {
    return this.run(op, async () => {
      const conn = await createConnection({ ...this.connectionOptions(false), ...(connectTimeout ? { connectTimeout } : {}) });
      try {
        return await fn(conn);
      } finally {
        await conn.end();
      }
    });
  }

  /** Closes the pool; in-flight queries finish first. */
  async close(): Promise<void> {
    await this.pool.end().catch((err: unknown) => {
      throw this.wrap(err, 'close');
    });
  }
}
