import type { Dependency } from '@ragline/bus';
import { isTaskDbUnavailable, type TaskDb } from '@ragline/taskdb';

/** MySQL as a DependencyGate sees it: down while calls fail with connection errors, back when a ping answers. */
export function taskDbDependency(taskdb: Pick<TaskDb, 'ping'>): Dependency {
  return { name: 'mysql', isOutage: isTaskDbUnavailable, probe: () => taskdb.ping() };
}
