import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  jetstreamManager,
  type ConsumerConfig,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/transport-node';
import type { TopologyNames } from '@ragline/contracts';
import { TopologyError, isJsNotFound, isJsStreamNameExists } from './errors.js';

const ns = (ms: number) => ms * 1_000_000;

export interface TopologyOptions {
  /** JetStream dedupe window for Nats-Msg-Id; default 10 min */
  duplicateWindowMs?: number;
  /** deliveries before a message is dead-lettered; default 5 */
  maxDeliver?: number;
  /** per-stage in-flight limits (MaxAckPending, i.e. backpressure) */
  maxAckPending?: Partial<Record<'parser' | 'enricher' | 'embedder' | 'indexer' | 'monitorEvents' | 'monitorDlq', number>>;
  /** how long a stage may hold a message without acking or sending working(); default 60 s */
  ackWaitMs?: number;
  /** dead letters are kept this long; default 30 days */
  dlqMaxAgeMs?: number;
  /** replicas per stream (3 for a JetStream cluster); default 1 */
  replicas?: number;
}

export function streamConfigs(names: TopologyNames, o: TopologyOptions = {}): (Partial<StreamConfig> & { name: string })[] {
  const common = {
    storage: StorageType.File,
    duplicate_window: ns(o.duplicateWindowMs ?? 10 * 60_000),
    num_replicas: o.replicas ?? 1,
  };
  const work = { ...common, retention: RetentionPolicy.Workqueue, discard: DiscardPolicy.New };
  return [
    { ...work, name: names.streams.tasks, subjects: [names.subjects.tasks] },
    // Both chunk hops in one work-queue stream (one consumer per subject): a stream that already
    // exists just gains the enrich subject, and "is the task still held by a work stream" needs no change.
    { ...work, name: names.streams.chunks, subjects: [names.subjects.enrich, names.subjects.chunks] },
    { ...work, name: names.streams.index, subjects: [names.subjects.indexAll] },
    { ...work, name: names.streams.events, subjects: [names.subjects.eventsAll] },
    {
      ...common,
      name: names.streams.dlq,
      subjects: [names.subjects.dlqAll],
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_age: ns(o.dlqMaxAgeMs ?? 30 * 24 * 3600_000),
    },
  ];
}

export function consumerConfigs(names: TopologyNames, o: TopologyOptions = {}): { stream: string; config: Partial<ConsumerConfig> }[] {
  const maxDeliver = o.maxDeliver ?? 5;
  const ackWait = o.ackWaitMs ?? 60_000;
  const map = o.maxAckPending ?? {};
  const pull = (durable: string, filter: string, maxAckPending: number, ackWaitMs = ackWait): Partial<ConsumerConfig> => ({
    durable_name: durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    filter_subject: filter,
    max_deliver: maxDeliver,
    // No consumer BackOff: nats-server 2.9 lets BackOff override explicit nak delays, which would
    // turn a 1 s retry into minutes. Retries back off through nak(delay) in the consumer loop;
    // a crashed worker's message comes back after ack_wait.
    ack_wait: ns(ackWaitMs),
    max_ack_pending: maxAckPending,
    max_waiting: 512,
  });
  return [
    { stream: names.streams.tasks, config: pull(names.consumers.parser, names.subjects.tasks, map.parser ?? 64) },
    // LLM calls take seconds: a smaller bound keeps a replica from holding batches another could take
    { stream: names.streams.chunks, config: pull(names.consumers.enricher, names.subjects.enrich, map.enricher ?? 128) },
    { stream: names.streams.chunks, config: pull(names.consumers.embedder, names.subjects.chunks, map.embedder ?? 256) },
    { stream: names.streams.index, config: pull(names.consumers.indexer, names.subjects.indexAll, map.indexer ?? 256) },
    {
      stream: names.streams.events,
      config: pull(names.consumers.monitorEvents, names.subjects.eventsAll, map.monitorEvents ?? 4096, Math.min(ackWait, 30_000)),
    },
    {
      stream: names.streams.dlq,
      config: pull(names.consumers.monitorDlq, names.subjects.dlqAll, map.monitorDlq ?? 256, Math.min(ackWait, 30_000)),
    },
  ];
}

// by err_code, not text (RAGFlow #18942); JetStreamApiError.code is the err_code, never 404
const isNotFound = isJsNotFound;

/**
 * Creates or updates every stream, durable consumer and KV bucket the pipeline needs.
 * Safe to call from every replica of every app at start.
 */
export async function ensureTopology(nc: NatsConnection, names: TopologyNames, o: TopologyOptions = {}): Promise<JetStreamManager> {
  const jsm = await jetstreamManager(nc);
  for (const cfg of streamConfigs(names, o)) {
    const name = cfg.name!;
    try {
      await jsm.streams.info(name);
      try {
        await jsm.streams.update(name, cfg);
      } catch (e) {
        throw new TopologyError(`stream ${name} exists with a config that cannot be updated: ${(e as Error).message}`);
      }
    } catch (e) {
      if (e instanceof TopologyError) throw e;
      if (!isNotFound(e)) throw e;
      try {
        await jsm.streams.add(cfg);
      } catch (addErr) {
        // another replica created it between our info and add
        if (!isJsStreamNameExists(addErr)) throw addErr;
      }
    }
  }
  for (const { stream, config } of consumerConfigs(names, o)) {
    const durable = config.durable_name!;
    try {
      await jsm.consumers.info(stream, durable);
      const { durable_name: _d, deliver_policy: _p, ack_policy: _a, filter_subject: _f, ...mutable } = config;
      await jsm.consumers.update(stream, durable, mutable);
    } catch (e) {
      if (!isNotFound(e)) throw new TopologyError(`consumer ${stream}/${durable}: ${(e as Error).message}`);
      await jsm.consumers.add(stream, config);
    }
  }
  await new Kvm(nc).create(names.taskStateBucket, { history: 1, ttl: 7 * 24 * 3600_000, replicas: o.replicas ?? 1 });
  return jsm;
}

/** Removes every stream of a topology (tests and `ragline reset`). */
export async function deleteTopology(nc: NatsConnection, names: TopologyNames): Promise<void> {
  const jsm = await jetstreamManager(nc);
  const all = [...Object.values(names.streams), `KV_${names.taskStateBucket}`];
  for (const s of all) await jsm.streams.delete(s).catch(() => false);
}

export interface ConsumerLag {
  stream: string;
  consumer: string;
  /** messages not yet delivered */
  pending: number;
  /** delivered, not yet acked */
  ackPending: number;
  redelivered: number;
  waiting: number;
  streamMessages: number;
}

export async function consumerLag(jsm: JetStreamManager, stream: string, consumer: string): Promise<ConsumerLag> {
  const [ci, si] = await Promise.all([jsm.consumers.info(stream, consumer), jsm.streams.info(stream)]);
  return {
    stream,
    consumer,
    pending: ci.num_pending,
    ackPending: ci.num_ack_pending,
    redelivered: ci.num_redelivered,
    waiting: ci.num_waiting,
    streamMessages: si.state.messages,
  };
}
