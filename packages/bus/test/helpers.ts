import { randomBytes } from 'node:crypto';
import { ProgressEvent, topologyNames, type TopologyNames } from '@ragline/contracts';
import type { NatsConnection } from '@nats-io/transport-node';
import { createLogger, startTelemetry, type Logger } from '@ragline/telemetry';
import { connectNats, deleteTopology, ensureTopology, type TopologyOptions } from '../src/index.js';

export const logger: Logger = createLogger({ service: 'bus-test', level: 'silent' });
export const telemetry = startTelemetry({ serviceName: 'bus-test', env: {} });

/** A private topology (unique prefixes) on the real NATS server, removed afterwards. */
export async function privateTopology(o: TopologyOptions = {}) {
  const id = randomBytes(4).toString('hex');
  const names = topologyNames(`t${id}`, `T${id.toUpperCase()}`);
  const nc = await connectNats({ url: process.env.NATS_URL, name: `bus-test-${id}` });
  const jsm = await ensureTopology(nc, names, o);
  return {
    names,
    nc,
    jsm,
    async cleanup() {
      await deleteTopology(nc, names);
      await nc.close();
    },
  };
}

/** The consumer most tests drive: the monitor's durable on the events stream, progress events. */
export function onEvents(t: { nc: NatsConnection; names: TopologyNames }) {
  return {
    nc: t.nc,
    stream: t.names.streams.events,
    consumer: t.names.consumers.monitorEvents,
    stage: 'monitor' as const,
    schema: ProgressEvent,
  };
}
