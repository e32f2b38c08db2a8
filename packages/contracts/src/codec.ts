import type { z } from 'zod';

/** A message that failed its schema: never retried, always dead-lettered with this text. */
export class ContractError extends Error {
  override readonly name = 'ContractError';
  readonly retryable = false;
  constructor(
    readonly schema: string,
    message: string,
  ) {
    super(message);
  }
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function describe(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`)
    .join('; ');
}

/** Validate then serialise; throws ContractError so a producer can never emit an invalid message. */
export function encode<S extends z.ZodType>(schema: S, value: z.input<S>, name = 'message'): Uint8Array {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new ContractError(name, `invalid ${name}: ${describe(parsed.error)}`);
  return encoder.encode(JSON.stringify(parsed.data));
}

/** Parse and validate bytes or text from a boundary (JetStream, Redis, HTTP). */
export function decode<S extends z.ZodType>(schema: S, data: Uint8Array | string, name = 'message'): z.output<S> {
  const text = typeof data === 'string' ? data : decoder.decode(data);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ContractError(name, `invalid ${name}: not JSON (${(e as Error).message})`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new ContractError(name, `invalid ${name}: ${describe(parsed.error)}`);
  return parsed.data;
}

/** Pack float vectors as little-endian float32 base64 (see PackedVectors). */
export function packVector(vec: ArrayLike<number>): string {
  const f = Float32Array.from(vec as ArrayLike<number>);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64');
}

export function unpackVector(b64: string, dim: number): Float32Array {
  const buf = Buffer.from(b64, 'base64');
  if (buf.byteLength !== dim * 4) throw new ContractError('PackedVectors', `vector has ${buf.byteLength / 4} dims, expected ${dim}`);
  const out = new Float32Array(dim);
  for (let i = 0; i < dim; i++) out[i] = buf.readFloatLE(i * 4);
  return out;
}
