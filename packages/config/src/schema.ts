import { statSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { resolveEnv } from './service-conf.js';

/** Keys whose values must never appear in an error message. */
const SECRET_KEY = /(PASSWORD|SECRET|TOKEN|API_KEY|ACCESS_KEY)/;

const bool = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const s = v.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(s)) return false;
  return v;
}, z.boolean());

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const url = (protocols: string[]) =>
  z.string().refine((s) => {
    try {
      return protocols.includes(new URL(s).protocol.replace(':', ''));
    } catch {
      return false;
    }
  }, `must be a ${protocols.join('/')} URL`);
const existing = (kind: 'file' | 'directory') =>
  z.string().refine((p) => {
    const st = statSync(p, { throwIfNoEntry: false });
    return kind === 'file' ? st?.isFile() === true : st?.isDirectory() === true;
  }, `must be an existing ${kind}`);
const optional = <T extends z.ZodType>(t: T) => z.preprocess((v) => (v === '' ? undefined : v), t.optional());

/**
 * NATS server list: comma-separated `nats://` or `tls://` URLs, or bare `host[:port]`. The client
 * ignores any other scheme, so a pasted `redis://` or `http://` URL would otherwise be dialled as NATS
 * and fail only after a connect timeout, without naming the setting.
 */
const natsServers = z.string().refine(
  (s) =>
    s.split(',').every((part) => {
      const server = part.trim();
      if (!server) return false;
      const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(server)?.[1]?.toLowerCase();
      if (scheme !== undefined && scheme !== 'nats' && scheme !== 'tls') return false;
      try {
        return new URL(scheme ? server : `nats://${server}`).hostname !== '';
      } catch {
        return false;
      }
    }),
  'must be a comma-separated list of nats:// or tls:// server URLs (or host:port)',
);

export const env = { bool, int, url, optional, natsServers, existing };

/**
 * What the README's settings table shows for a key, and the rules that tie it to another key. Set it
 * with `.describe(text)` or `.meta({...})` as the key's last call (after `.default()`), next to the
 * key's one declaration in the slice that owns it.
 */
export interface SettingMeta {
  /** the settings table's "meaning" column (Markdown) */
  description?: string;
  /** shown in the table instead of the schema's default, when that depends on the machine */
  shownDefault?: string;
  /** this key must be set whenever that key is (checked only when a schema has both) */
  requiredWhen?: string;
  /** the message for a missing key under `requiredWhen`; default "required when <key> is set" */
  requiredMessage?: string;
}

/** The SettingMeta of one key's schema. */
export function settingMeta(schema: z.ZodType): SettingMeta {
  return (schema.meta() ?? {}) as SettingMeta;
}

/** A settings slice: the zod shape a package exports, spread into an app's `CommonEnv.extend({...})`. */
export type SettingsShape = z.ZodRawShape;
/** The parsed values of a settings slice. */
export type Settings<S extends SettingsShape> = z.output<z.ZodObject<S>>;

/** NATS connection and JetStream settings: every app and the CLI. */
export const NatsSettings = {
  NATS_URL: natsServers.default('nats://127.0.0.1:4222').describe('NATS servers (comma-separated `nats://` or `tls://` URLs, or `host:port`)'),
  NATS_USER: optional(z.string()).describe('NATS user (with `NATS_PASSWORD`)'),
  NATS_PASSWORD: optional(z.string()).describe('NATS password'),
  NATS_TOKEN: optional(z.string()).describe('NATS token (instead of user and password)'),
  NATS_TLS_CA: optional(z.string()).describe('CA file that signed the NATS server certificate'),
  NATS_TLS_CERT: optional(z.string()).meta({
    description: 'client certificate file for NATS (with `NATS_TLS_KEY`)',
    requiredWhen: 'NATS_TLS_KEY',
    requiredMessage: 'NATS_TLS_CERT and NATS_TLS_KEY go together',
  }),
  NATS_TLS_KEY: optional(z.string()).meta({
    description: 'client key file for NATS (with `NATS_TLS_CERT`)',
    requiredWhen: 'NATS_TLS_CERT',
    requiredMessage: 'NATS_TLS_CERT and NATS_TLS_KEY go together',
  }),
  RAGLINE_SUBJECT_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be dot-separated NATS tokens')
    .default('ragline')
    .describe('first token of every NATS subject; with `RAGLINE_STREAM_PREFIX` lets several environments share one NATS server'),
  RAGLINE_STREAM_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, _ or -')
    .default('RAGLINE')
    .describe('prefix of every JetStream stream and consumer name'),
  NATS_DUPLICATE_WINDOW_MS: int(1000).default(10 * 60_000).describe('JetStream dedupe window for message ids'),
  NATS_MAX_DELIVER: int(1, 100).default(5).describe('deliveries before a message is dead-lettered and its task failed'),
  NATS_ACK_WAIT_MS: int(1000, 3_600_000)
    .default(60_000)
    .describe('how long a message held by a worker that died stays invisible before another replica gets it (live workers extend it every third of it)'),
  NATS_STREAM_REPLICAS: int(1, 5).default(1).describe('replicas of every stream (3 on a JetStream cluster)'),
};
export type NatsSettings = Settings<typeof NatsSettings>;

