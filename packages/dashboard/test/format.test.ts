import { describe, expect, it } from 'vitest';
import { ago, inFlightTasks, lastLine, seconds, seriesOf, stagesOf, taskState } from '../src/format.js';
import type { StageSample } from '../src/types.js';

const sample = (at: number, stages: Record<string, number>): StageSample => ({
  at,
  stages: Object.fromEntries(Object.entries(stages).map(([k, v]) => [k, { pending: v, ackPending: 1, redelivered: 0, throughput: v / 2 }])),
  queues: {},
});

describe('dashboard formatting', () => {
  it('builds uPlot columns per stage with gaps where a sample lacks a stage', () => {
    const history = [sample(1000, { parser: 4 }), sample(6000, { parser: 2, embedder: 8 })];
    const stages = stagesOf(history);
    expect(stages).toEqual(['parser', 'embedder']);
    expect(seriesOf(history, stages, 'pending')).toEqual([[1, 6], [4, 2], [null, 8]]);
    expect(seriesOf(history, stages, 'throughput')).toEqual([[1, 6], [2, 1], [null, 4]]);
  });

  it('counts only task records of a heartbeat as in flight', () => {
    expect(inFlightTasks({ t1: { task_id: 't1', doc_id: 'd' }, in_flight: 2, breakers: {} })).toEqual(['t1']);
    expect(inFlightTasks(undefined)).toEqual([]);
  });

  it('formats ages, durations, states and last log lines', () => {
    expect(ago(null, 0)).toBe('never');
    expect(ago(10_000, 12_500)).toBe('3s ago');
    expect(ago(20_000, 10_000)).toBe('0s ago');
    expect(ago(0, 125_000)).toBe('2m ago');
    expect(seconds(0.4213)).toBe('0.42s');
    expect(seconds(245)).toBe('4m 05s');
    expect(taskState({ progress: -1 })).toBe('failed');
    expect(taskState({ progress: 1 })).toBe('done');
    expect(taskState({ progress: 0 })).toBe('queued');
    expect(taskState({ progress: 0.4 })).toBe('running');
    expect(lastLine('10:00:00 Task has been received.\n10:00:02 [ERROR]parser failed: boom\n')).toBe('[ERROR]parser failed: boom');
  });
});
