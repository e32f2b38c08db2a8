// Why vectors travel packed: bytes on the wire and encode+decode time of one 32-chunk batch of
// 1024-dim vectors, JSON numbers vs base64 float32, measured side by side in one run.
import { packVector, unpackVector } from '@ragline/contracts';

export async function run() {
  const dim = 1024;
  const batch = Array.from({ length: 32 }, (_, c) => Array.from({ length: dim }, (_, i) => Math.fround(Math.sin(i * 0.37 + c) / 32)));
  const time = (fn, n = 200) => {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) fn();
    return (performance.now() - t0) / n;
  };
  const jsonBytes = Buffer.byteLength(JSON.stringify(batch));
  const packedBytes = Buffer.byteLength(JSON.stringify(batch.map(packVector)));
  const jsonMs = time(() => JSON.parse(JSON.stringify(batch)));
  const packedMs = time(() => JSON.parse(JSON.stringify(batch.map(packVector))).map((b) => unpackVector(b, dim)));
  return {
    dim,
    chunks: batch.length,
    rows: [
      { name: 'json-numbers', bytes: jsonBytes, roundtrip_ms: +jsonMs.toFixed(3) },
      { name: 'f32le-base64', bytes: packedBytes, roundtrip_ms: +packedMs.toFixed(3) },
    ],
    size_ratio: +(jsonBytes / packedBytes).toFixed(2),
    time_ratio: +(jsonMs / packedMs).toFixed(2),
  };
}
