import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, getJson, takeToken } from './api.js';
import { LineChart } from './chart.js';
import { ago, inFlightTasks, lastLine, seconds, seriesOf, stagesOf, taskState } from './format.js';
import './styles.css';
import type { Overview, TaskRow } from './types.js';

const POLL_MS = 2000;

function TraceLink({ t }: { t: TaskRow }) {
  if (t.trace_url) {
    return (
      <a href={t.trace_url} target="_blank" rel="noopener noreferrer" class="trace">
        trace
      </a>
    );
  }
  return t.trace_id ? <code class="trace" title="set GRAFANA_URL on the monitor for a link">{t.trace_id.slice(0, 12)}</code> : <span class="muted">-</span>;
}

function TaskTable({ rows, id, empty, showError }: { rows: TaskRow[]; id: string; empty: string; showError?: boolean }) {
  if (!rows.length) return <p class="muted" id={id}>{empty}</p>;
  return (
    <table id={id}>
      <thead>
        <tr>
          <th>task</th>
          <th>document</th>
          <th>state</th>
          <th>duration</th>
          <th>{showError ? 'error' : 'last message'}</th>
          <th>trace</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((t) => (
          <tr key={t.id} data-task={t.id} data-state={taskState(t)}>
            <td>
              <code title={t.id}>{t.id.slice(0, 8)}</code>
            </td>
            <td>{t.doc_name ?? t.doc_id}</td>
            <td class={`state ${taskState(t)}`}>{taskState(t)}</td>
            <td class="num">{seconds(t.process_duration)}</td>
            <td class="msg">{showError ? (t.error ?? lastLine(t.progress_msg)) : lastLine(t.progress_msg)}</td>
            <td>
              <TraceLink t={t} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function App() {
  const token = useMemo(() => takeToken(), []);
  const [data, setData] = useState<Overview | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    const poll = async () => {
      try {
        const o = await getJson<Overview>('/api/overview', token);
        if (stopped) return;
        setData(o);
        setError(null);
      } catch (e) {
        if (stopped) return;
        setError(e instanceof ApiError && e.status === 401 ? 'access token missing or wrong: open the page with ?token=...' : (e as Error).message);
      }
      if (!stopped) timer = window.setTimeout(() => void poll(), POLL_MS);
    };
    void poll();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
  }, [token]);

  const stages = useMemo(() => stagesOf(data?.history ?? []), [data]);
  const lagData = useMemo(() => seriesOf(data?.history ?? [], stages, 'pending'), [data, stages]);
  const rateData = useMemo(() => seriesOf(data?.history ?? [], stages, 'throughput'), [data, stages]);

  return (
    <main>
      <header>
        <h1>Ragline monitor</h1>
        <span id="status" class={error ? 'bad' : 'ok'}>
          {error ? `error: ${error}` : data ? `updated ${new Date(data.at).toLocaleTimeString()}` : 'loading...'}
        </span>
      </header>
      {data && (
        <>
          <section class="charts">
            <LineChart title="Stage lag (messages waiting)" names={stages} data={lagData} unit="messages" testId="lag-chart" />
            <LineChart title="Throughput (messages/s)" names={stages} data={rateData} unit="msg/s" testId="throughput-chart" />
          </section>
          <section>
            <h2>Stages</h2>
            <table id="stages">
              <thead>
                <tr>
                  <th>stage</th>
                  <th>waiting (lag)</th>
                  <th>in flight</th>
                  <th>redelivered</th>
                  <th>processed</th>
                </tr>
              </thead>
              <tbody>
                {data.stages.map((s) => (
                  <tr key={s.stage} data-stage={s.stage}>
                    <td>{s.stage}</td>
                    {s.error !== undefined ? (
                      <td colSpan={4} class="bad">
                        {s.error}
                      </td>
                    ) : (
                      <>
                        <td class="num lag">{s.pending}</td>
                        <td class="num">{s.ackPending}</td>
                        <td class="num">{s.redelivered}</td>
                        <td class="num">{s.processed}</td>
                      </>
                    )}
                  </tr>
                ))}
                {data.queues.map((q) => (
                  <tr key={q.stream} data-queue={q.stream}>
                    <td>
                      RAGFlow <code>{q.stream}</code>
                    </td>
                    <td class="num lag">{q.lag ?? '-'}</td>
                    <td class="num">{q.pending}</td>
                    <td class="num">-</td>
                    <td class="num">{q.length}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <section>
            <h2>Workers ({data.workers.filter((w) => w.alive).length} alive)</h2>
            {data.workers.length === 0 ? (
              <p class="muted">no worker registered</p>
            ) : (
              <table id="workers">
                <thead>
                  <tr>
                    <th>worker</th>
                    <th>stage</th>
                    <th>host / pid</th>
                    <th>last heartbeat</th>
                    <th>in flight</th>
                    <th>pending / lag</th>
                    <th>done / failed</th>
                  </tr>
                </thead>
                <tbody>
                  {data.workers.map((w) => (
                    <tr key={w.name} data-worker={w.name} class={w.alive ? '' : 'dead'}>
                      <td>{w.name}</td>
                      <td>{w.heartbeat?.stage ?? '?'}</td>
                      <td>
                        {w.heartbeat?.host ?? w.heartbeat?.ip_address ?? '?'} / {w.heartbeat?.pid ?? '?'}
                      </td>
                      <td class={w.alive ? 'ok' : 'bad'}>{ago(w.lastBeatAt, data.at)}</td>
                      <td class="num">{inFlightTasks(w.heartbeat?.current).length}</td>
                      <td class="num">
                        {w.heartbeat?.pending ?? 0} / {w.heartbeat?.lag ?? 0}
                      </td>
                      <td class="num">
                        {w.heartbeat?.done ?? 0} / {w.heartbeat?.failed ?? 0}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <section>
            <h2>Failed tasks</h2>
            <TaskTable rows={data.failed} id="failed" empty="no failed task" showError />
          </section>
          <section>
            <h2>Slowest finished tasks</h2>
            <TaskTable rows={data.slowest} id="slowest" empty="no finished task yet" />
          </section>
          <section>
            <h2>Recent tasks</h2>
            <TaskTable rows={data.recent} id="recent" empty="no task yet" />
          </section>
        </>
      )}
    </main>
  );
}

render(<App />, document.getElementById('app')!);
