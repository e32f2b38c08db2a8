export * from './errors.js';
export * from './connect.js';
export * from './topology.js';
export * from './publish.js';
export * from './consumer.js';
export * from './batch-consumer.js';
export * from './task-state.js';
export type { NatsConnection } from '@nats-io/transport-node';
export type { JetStreamManager, JsMsg } from '@nats-io/jetstream';
