import { openSync, closeSync } from 'node:fs';

/**
 * Fault injection for the fault suite (test/faults/ragflow-jetstream.test.ts, RAGFlow #19074): with
 * `RAGLINE_FAULT_KILL_AT` set, a process SIGKILLs itself at the named step boundary, so a crash
 * lands exactly between two effects (a MySQL write and a publish, a publish and an ack). Unset (the
 * default) nothing is ever checked beyond one string lookup. Read from the environment only (not
 * from YAML): it is a test setting, listed with the others as `RAGLINE_FAULT_KILL_AT`.
 *
 * Format: comma-separated `<point>@<marker file>`. A point fires once: the process that creates the
 * marker file (exclusively) dies, every later one (the restarted process) goes on. Points:
 * - `bridge.received`: the bridge received the task in MySQL (retry_count, "Task has been received"), before publishing it
 * - `publish:<subject tail>`: right after JetStream acked a publish to a subject ending so (e.g. `tasks.parse`, `chunks.enrich`, `index.manifest`)
 * - `consume:<subject tail>`: a consumer took a message, before its handler ran
 * - `settle:<subject tail>`: the handler finished, before the message is acked
 */
export const FAULT_ENV = 'RAGLINE_FAULT_KILL_AT';

interface Armed {
  kind: string;
  tail: string;
  marker: string;
}

const POINT = /^(bridge\.received|(publish|consume|settle):[A-Za-z0-9_.>*-]+)@(.+)$/;

/** The armed points of a `RAGLINE_FAULT_KILL_AT` value; throws naming the setting on a bad one. */
export function parseFaultPoints(value: string | undefined): Armed[] {
  if (!value) return [];
  return value.split(',').map((part) => {
    const m = POINT.exec(part.trim());
    if (!m) throw new Error(`${FAULT_ENV}: "${part}" is not <point>@<marker file> (points: bridge.received, publish:<subject>, consume:<subject>, settle:<subject>)`);
    const [kind, tail = ''] = m[1]!.split(/:(.*)/s);
    return { kind: kind!, tail, marker: m[3]! };
  });
}

let armed: Armed[] | undefined;

/** Called at each step boundary; a no-op unless RAGLINE_FAULT_KILL_AT names this point. */
export function faultPoint(kind: 'bridge.received' | 'publish' | 'consume' | 'settle', subject = ''): void {
  armed ??= parseFaultPoints(process.env[FAULT_ENV]);
  if (armed.length === 0) return;
  for (const a of armed) {
    if (a.kind !== kind || (a.tail && !subject.endsWith(a.tail))) continue;
    try {
      closeSync(openSync(a.marker, 'wx'));
    } catch {
      continue; // fired before (the marker exists): this process goes on
    }
    process.kill(process.pid, 'SIGKILL');
  }
}
