import { trace } from '@opentelemetry/api';
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

/** Keys whose values are never written to a log line, wherever they appear. */
export const SECRET_KEYS = [
  'password',
  'pass',
  'secret',
  'secretKey',
  'secret_key',
  'accessKey',
  'access_key',
  'apiKey',
  'api_key',
  'token',
  'authorization',
  'Authorization',
] as const;

const redactPaths = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

export interface LoggerConfig {
  service: string;
  level?: string;
  /** extra fields on every line (stage, replica...) */
  base?: Record<string, unknown>;
  /**
   * Secret values to scrub wherever they appear in a line (messages, error text, any field), for
   * secrets that no key name gives away, e.g. API keys inside CHAT_BACKENDS / EMBEDDING_BACKENDS JSON.
   */
  secrets?: readonly (string | undefined)[];
  /** test hook: write lines somewhere else than stdout */
  destination?: pino.DestinationStream;
}

/**
 * JSON logger carrying `trace_id`/`span_id` of the active span on every line (so a log line
 * leads to its trace), with secrets redacted.
 */
export function createLogger(cfg: LoggerConfig): Logger {
  const scrub = lineScrubber(cfg.secrets ?? []);
  const opts: LoggerOptions = {
    level: cfg.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { service: cfg.service, pid: process.pid, ...cfg.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactPaths, censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
    ...(scrub && { hooks: { streamWrite: scrub } }),
    mixin() {
      const span = trace.getActiveSpan();
      if (!span) return {};
      const ctx = span.spanContext();
      return { trace_id: ctx.traceId, span_id: ctx.spanId };
    },
  };
  return cfg.destination ? pino(opts, cfg.destination) : pino(opts);
}

/** Removes credentials from URLs and known secret values from free text (errors, progress messages). */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)([^:@/\s]+):([^@/\s]+)@/gi, '$1$2:[redacted]@');
  out = out.replace(/(bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1[redacted]');
  for (const s of secrets) if (s && s.length >= 3) out = out.split(s).join('[redacted]');
  return out;
}

/**
 * Replaces each secret in a serialized JSON line, in the form JSON gives it (a key holding a quote
 * or backslash is escaped there). Values shorter than 3 characters are skipped, as in redactSecrets.
 */
function lineScrubber(secrets: readonly (string | undefined)[]): ((line: string) => string) | undefined {
  const forms = new Set<string>();
  for (const s of secrets) if (s && s.length >= 3) forms.add(JSON.stringify(s).slice(1, -1));
  if (!forms.size) return undefined;
  // longest first, so a secret containing another is replaced whole
  const ordered = [...forms].sort((a, b) => b.length - a.length);
  return (line) => {
    let out = line;
    for (const f of ordered) if (out.includes(f)) out = out.split(f).join('[redacted]');
    return out;
  };
}
