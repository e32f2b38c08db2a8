import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { jsonrepair } from 'jsonrepair';

export interface FixtureRequest {
  model: string;
  messages: Array<{ role: string; content: string }>;
  /** everything else the client sent (temperature, top_p, ...) */
  params: Record<string, unknown>;
  /** the Authorization header */
  authorization?: string;
}

/** A scripted failure, used for the next matching requests. */
export type FixtureFailure =
  | { kind: 'status'; status: number; retryAfter?: string; body?: string }
  /** never answers; the client's timeout must end it */
  | { kind: 'hang' }
  /** closes the connection without an answer */
  | { kind: 'reset' };

export interface ChatFixtureOptions {
  /** the answer text for a request; default: a deterministic answer per kind of prompt (see defaultAnswer) */
  answer?: (req: FixtureRequest) => string | Promise<string>;
  /** added before every answer; default 0 */
  latencyMs?: number | ((req: FixtureRequest) => number);
  /** what `failures.push` scripts, consumed first-come; also settable later through `fail()` */
  failures?: FixtureFailure[];
  /**
   * requests the server works on at once, as a model server with that many slots: the others wait
   * their turn (and count as in flight); default unlimited
   */
  capacity?: number;
}

export interface LoggedRequest extends FixtureRequest {
  at: number;
  /** the status the fixture answered with (0 for hang/reset) */
  status: number;
}

export interface ChatFixture {
  /** base URL to give the client, e.g. http://127.0.0.1:PORT (the client appends /v1/chat/completions) */
  readonly url: string;
  /** every request, in arrival order */
  readonly requests: LoggedRequest[];
  /** most requests being handled at one time so far */
  readonly maxConcurrent: number;
  /** requests being handled now */
  readonly inFlight: number;
  /** scripts the next requests' failures, in order */
  fail(...failures: FixtureFailure[]): void;
  /** clears the log and the concurrency high-water mark */
  reset(): void;
  close(): Promise<void>;
}

/** The words of a text, for deterministic answers. */
function words(text: string): string[] {
  return text.match(/[\p{L}\p{N}]+/gu) ?? [];
}

/**
 * The default answer, a pure function of the request: it reads what Ragline's prompts ask for
 * (keywords, questions, tags, metadata, TOC headings, TOC levels) from the system message and answers
 * in that format from the user message's words, so tests can compute the expected fields.
 */