/** Redis, MySQL, data dir, logging, health and lifecycle settings: every app and the CLI. */
export const RuntimeSettings = {
  REDIS_URL: url(['redis', 'rediss']).default('redis://127.0.0.1:6379/1').describe("RAGFlow's Redis (DB 1 is RAGFlow's default)"),
  REDIS_KEY_PREFIX: z.string().default('').describe('prefix for every Redis key (keep empty to share keys with RAGFlow)'),
  MYSQL_URL: url(['mysql']).default('mysql://root@127.0.0.1:3306/rag_flow').describe("RAGFlow's database"),
  RAGLINE_DATA_DIR: z.string().default('.ragline-data').describe('local objects (`objects/`), the embedded doc store (`docstore/`) and diagnostics (`diagnostics/`)'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .default('info')
    .describe('JSON logs with `trace_id` and `task_id`'),
  HEARTBEAT_INTERVAL_MS: int(100)
    .default(30_000)
    .describe("worker heartbeats in RAGFlow's `TASKEXE` format; at most a third of `WORKER_TIMEOUT_MS`"),
  WORKER_TIMEOUT_MS: int(1000).default(120_000).describe('a worker silent this long is removed from the registry (RAGFlow: 120 s)'),
  SHUTDOWN_GRACE_MS: int(0).default(25_000).describe('SIGTERM drain budget'),
  RAGLINE_HEAP_SAMPLING: bool
    .default(false)
    .describe(
      'start heap allocation sampling at boot; `kill -USR1 <pid>` writes a heap snapshot and memory summary to `RAGLINE_DATA_DIR/diagnostics/`, `kill -USR2` starts/stops sampling and writes the profile',
    ),
  RAGLINE_FAULT_KILL_AT: optional(
    z.string().regex(/^((bridge\.received|(publish|consume|settle):[A-Za-z0-9_.>*-]+)@[^,]+)(,(bridge\.received|(publish|consume|settle):[A-Za-z0-9_.>*-]+)@[^,]+)*$/, 'must be comma-separated <point>@<marker file>'),
  ).describe(
    'fault injection, for the fault suite only: the process SIGKILLs itself once at each named step boundary (`bridge.received`, `publish:<subject tail>`, `consume:<subject tail>`, `settle:<subject tail>`), the marker file making it once; environment only',
  ),
  HEALTH_PORT: int(0, 65535).optional().describe('port of `/healthz`, `/readyz` and `/metrics` for the stage apps; unset: none'),
  HEALTH_HOST: z.string().default('127.0.0.1').describe('address `HEALTH_PORT` listens on'),
  // stable across restarts so a bridge re-reads its own pending entries; replicas on one host get _1, _2...
  RAGLINE_REPLICA: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/)
    .default(`${hostname()}_0`)
    .meta({
      description: 'replica id; part of the worker and Redis consumer name (keep it stable across restarts; replicas on one host get `_1`, `_2`...)',
      shownDefault: '<hostname>_0',
    }),
};
export type RuntimeSettings = Settings<typeof RuntimeSettings>;

/** Settings every Ragline process shares: NATS, Redis, MySQL, data dir, logging, lifecycle. */
export const CommonEnv = z.object({ ...NatsSettings, ...RuntimeSettings });
export type CommonEnv = z.infer<typeof CommonEnv>;

/** Where the monitor's HTTP API and dashboard listen: the monitor serves there, the CLI points at it. */
export const MonitorAddressSettings = {
  MONITOR_PORT: int(0, 65535).default(8700).describe('port of the monitor HTTP API, `/metrics` and the live dashboard at `/`'),
  MONITOR_HOST: z.string().default('127.0.0.1').describe('address the monitor listens on (loopback unless told otherwise: the API shows task details)'),
};
export type MonitorAddressSettings = Settings<typeof MonitorAddressSettings>;

/** A rejected value as shown in the error: a password in URL userinfo (`//user:pass@`) is masked. */
function shownValue(value: unknown): string {
  return String(value)
    // greedy up to the last "@": a password may itself hold an unencoded "@" or "/"
    .replace(/(\/\/[^/@:\s]*:)\S*@/g, '$1***@')
    .slice(0, 80);
}

function describe(error: z.ZodError, raw: Record<string, unknown>): ConfigError {
  const keys = [...new Set(error.issues.map((i) => String(i.path[0] ?? '(root)')))];
  const lines = error.issues.map((i) => {
    const key = String(i.path[0] ?? '(root)');
    const value = raw[key];
    const shown = SECRET_KEY.test(key) || value === undefined ? '' : ` (got "${shownValue(value)}")`;
    return `${key}: ${i.message}${shown}`;
  });
  return new ConfigError(keys, `invalid configuration: ${lines.join('; ')}`);
}

