import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CommonEnv,
  ConfigError,
  MonitorAddressSettings,
  NatsSettings,
  RuntimeSettings,
  env,
  loadConfig,
  privateStack,
  resolveEnv,
  secretValues,
  serviceConfToEnv,
  settingMeta,
  timingProblems,
  z,
} from '../src/index.js';

describe('loadConfig', () => {
  it('applies documented defaults', () => {
    const cfg = loadConfig(CommonEnv, {});
    expect(cfg.NATS_URL).toBe('nats://127.0.0.1:4222');
    expect(cfg.REDIS_URL).toBe('redis://127.0.0.1:6379/1');
    expect(cfg.MYSQL_URL).toBe('mysql://root@127.0.0.1:3306/rag_flow');
    expect(cfg.RAGLINE_REPLICA).toMatch(/_0$/);
    expect(() => loadConfig(CommonEnv, { LOG_LEVEL: 'loud' })).toThrow(expect.objectContaining({ keys: ['LOG_LEVEL'] }));
  });

  it('carries only the settings every process shares; package slices are composed by the apps', () => {
    const keys = Object.keys(CommonEnv.shape);
    expect(keys).toEqual([...Object.keys(NatsSettings), ...Object.keys(RuntimeSettings)]);
    for (const owned of ['S3_ENDPOINT', 'ELASTICSEARCH_URL', 'EMBEDDING_URL', 'RAG_TOKENIZER_DICT', 'RAGFLOW_QUEUES', 'MONITOR_PORT']) expect(keys).not.toContain(owned);
    // every key says what it is, for the README's settings table
    for (const [key, schema] of Object.entries({ ...CommonEnv.shape, ...MonitorAddressSettings })) expect(settingMeta(schema).description, key).toBeTruthy();
  });

  it('checks existing files and directories, naming the key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ragline-res-'));
    const file = join(dir, 'huqie.txt');
    writeFileSync(file, '消费者 100 n\n');
    const schema = CommonEnv.extend({ DICT: env.optional(env.existing('file')), RES: env.optional(env.existing('directory')) });
    try {
      expect(loadConfig(schema, { DICT: file, RES: dir })).toMatchObject({ DICT: file, RES: dir });
      expect(() => loadConfig(schema, { DICT: join(dir, 'missing.txt') })).toThrow(expect.objectContaining({ keys: ['DICT'] }));
      expect(() => loadConfig(schema, { DICT: dir })).toThrow(/DICT.*must be an existing file/);
      expect(() => loadConfig(schema, { RES: file })).toThrow(/RES.*must be an existing directory/);
      // RAGFlow's service_conf.yaml has no such keys: a `ragline:` section sets them
      expect(serviceConfToEnv({ ragline: { RAGFLOW_RES_DIR: dir } })).toMatchObject({ RAGFLOW_RES_DIR: dir });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names every bad key and hides secret values', () => {
    const schema = CommonEnv.extend({ MONITOR_PORT: env.int(1, 65535).default(8700) });
    let err: unknown;
    try {
      loadConfig(schema, { REDIS_URL: 'http://nope', MONITOR_PORT: 'abc', NATS_PASSWORD: 123 as unknown as string });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const ce = err as ConfigError;
    expect(ce.keys.sort()).toEqual(['MONITOR_PORT', 'NATS_PASSWORD', 'REDIS_URL']);
    expect(ce.message).toContain('REDIS_URL: must be a redis/rediss URL (got "http://nope")');
    expect(ce.message).not.toContain('123');
  });

  it('never echoes a password from a rejected URL, also one built from service_conf.yaml', () => {
    const fromYaml = serviceConfToEnv({ mysql: { host: 'db', port: 'abc', user: 'root', password: 'p@ss/w0rd' } });
    let err: unknown;
    try {
      loadConfig(CommonEnv, { ...fromYaml, REDIS_URL: 'redis://:hunter2@cache:port/1' });
    } catch (e) {
      err = e;
    }
    const msg = (err as ConfigError).message;
    expect((err as ConfigError).keys.sort()).toEqual(['MYSQL_URL', 'REDIS_URL']);
    expect(msg).toContain('MYSQL_URL: must be a mysql URL (got "mysql://root:***@db:abc/rag_flow")');
    expect(msg).toContain('REDIS_URL: must be a redis/rediss URL (got "redis://:***@cache:port/1")');
    expect(msg).not.toMatch(/hunter2|p@ss|w0rd/);
  });

  it('accepts NATS server lists and rejects other schemes, naming NATS_URL', () => {
    for (const ok of ['nats://127.0.0.1:4222', 'tls://nats.example:4443', 'nats-1:4222, nats-2:4222', 'nats://u:p@h:1,nats://h2:2', 'localhost']) {
      expect(loadConfig(CommonEnv, { NATS_URL: ok }).NATS_URL).toBe(ok);
    }
    for (const bad of ['redis://127.0.0.1:6379', 'http://nats:8222', 'nats://a:1,,nats://b:2', 'nats://', 'nats://:pw@']) {
      expect(() => loadConfig(CommonEnv, { NATS_URL: bad }), bad).toThrow(
        /^invalid configuration: NATS_URL: must be a comma-separated list of nats:\/\/ or tls:\/\/ server URLs \(or host:port\)/,
      );
    }
  });

  it('parses booleans strictly', () => {
    const schema = CommonEnv.extend({ FLAG: env.bool.default(false) });
    expect(loadConfig(schema, { FLAG: 'yes' }).FLAG).toBe(true);
    expect(() => loadConfig(schema, { FLAG: 'maybe' })).toThrow(/FLAG/);
  });
});

