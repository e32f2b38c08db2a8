import { redactSecrets } from '@ragline/telemetry';

/** The messages of an error and its causes, secrets removed; never the error's other properties. */
export function describeFatal(err: unknown, secrets: readonly string[]): { name: string; message: string; causes: string[]; stack?: string } {
  const e = err instanceof Error ? err : new Error(String(err));
  const causes: string[] = [];
  let c: unknown = e.cause;
  for (let i = 0; c && i < 5; i++) {
    causes.push(redactSecrets(c instanceof Error ? `${c.name}: ${c.message}` : String(c), secrets));
    c = c instanceof Error ? c.cause : undefined;
  }
  return { name: e.name, message: redactSecrets(e.message, secrets), causes, stack: e.stack ? redactSecrets(e.stack, secrets) : undefined };
}

/**
 * Replaces Node's default crash report, which prints every property of an error and its causes
 * (client libraries attach failed commands there, AUTH passwords included), by one redacted JSON line.
 */
export function installFatalHandler(opts: { service: string; secrets: readonly string[]; exit?: (code: number) => void }): void {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const report = (kind: string) => (err: unknown) => {
    const line = { level: 'fatal', time: new Date().toISOString(), service: opts.service, pid: process.pid, msg: kind, err: describeFatal(err, opts.secrets) };
    process.stderr.write(JSON.stringify(line) + '\n');
    exit(1);
  };
  process.on('uncaughtException', report('uncaught exception'));
  process.on('unhandledRejection', report('unhandled rejection'));
}