export function defaultAnswer(req: FixtureRequest): string {
  const system = req.messages.find((m) => m.role === 'system')?.content ?? '';
  const user = req.messages.filter((m) => m.role === 'user').map((m) => m.content).join('\n');
  const n = Number(/(\d+) (?:most important keywords|questions that)/.exec(system)?.[1] ?? 3);
  if (system.includes('keywords or key phrases')) return words(user).slice(0, n).join(', ');
  if (system.includes('questions that the passage')) {
    return words(user)
      .slice(0, n)
      .map((w) => `What is ${w}?`)
      .join('\n');
  }
  if (system.includes('label passages with tags')) {
    const set = (/Tag set:\n(.*)/.exec(system)?.[1] ?? '').split(', ').filter(Boolean);
    const top = Number(/up to (\d+) tags/.exec(system)?.[1] ?? 3);
    const text = user.toLowerCase();
    const picked = set.filter((t) => text.includes(t.toLowerCase())).slice(0, top);
    return JSON.stringify(Object.fromEntries((picked.length ? picked : set.slice(0, 1)).map((t, i) => [t, 10 - i])));
  }
  if (system.includes('extract document metadata')) {
    // every schema property whose name appears in the text gets the word after it
    const schema = /JSON schema:\n([\s\S]*?)\n\n/.exec(system)?.[1];
    const props = schema ? Object.keys((JSON.parse(schema) as { properties?: Record<string, unknown> }).properties ?? {}) : [];
    const out: Record<string, string> = {};
    for (const p of props) {
      const m = new RegExp(`${p}[:：]\\s*([\\p{L}\\p{N}]+)`, 'u').exec(user);
      if (m) out[p] = m[1]!;
    }
    return JSON.stringify(out);
  }
  if (system.includes('find the headings')) {
    // a passage's first line is a heading when it starts with "#" or "Chapter"/"Section"/"第"
    const items = user.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, string>);
    const out: Array<{ title: string; chunk_id: string }> = [];
    for (const item of items) {
      for (const [id, text] of Object.entries(item)) {
        const first = text.split('\n')[0]!.trim();
        const heading = /^(#+\s*|Chapter |Section |第)/.test(first);
        out.push({ title: heading ? first.replace(/^#+\s*/, '') : '-1', chunk_id: id });
      }
    }
    return JSON.stringify(out);
  }
  if (system.includes('give each heading of a table of contents its depth')) {
    // Ragline sends the titles as RAGFlow does, as a Python list repr: read it leniently
    const titles = JSON.parse(jsonrepair(user)) as string[];
    return JSON.stringify(titles.map((t) => ({ level: /^(Section|第.*节)/.test(t) ? '2' : '1', title: t })));
  }
  return words(user).slice(0, 3).join(' ');
}

async function body(req: IncomingMessage): Promise<string> {
  const parts: Buffer[] = [];
  for await (const p of req) parts.push(p as Buffer);
  return Buffer.concat(parts).toString('utf8');
}

/**
 * A real OpenAI-compatible chat server on 127.0.0.1 (a free port): POST /v1/chat/completions answers
 * `{choices: [{message: {content}}], usage}` with deterministic answers, after a configurable
 * latency, with scripted failures (status codes with Retry-After, hangs, resets), a request log and
 * the highest concurrency it saw. For tests and `pnpm bench enricher`.
 */
export async function startChatFixture(opts: ChatFixtureOptions = {}): Promise<ChatFixture> {
  const failures: FixtureFailure[] = [...(opts.failures ?? [])];
  const requests: LoggedRequest[] = [];
  const sockets = new Set<Socket>();
  const hung = new Set<ServerResponse>();
  let inFlight = 0;
  let maxConcurrent = 0;
  // the server's slots (capacity): waiting requests queue in arrival order
  let busy = 0;
  const waiting: Array<() => void> = [];
  const slot = (): Promise<void> => {
    if (opts.capacity === undefined || busy < opts.capacity) {
      busy++;
      return Promise.resolve();
    }
    return new Promise((resolve) => waiting.push(resolve));
  };
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else busy--;
  };

  const server = createServer((req, res) => {
    void (async () => {
      if (req.method !== 'POST' || !req.url?.endsWith('/v1/chat/completions')) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
        return;
      }
      inFlight++;
      maxConcurrent = Math.max(maxConcurrent, inFlight);
      let parsed: FixtureRequest;
      try {
        const { model, messages, ...params } = JSON.parse(await body(req)) as { model: string; messages: FixtureRequest['messages'] } & Record<string, unknown>;
        parsed = { model, messages, params, ...(req.headers.authorization !== undefined && { authorization: req.headers.authorization }) };
      } catch {
        inFlight--;
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'body is not JSON' } }));
        return;
      }
      const logged: LoggedRequest = { ...parsed, at: Date.now(), status: 0 };
      requests.push(logged);
      const done = () => {
        inFlight--;
      };
      const failure = failures.shift();
      if (failure?.kind === 'hang') {
        hung.add(res);
        res.on('close', () => {
          hung.delete(res);
          done();
        });
        return;
      }
      if (failure?.kind === 'reset') {
        done();
        req.socket.destroy();
        return;
      }
      const latency = typeof opts.latencyMs === 'function' ? opts.latencyMs(parsed) : (opts.latencyMs ?? 0);
      await slot();
      try {
        if (latency > 0) await new Promise((r) => setTimeout(r, latency));
      } finally {
        release();
      }
      if (failure?.kind === 'status') {
        logged.status = failure.status;
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (failure.retryAfter !== undefined) headers['retry-after'] = failure.retryAfter;
        res.writeHead(failure.status, headers).end(failure.body ?? JSON.stringify({ error: { message: `scripted ${failure.status}` } }));
        done();
        return;
      }
      try {
        const content = await (opts.answer ?? defaultAnswer)(parsed);
        logged.status = 200;
        res.writeHead(200, { 'content-type': 'application/json' }).end(
          JSON.stringify({
            id: `chatcmpl-${requests.length}`,
            object: 'chat.completion',
            model: parsed.model,
            choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
            usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
          }),
        );
      } catch (err) {
        logged.status = 500;
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: (err as Error).message } }));
      }
      done();
    })();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get maxConcurrent() {
      return maxConcurrent;
    },
    get inFlight() {
      return inFlight;
    },
    fail: (...f) => void failures.push(...f),
    reset() {
      requests.length = 0;
      maxConcurrent = inFlight;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