describe('service_conf.yaml compatibility', () => {
  it('maps RAGFlow keys to Ragline env names', () => {
    const out = serviceConfToEnv({
      redis: { db: 1, username: '', password: 'infini_rag_flow', host: 'localhost:6379' },
      mysql: { name: 'rag_flow', user: 'root', password: 'p@ss', host: 'db', port: 5455 },
      minio: { user: 'rag_flow', password: 'secret', host: 'minio:9000', bucket: '', prefix_path: '' },
      es: { hosts: 'http://es01:9200', username: 'elastic', password: 'x' },
      nats: { host: 'nats', port: 4222 },
    });
    expect(out.REDIS_URL).toBe('redis://:infini_rag_flow@localhost:6379/1');
    expect(out.MYSQL_URL).toBe('mysql://root:p%40ss@db:5455/rag_flow');
    expect(out.S3_ENDPOINT).toBe('http://minio:9000');
    expect(out.S3_BUCKET).toBeUndefined();
    expect(out.ELASTICSEARCH_URL).toBe('http://es01:9200');
    expect(out.NATS_URL).toBe('nats://nats:4222');
  });

  it('reads conf/service_conf.yaml, local overrides it, env overrides both', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ragline-conf-'));
    mkdirSync(join(dir, 'conf'));
    writeFileSync(join(dir, 'conf/service_conf.yaml'), 'redis:\n  host: a:1\n  db: 1\nmysql:\n  host: m\n  user: root\n');
    writeFileSync(join(dir, 'conf/local.service_conf.yaml'), 'redis:\n  host: b:2\n');
    const resolved = resolveEnv({ MYSQL_URL: 'mysql://x@y:1/z' }, dir);
    expect(resolved.REDIS_URL).toBe('redis://b:2/1');
    expect(resolved.MYSQL_URL).toBe('mysql://x@y:1/z');
  });

  it('fails on a missing explicit config file, naming the key', () => {
    expect(() => resolveEnv({ RAGLINE_CONFIG_FILE: '/nonexistent/x.yaml' })).toThrow(/RAGLINE_CONFIG_FILE/);
  });

  it('collects secret values for scrubbing', () => {
    const cfg = loadConfig(CommonEnv.extend({ EMBEDDING_API_KEY: env.optional(z.string()) }), { REDIS_URL: 'redis://:hunter2@h:1/1', EMBEDDING_API_KEY: 'sk-abc' });
    expect(secretValues(cfg).sort()).toEqual(['hunter2', 'sk-abc']);
  });
});

