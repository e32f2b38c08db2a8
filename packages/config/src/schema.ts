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

/** Settings every Ragline process shares: connections, names, data dir. */
export const CommonEnv = z.object({
  NATS_URL: natsServers.default('nats://127.0.0.1:4222'),
  NATS_USER: optional(z.string()),
  NATS_PASSWORD: optional(z.string()),
  NATS_TOKEN: optional(z.string()),
  NATS_TLS_CA: optional(z.string()),
  NATS_TLS_CERT: optional(z.string()),
  NATS_TLS_KEY: optional(z.string()),
  RAGLINE_SUBJECT_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'must be dot-separated NATS tokens').default('ragline'),
  RAGLINE_STREAM_PREFIX: z.string().regex(/^[A-Za-z0-9_-]+$/, 'must be letters, digits, _ or -').default('RAGLINE'),
  NATS_DUPLICATE_WINDOW_MS: int(1000).default(10 * 60_000),
  NATS_MAX_DELIVER: int(1, 100).default(5),
  /** how long a crashed worker's message stays invisible before redelivery (live workers extend it) */
  NATS_ACK_WAIT_MS: int(1000, 3_600_000).default(60_000),
  /** stream replicas: 3 on a JetStream cluster */
  NATS_STREAM_REPLICAS: int(1, 5).default(1),
  REDIS_URL: url(['redis', 'rediss']).default('redis://127.0.0.1:6379/1'),
  REDIS_KEY_PREFIX: z.string().default(''),
  MYSQL_URL: url(['mysql']).default('mysql://root@127.0.0.1:3306/rag_flow'),
  RAGLINE_DATA_DIR: z.string().default('.ragline-data'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  HEARTBEAT_INTERVAL_MS: int(100).default(30_000),
  SHUTDOWN_GRACE_MS: int(0).default(25_000),
  /** start heap allocation sampling at boot (SIGUSR2 writes the profile) */
  RAGLINE_HEAP_SAMPLING: bool.default(false),
  HEALTH_PORT: int(0, 65535).optional(),
  HEALTH_HOST: z.string().default('127.0.0.1'),
  // stable across restarts so a bridge re-reads its own pending entries; replicas on one host get _1, _2...
  RAGLINE_REPLICA: z.string().regex(/^[A-Za-z0-9_.-]+$/).default(`${hostname()}_0`),
  // object storage (unset S3_ENDPOINT: local folder under RAGLINE_DATA_DIR/objects)
  S3_ENDPOINT: optional(url(['http', 'https'])),
  S3_ACCESS_KEY: optional(z.string()),
  S3_SECRET_KEY: optional(z.string()),
  S3_REGION: optional(z.string()),
  S3_BUCKET: optional(z.string()),
  S3_PREFIX_PATH: optional(z.string()),
  // doc store (unset ELASTICSEARCH_URL: embedded LanceDB store under RAGLINE_DATA_DIR/docstore)
  ELASTICSEARCH_URL: optional(url(['http', 'https'])),
  ES_USERNAME: optional(z.string()),
  ES_PASSWORD: optional(z.string()),
  // embedding (unset EMBEDDING_URL: the in-process embedder EMBEDDING_LOCAL_KIND names)
  EMBEDDING_URL: optional(url(['http', 'https'])),
  EMBEDDING_MODEL: optional(z.string()),
  EMBEDDING_API_KEY: optional(z.string()),
  /**
   * the default embedder when EMBEDDING_URL is unset: `local` runs a real model in the process
   * (Universal Sentence Encoder lite, 512 dims); `hashing` is feature hashing (EMBEDDING_DIM dims),
   * fast and deterministic but without meaning, for tests and benchmarks
   */
  EMBEDDING_LOCAL_KIND: z.enum(['local', 'hashing']).default('local'),
  /** dimension of the hashing embedder */
  EMBEDDING_DIM: int(8, 8192).default(1024),
  // RAGFlow's tokenizer resources, for the *_ltks fields the parser writes and the queries search runs
  /** segmentation dictionary; RAGFlow's rag/res/huqie.txt gives RAGFlow's exact tokens (default: jieba's dictionary) */
  RAG_TOKENIZER_DICT: optional(existing('file')),
  /** RAGFlow's rag/res directory: ner.json and term.freq weigh query terms, synonym.json adds synonyms */
  RAGFLOW_RES_DIR: optional(existing('directory')),
  /** add WordNet synonyms to English queries, as RAGFlow does */
  RAG_WORDNET_SYNONYMS: bool.default(true),
});
export type CommonEnv = z.infer<typeof CommonEnv>;

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
  const problems = crossFieldProblems(parsed.data as Record<string, unknown>);
  if (problems.length) {
    throw new ConfigError(
      problems.map((p) => p.key),
      `invalid configuration: ${problems.map((p) => `${p.key}: ${p.message}`).join('; ')}`,
    );
  }
  return parsed.data;
}

/** Rules that involve several keys ("X is required when Y is set"). */
function crossFieldProblems(c: Record<string, unknown>): { key: string; message: string }[] {
  const out: { key: string; message: string }[] = [];
  if (c.EMBEDDING_URL && !c.EMBEDDING_MODEL) out.push({ key: 'EMBEDDING_MODEL', message: 'required when EMBEDDING_URL is set' });
  if (c.S3_ENDPOINT && !c.S3_ACCESS_KEY) out.push({ key: 'S3_ACCESS_KEY', message: 'required when S3_ENDPOINT is set' });
  if (c.S3_ENDPOINT && !c.S3_SECRET_KEY) out.push({ key: 'S3_SECRET_KEY', message: 'required when S3_ENDPOINT is set' });
  if ((c.NATS_TLS_CERT && !c.NATS_TLS_KEY) || (c.NATS_TLS_KEY && !c.NATS_TLS_CERT)) {
    out.push({ key: c.NATS_TLS_CERT ? 'NATS_TLS_KEY' : 'NATS_TLS_CERT', message: 'NATS_TLS_CERT and NATS_TLS_KEY go together' });
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
