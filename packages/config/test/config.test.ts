import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CommonEnv, ConfigError, env, loadConfig, privateStack, resolveEnv, secretValues, serviceConfToEnv } from '../src/index.js';

describe('loadConfig', () => {
  it('applies documented defaults', () => {
    const cfg = loadConfig(CommonEnv, {});
    expect(cfg.NATS_URL).toBe('nats://127.0.0.1:4222');
    expect(cfg.REDIS_URL).toBe('redis://127.0.0.1:6379/1');
    expect(cfg.MYSQL_URL).toBe('mysql://root@127.0.0.1:3306/rag_flow');
    expect(cfg.EMBEDDING_DIM).toBe(1024);
    // no embedding server: the real in-process model, not hashing
    expect(cfg.EMBEDDING_LOCAL_KIND).toBe('local');
    expect(loadConfig(CommonEnv, { EMBEDDING_LOCAL_KIND: 'hashing' }).EMBEDDING_LOCAL_KIND).toBe('hashing');
    expect(() => loadConfig(CommonEnv, { EMBEDDING_LOCAL_KIND: 'openai' })).toThrow(expect.objectContaining({ keys: ['EMBEDDING_LOCAL_KIND'] }));
  });

  it('takes RAGFlow tokenizer resources only where they exist, naming the key otherwise', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ragline-res-'));
    const dict = join(dir, 'huqie.txt');
    writeFileSync(dict, '消费者 100 n\n');
    try {
      const cfg = loadConfig(CommonEnv, { RAG_TOKENIZER_DICT: dict, RAGFLOW_RES_DIR: dir, RAG_WORDNET_SYNONYMS: 'off' });
      expect(cfg).toMatchObject({ RAG_TOKENIZER_DICT: dict, RAGFLOW_RES_DIR: dir, RAG_WORDNET_SYNONYMS: false });
      expect(loadConfig(CommonEnv, {}).RAG_WORDNET_SYNONYMS).toBe(true);
      expect(() => loadConfig(CommonEnv, { RAG_TOKENIZER_DICT: join(dir, 'missing.txt') })).toThrow(expect.objectContaining({ keys: ['RAG_TOKENIZER_DICT'] }));
      expect(() => loadConfig(CommonEnv, { RAG_TOKENIZER_DICT: dir })).toThrow(/RAG_TOKENIZER_DICT.*must be an existing file/);
      expect(() => loadConfig(CommonEnv, { RAGFLOW_RES_DIR: dict })).toThrow(/RAGFLOW_RES_DIR.*must be an existing directory/);
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
    const cfg = loadConfig(CommonEnv, { REDIS_URL: 'redis://:hunter2@h:1/1', EMBEDDING_API_KEY: 'sk-abc' });
    expect(secretValues(cfg).sort()).toEqual(['hunter2', 'sk-abc']);
  });
});

describe('cross-field rules', () => {
  it('requires EMBEDDING_MODEL with EMBEDDING_URL and S3 keys with S3_ENDPOINT', () => {
    expect(() => loadConfig(CommonEnv, { EMBEDDING_URL: 'http://tei:8080' })).toThrow(/EMBEDDING_MODEL: required when EMBEDDING_URL is set/);
    expect(() => loadConfig(CommonEnv, { S3_ENDPOINT: 'http://minio:9000', S3_ACCESS_KEY: 'a' })).toThrow(/S3_SECRET_KEY/);
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
      // the suites and benches run on hashing unless they ask for the model
      EMBEDDING_LOCAL_KIND: 'hashing',
    });
    expect(loadConfig(CommonEnv, env).RAGLINE_STREAM_PREFIX).toBe('E2EAB12');
  });

  it('refuses a tag the stream prefix cannot carry, naming the key', () => {
    expect(() => privateStack({ tag: 'bad tag', id: '1', dataDir: '/tmp/x' })).toThrow(/RAGLINE_STREAM_PREFIX/);
  });
});