describe('cross-field rules', () => {
  it('requires a key whose requiredWhen key is set, once the schema has both', () => {
    const schema = CommonEnv.extend({
      SERVER_URL: env.optional(env.url(['http'])),
      SERVER_MODEL: env.optional(z.string()).meta({ description: 'm', requiredWhen: 'SERVER_URL' }),
    });
    expect(() => loadConfig(schema, { SERVER_URL: 'http://tei:8080' })).toThrow(/^invalid configuration: SERVER_MODEL: required when SERVER_URL is set$/);
    expect(() => loadConfig(schema, { SERVER_URL: 'http://tei:8080' })).toThrow(expect.objectContaining({ keys: ['SERVER_MODEL'] }));
    expect(loadConfig(schema, { SERVER_URL: 'http://tei:8080', SERVER_MODEL: 'bge' }).SERVER_MODEL).toBe('bge');
    expect(loadConfig(schema, {}).SERVER_MODEL).toBeUndefined();
  });

  it('takes NATS_TLS_CERT and NATS_TLS_KEY together', () => {
    expect(() => loadConfig(CommonEnv, { NATS_TLS_CERT: '/c.pem' })).toThrow(expect.objectContaining({ keys: ['NATS_TLS_KEY'] }));
    expect(() => loadConfig(CommonEnv, { NATS_TLS_KEY: '/k.pem' })).toThrow(/NATS_TLS_CERT: NATS_TLS_CERT and NATS_TLS_KEY go together/);
    expect(loadConfig(CommonEnv, { NATS_TLS_CERT: '/c.pem', NATS_TLS_KEY: '/k.pem' }).NATS_TLS_KEY).toBe('/k.pem');
  });
});

describe('timing rules (RAGFlow #18942: a heartbeat slower than the deadline it feeds)', () => {
  it('rejects a worker heartbeat over a third of the worker timeout, naming both keys', () => {
    const err = (() => {
      try {
        loadConfig(CommonEnv, { HEARTBEAT_INTERVAL_MS: '50000', WORKER_TIMEOUT_MS: '120000' });
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('accepted');
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.keys).toEqual(['HEARTBEAT_INTERVAL_MS', 'WORKER_TIMEOUT_MS']);
    expect(err.message).toMatch(/^invalid configuration: HEARTBEAT_INTERVAL_MS: 50000 ms is more than a third of WORKER_TIMEOUT_MS \(120000 ms\)/);
    // a shorter timeout alone is caught as well, against the default heartbeat
    expect(() => loadConfig(CommonEnv, { WORKER_TIMEOUT_MS: '60000' })).toThrow(expect.objectContaining({ keys: ['HEARTBEAT_INTERVAL_MS', 'WORKER_TIMEOUT_MS'] }));
  });

  it('accepts the defaults, a third exactly, and the private test stacks', () => {
    expect(loadConfig(CommonEnv, {})).toMatchObject({ HEARTBEAT_INTERVAL_MS: 30_000, WORKER_TIMEOUT_MS: 120_000 });
    expect(loadConfig(CommonEnv, { HEARTBEAT_INTERVAL_MS: '40000' }).HEARTBEAT_INTERVAL_MS).toBe(40_000);
    const stack = privateStack({ tag: 'timing', id: 'abcd1234', dataDir: tmpdir() });
    expect(() => loadConfig(CommonEnv, stack.env)).not.toThrow();
  });

  it('checks a rule only where the config has both keys', () => {
    const rules = [{ key: 'A_MS', deadline: 'B_MS', atMost: 1 / 2, why: 'b' }];
    expect(timingProblems({ A_MS: 10 }, rules)).toEqual([]);
    expect(timingProblems({ A_MS: 10, B_MS: 20 }, rules)).toEqual([]);
    expect(timingProblems({ A_MS: 11, B_MS: 20 }, rules)).toEqual([expect.objectContaining({ key: 'A_MS', also: 'B_MS' })]);
  });
});

describe('privateStack', () => {
  it('puts tag and id in every name a stack shares servers by, and passes the apps’ own checks', () => {
    const { env, queues } = privateStack({ tag: 'e2e', id: 'ab12', dataDir: '/tmp/x' });
    expect(queues).toEqual(['e2e.ab12.1', 'e2e.ab12.0']);
    expect(env).toMatchObject({
      REDIS_KEY_PREFIX: 'e2e:ab12:',
      MYSQL_URL: 'mysql://root@127.0.0.1:3306/ragline_e2e_ab12',
      RAGLINE_SUBJECT_PREFIX: 'e2eab12',
      RAGLINE_STREAM_PREFIX: 'E2EAB12',
      RAGFLOW_QUEUES: 'e2e.ab12.1,e2e.ab12.0',
      RAGLINE_DATA_DIR: '/tmp/x',
      // the suites and benches run on hashing unless they ask for the model (the embedder reads it)
      EMBEDDING_LOCAL_KIND: 'hashing',
    });
    expect(loadConfig(CommonEnv, env).RAGLINE_STREAM_PREFIX).toBe('E2EAB12');
  });

  it('refuses a tag the stream prefix cannot carry, naming the key', () => {
    expect(() => privateStack({ tag: 'bad tag', id: '1', dataDir: '/tmp/x' })).toThrow(/RAGLINE_STREAM_PREFIX/);
  });
});
