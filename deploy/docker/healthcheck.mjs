// Container HEALTHCHECK: GET /healthz on the app's health port (the monitor serves it on MONITOR_PORT).
// Exits 0 when the app answers 200 within the timeout, 1 otherwise. No dependencies: runs on plain Node.
const monitor = process.env.RAGLINE_APP === 'monitor';
const port = Number(monitor ? process.env.MONITOR_PORT : process.env.HEALTH_PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error(`healthcheck: no ${monitor ? 'MONITOR_PORT' : 'HEALTH_PORT'} set`);
  process.exit(1);
}
try {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2500) });
  process.exit(res.status === 200 ? 0 : 1);
} catch (e) {
  console.error(`healthcheck: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
}
