import { Redis, Command, type RedisOptions } from 'ioredis';

export interface CreateRedisOptions {
  /** redis://[username:password@]host:port[/db] or rediss:// (TLS); explicit options below override its parts */
  url?: string;
  host?: string;
  port?: number;
  /** logical database; default 1 (RAGFlow's default) unless the URL names one */
  db?: number;
  username?: string;
  password?: string;
  /** true or a tls.connect options object; rediss:// implies true */
  tls?: boolean | Record<string, unknown>;
  /** prepended to every key this client touches; default '' */
  keyPrefix?: string;
  /** how many reconnect attempts a command waits through before it rejects; default 3 */
  maxRetriesPerRequest?: number;
  /** called for connection-level errors (the client keeps reconnecting); default: ignored, commands reject instead */
  onError?: (err: Error) => void;
}

/**
 * ioredis client with RAGFlow defaults. Connection errors never crash the process through an unhandled
 * 'error' event: they reach `onError`, and pending commands reject after `maxRetriesPerRequest` reconnects
 * instead of hanging. Messages never contain the password (see `redactRedisUrl` for logging the URL).
 */
export function createRedis(opts: CreateRedisOptions = {}): Redis {
  const fromUrl = opts.url ? parseRedisUrl(opts.url) : {};
  const tls = opts.tls ?? fromUrl.tls;
  const options: RedisOptions = {
    host: opts.host ?? fromUrl.host ?? '127.0.0.1',
    port: opts.port ?? fromUrl.port ?? 6379,
    db: opts.db ?? fromUrl.db ?? 1,
    keyPrefix: opts.keyPrefix ?? '',
    maxRetriesPerRequest: opts.maxRetriesPerRequest ?? 3,
    connectTimeout: 10_000,
    // back off 100 ms, 200 ms, ... capped at 2 s; never give up (the service keeps running while Redis restarts)
    retryStrategy: (times) => Math.min(times * 100, 2000),
  };
  const username = opts.username ?? fromUrl.username;
  const password = opts.password ?? fromUrl.password;
  if (username) options.username = username;
  if (password) options.password = password;
  if (tls) options.tls = tls === true ? {} : tls;
  const redis = new Redis(options);
  redis.on('error', (err: Error) => opts.onError?.(err));
  return redis;
}

interface UrlParts {
  host?: string;
  port?: number;
  db?: number;
  username?: string;
  password?: string;
  tls?: boolean;
}

function parseRedisUrl(raw: string): UrlParts {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TypeError(`invalid Redis URL: ${redactRedisUrl(raw)}`);
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new TypeError(`Redis URL must start with redis:// or rediss://, got ${url.protocol}//`);
  }
  const parts: UrlParts = {};
  if (url.hostname) parts.host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (url.port) parts.port = Number(url.port);
  const dbText = url.pathname.replace(/^\//, '');
  if (dbText) {
    const db = Number(dbText);
    if (!Number.isInteger(db) || db < 0) throw new TypeError(`invalid Redis database in URL: ${dbText}`);
    parts.db = db;
  }
  if (url.username) parts.username = decodeURIComponent(url.username);
  if (url.password) parts.password = decodeURIComponent(url.password);
  if (url.protocol === 'rediss:') parts.tls = true;
  return parts;
}

/** The URL with its password replaced by `***`, for logs. */
export function redactRedisUrl(raw: string): string {
  return raw.replace(/^(\w+:\/\/)([^@/]*)@/, (_m, scheme: string, auth: string) => {
    const colon = auth.indexOf(':');
    return colon === -1 ? `${scheme}${auth}@` : `${scheme}${auth.slice(0, colon)}:***@`;
  });
}

/** The client's own key prefix (ioredis `keyPrefix`), '' when unset. */
export function keyPrefixOf(redis: Redis): string {
  return redis.options.keyPrefix ?? '';
}

/**
 * Sends a command exactly as given, bypassing ioredis' key prefixing. ioredis prefixes some stream
 * commands (XADD, XREADGROUP) but not others (XGROUP, XINFO: their key sits after a subcommand), so the
 * stream code adds the prefix itself, the same way for every command.
 */
export function sendRaw(redis: Redis, name: string, args: (string | number)[]): Promise<unknown> {
  const command = new Command(name, args, { replyEncoding: 'utf8' });
  void redis.sendCommand(command);
  return command.promise;
}
