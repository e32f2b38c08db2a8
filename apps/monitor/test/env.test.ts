import { ConfigError, loadConfig } from '@ragline/config';
import { describe, expect, it } from 'vitest';
import { MonitorEnv } from '../src/env.js';

function rejection(source: Record<string, string>): ConfigError {
  try {
    loadConfig(MonitorEnv, source);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error(`accepted ${JSON.stringify(source)}`);
}

describe('MonitorEnv', () => {
  it('has loopback-only defaults', () => {
    const cfg = loadConfig(MonitorEnv, {});
    expect(cfg).toMatchObject({
      MONITOR_PORT: 8700,
      MONITOR_HOST: '127.0.0.1',
      WORKER_TIMEOUT_MS: 120_000,
      RAGFLOW_QUEUE_NAMING: 'current',
      NATS_URL: 'nats://127.0.0.1:4222',
    });
    expect(cfg.MONITOR_TOKEN).toBeUndefined();
    expect(cfg.GRAFANA_URL).toBeUndefined();
  });

  it('reads the explicit RAGFlow stream list the bridge reads, with the same check', () => {
    expect(loadConfig(MonitorEnv, { RAGFLOW_QUEUES: 'q1,q0' }).RAGFLOW_QUEUES).toBe('q1,q0');
    expect(rejection({ RAGFLOW_QUEUES: 'q1,,q0' }).keys).toEqual(['RAGFLOW_QUEUES']);
  });

  it('coerces numbers from strings', () => {
    expect(loadConfig(MonitorEnv, { MONITOR_PORT: '9100', WORKER_TIMEOUT_MS: '5000', HEARTBEAT_INTERVAL_MS: '1000' })).toMatchObject({ MONITOR_PORT: 9100, WORKER_TIMEOUT_MS: 5000 });
  });

  it.each([
    ['MONITOR_PORT', 'abc'],
    ['MONITOR_PORT', '70000'],
    ['GRAFANA_URL', 'ftp://grafana.local'],
    ['WORKER_TIMEOUT_MS', '10'],
    ['STUCK_TASK_MS', '5'],
    ['STUCK_MAX_RETRIES', '0'],
  ])('rejects %s=%s naming the key', (key, value) => {
    const err = rejection({ [key]: value });
    expect(err.keys).toEqual([key]);
    expect(err.message).toContain(`${key}:`);
    expect(err.retryable).toBe(false);
  });

  it('defaults stuck-task recovery to RAGFlow-like bounds: 30 min without progress, 3 attempts', () => {
    expect(loadConfig(MonitorEnv, {})).toMatchObject({
      STUCK_TASK_MS: 1_800_000,
      STUCK_CHECK_MS: 60_000,
      STUCK_MAX_RETRIES: 3,
      MONITOR_SAMPLE_MS: 5000,
      MONITOR_SYNC_MS: 6000,
      GRAFANA_TEMPO_UID: 'tempo',
    });
    expect(loadConfig(MonitorEnv, { STUCK_TASK_MS: '60000', STUCK_MAX_RETRIES: '5' })).toMatchObject({ STUCK_TASK_MS: 60_000, STUCK_MAX_RETRIES: 5 });
  });

  it('rejects a MONITOR_TOKEN shorter than 16 characters without echoing it', () => {
    const err = rejection({ MONITOR_TOKEN: 'short-secret' });
    expect(err.keys).toEqual(['MONITOR_TOKEN']);
    expect(err.message).toContain('at least 16 characters');
    expect(err.message).not.toContain('short-secret');
    expect(loadConfig(MonitorEnv, { MONITOR_TOKEN: 'a'.repeat(16) }).MONITOR_TOKEN).toBe('a'.repeat(16));
  });
});