/**
 * Parses one app's config from YAML + environment; throws ConfigError naming the keys on any problem.
 * `schema` is usually `CommonEnv.extend({...app keys})`.
 */
export function loadConfig<S extends z.ZodType>(schema: S, source?: Record<string, string | undefined>): z.output<S> {
  const raw = source ?? resolveEnv();
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw describe(parsed.error, raw);
  const problems = [...crossFieldProblems(schema, parsed.data as Record<string, unknown>), ...timingProblems(parsed.data as Record<string, unknown>)];
  if (problems.length) {
    throw new ConfigError(
      [...new Set(problems.flatMap((p): string[] => ('also' in p ? [p.key, String(p.also)] : [p.key])))],
      `invalid configuration: ${problems.map((p) => `${p.key}: ${p.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

/** An interval that must stay well inside a deadline another key sets. */
export interface TimingRule {
  /** the interval */
  key: string;
  /** the deadline it feeds */
  deadline: string;
  /** the interval may be at most this share of the deadline */
  atMost: number;
  /** what goes wrong otherwise, for the error */
  why: string;
}

/**
 * Keep-alives and heartbeats slower than the deadline they feed make live work look dead (RAGFlow
 * #18942: its ingestor's heartbeat was longer than the retry back-off, so held messages were
 * redelivered to other workers). A third leaves room for two missed beats. The JetStream keep-alive
 * (`working()`) needs no rule: it is derived from each consumer's own ack wait, a third of it.
 */
export const TIMING_RULES: readonly TimingRule[] = [
  {
    key: 'HEARTBEAT_INTERVAL_MS',
    deadline: 'WORKER_TIMEOUT_MS',
    atMost: 1 / 3,
    why: 'the monitor removes a worker whose heartbeat is older than WORKER_TIMEOUT_MS from the registry while it still works',
  },
];

/** Violated timing rules among the keys a config has (both keys of a rule must be in it). */
export function timingProblems(c: Record<string, unknown>, rules: readonly TimingRule[] = TIMING_RULES): { key: string; message: string; also: string }[] {
  const out: { key: string; message: string; also: string }[] = [];
  for (const r of rules) {
    const v = c[r.key];
    const d = c[r.deadline];
    if (typeof v !== 'number' || typeof d !== 'number') continue;
    if (v > d * r.atMost) {
      const share = r.atMost === 1 / 3 ? 'a third' : r.atMost === 1 / 2 ? 'half' : `${r.atMost}`;
      out.push({ key: r.key, also: r.deadline, message: `${v} ms is more than ${share} of ${r.deadline} (${d} ms): ${r.why}; lower ${r.key} or raise ${r.deadline}` });
    }
  }
  return out;
}

/** Rules that involve several keys ("X is required when Y is set"), from each key's `requiredWhen`. */
function crossFieldProblems(schema: z.ZodType, c: Record<string, unknown>): { key: string; message: string }[] {
  const out: { key: string; message: string }[] = [];
  if (!(schema instanceof z.ZodObject)) return out;
  for (const [key, field] of Object.entries(schema.shape as Record<string, z.ZodType>)) {
    const { requiredWhen, requiredMessage } = settingMeta(field);
    if (requiredWhen && c[requiredWhen] && !c[key]) out.push({ key, message: requiredMessage ?? `required when ${requiredWhen} is set` });
  }
  return out;
}

/**
 * Environment every app process is started with unless the caller's environment says otherwise
 * (`ragline up`, the benches; the images set the same in their Dockerfile). MALLOC_ARENA_MAX: glibc
 * gave each of LanceDB's threads its own malloc arena and the indexer's resident memory crept up.
 */
export const APP_PROCESS_ENV: Readonly<Record<string, string>> = Object.freeze({ MALLOC_ARENA_MAX: '2' });

/** Absolute data dir paths derived from RAGLINE_DATA_DIR. */
export function dataPaths(cfg: Pick<CommonEnv, 'RAGLINE_DATA_DIR'>, cwd = process.cwd()) {
  const root = resolve(cwd, cfg.RAGLINE_DATA_DIR);
  return {
    root,
    objects: resolve(root, 'objects'),
    docstore: resolve(root, 'docstore'),
    diagnostics: resolve(root, 'diagnostics'),
  };
}

/** Secret values of a config, for scrubbing them from any text that leaves the process. */
export function secretValues(cfg: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(cfg)) if (SECRET_KEY.test(k) && typeof v === 'string' && v) out.push(v);
  for (const k of ['REDIS_URL', 'MYSQL_URL', 'NATS_URL']) {
    const v = cfg[k];
    if (typeof v !== 'string') continue;
    try {
      const p = new URL(v).password;
      if (p) out.push(decodeURIComponent(p));
    } catch {
      /* not a URL: nothing to collect */
    }
  }
  return out;
}
