import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { ConfigError } from './errors.js';

type Yaml = Record<string, unknown>;

function isObject(v: unknown): v is Yaml {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RAGFlow merges local.service_conf.yaml over service_conf.yaml key by key. */
function deepMerge(a: Yaml, b: Yaml): Yaml {
  const out: Yaml = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = isObject(v) && isObject(out[k]) ? deepMerge(out[k] as Yaml, v) : v;
  return out;
}

function readYaml(path: string): Yaml {
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError([path], `invalid config file ${path}: ${(e as Error).message}`);
  }
  if (doc == null) return {};
  if (!isObject(doc)) throw new ConfigError([path], `invalid config file ${path}: top level must be a mapping`);
  return doc;
}

/**
 * Finds the YAML config: RAGLINE_CONFIG_FILE if set (must exist), else RAGFlow's layout
 * `conf/service_conf.yaml` + `conf/local.service_conf.yaml` under RAGLINE_CONF_DIR or the working directory.
 */
export function loadServiceConf(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Yaml {
  if (env.RAGLINE_CONFIG_FILE) {
    const file = resolve(cwd, env.RAGLINE_CONFIG_FILE);
    if (!existsSync(file)) throw new ConfigError(['RAGLINE_CONFIG_FILE'], `RAGLINE_CONFIG_FILE: file not found: ${file}`);
    return readYaml(file);
  }
  const dir = resolve(cwd, env.RAGLINE_CONF_DIR ?? 'conf');
  let conf: Yaml = {};
  for (const f of ['service_conf.yaml', 'local.service_conf.yaml']) {
    const p = join(dir, f);
    if (existsSync(p)) conf = deepMerge(conf, readYaml(p));
  }
  return conf;
}

const str = (v: unknown): string | undefined => (v === undefined || v === null || v === '' ? undefined : String(v));
const cred = (user?: string, pass?: string) =>
  user || pass ? `${user ? encodeURIComponent(user) : ''}${pass ? ':' + encodeURIComponent(pass) : ''}@` : '';

/**
 * Translates RAGFlow service_conf.yaml keys (redis, mysql, minio, es, nats, user_default_llm) into
 * Ragline's env var names; a `ragline:` section may set any Ragline env var directly.
 */
export function serviceConfToEnv(conf: Yaml): Record<string, string> {
  const out: Record<string, string> = {};
  const redis = isObject(conf.redis) ? conf.redis : undefined;
  if (redis && str(redis.host)) {
    const host = str(redis.host)!;
    out.REDIS_URL = `redis://${cred(str(redis.username), str(redis.password))}${host}/${str(redis.db) ?? '1'}`;
  }
  const mysql = isObject(conf.mysql) ? conf.mysql : undefined;
  if (mysql && str(mysql.host)) {
    out.MYSQL_URL = `mysql://${cred(str(mysql.user), str(mysql.password))}${str(mysql.host)}:${str(mysql.port) ?? '3306'}/${str(mysql.name) ?? 'rag_flow'}`;
  }
  const minio = isObject(conf.minio) ? conf.minio : undefined;
  if (minio && str(minio.host)) {
    const host = str(minio.host)!;
    out.S3_ENDPOINT = /^https?:\/\//.test(host) ? host : `http://${host}`;
    if (str(minio.user)) out.S3_ACCESS_KEY = str(minio.user)!;
    if (str(minio.password)) out.S3_SECRET_KEY = str(minio.password)!;
    if (str(minio.bucket)) out.S3_BUCKET = str(minio.bucket)!;
    if (str(minio.prefix_path)) out.S3_PREFIX_PATH = str(minio.prefix_path)!;
  }
  const es = isObject(conf.es) ? conf.es : undefined;
  if (es && str(es.hosts)) {
    out.ELASTICSEARCH_URL = str(es.hosts)!.split(',')[0]!.trim();
    if (str(es.username)) out.ES_USERNAME = str(es.username)!;
    if (str(es.password)) out.ES_PASSWORD = str(es.password)!;
  }
  const nats = isObject(conf.nats) ? conf.nats : undefined;
  if (nats && str(nats.host)) out.NATS_URL = `nats://${str(nats.host)}:${str(nats.port) ?? '4222'}`;
  const llm = isObject(conf.user_default_llm) ? conf.user_default_llm : undefined;
  const models = llm && isObject(llm.default_models) ? llm.default_models : undefined;
  const emb = models && isObject(models.embedding_model) ? models.embedding_model : undefined;
  if (emb) {
    if (str(emb.base_url)) out.EMBEDDING_URL = str(emb.base_url)!;
    if (str(emb.name)) out.EMBEDDING_MODEL = str(emb.name)!;
    if (str(emb.api_key)) out.EMBEDDING_API_KEY = str(emb.api_key)!;
  }
  const ragline = isObject(conf.ragline) ? conf.ragline : undefined;
  if (ragline) for (const [k, v] of Object.entries(ragline)) if (str(v) !== undefined) out[k] = str(v)!;
  return out;
}

/** YAML first, then environment variables on top (env wins): docs/ragflow-compatibility.md §16 Configuration files. */
export function resolveEnv(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Record<string, string | undefined> {
  return { ...serviceConfToEnv(loadServiceConf(env, cwd)), ...env };
}
