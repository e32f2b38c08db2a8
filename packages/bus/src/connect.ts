import { connect, type NatsConnection } from '@nats-io/transport-node';

export interface NatsOptions {
  /** comma-separated server URLs; default nats://127.0.0.1:4222 */
  url?: string;
  user?: string;
  password?: string;
  token?: string;
  tls?: { ca?: string; cert?: string; key?: string };
  /** connection name shown by the server (stage + replica) */
  name?: string;
  /** keep retrying the initial connect instead of failing at once; default false */
  waitOnFirstConnect?: boolean;
}

/** Connects to NATS; credentials never end up in error messages. */
export async function connectNats(opts: NatsOptions = {}): Promise<NatsConnection> {
  const servers = (opts.url ?? 'nats://127.0.0.1:4222').split(',').map((s) => s.trim());
  const tls = opts.tls && (opts.tls.ca || opts.tls.cert)
    ? { caFile: opts.tls.ca, certFile: opts.tls.cert, keyFile: opts.tls.key }
    : undefined;
  try {
    return await connect({
      servers,
      name: opts.name,
      user: opts.user,
      pass: opts.password,
      token: opts.token,
      tls,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1000,
      waitOnFirstConnect: opts.waitOnFirstConnect ?? false,
    });
  } catch (e) {
    const safe = servers.map((s) => s.replace(/\/\/[^@/]*@/, '//'));
    throw new Error(`cannot connect to NATS at ${safe.join(',')}: ${(e as Error).message}`);
  }
}
