// Small dependency-free SVG charts for the committed bench results (viewable on GitHub as images).

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function svg(width, height, body) {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="13">
  ${body.join('\n  ')}
</svg>
`;
}

/** Horizontal bars, one per `{ label, value, color }`, scaled to the largest value. */
export function barChart(bars, { title, width = 640, left = 150, barH = 26 }) {
  const max = Math.max(...bars.map((b) => b.value));
  const body = [`<text x="${left}" y="22" font-weight="bold">${esc(title)}</text>`];
  bars.forEach((b, i) => {
    const y = 40 + i * (barH + 10);
    const len = Math.max(2, ((width - left - 90) * b.value) / max);
    body.push(
      `<text x="${left - 8}" y="${y + barH * 0.68}" text-anchor="end">${esc(b.label)}</text><rect x="${left}" y="${y}" width="${len.toFixed(1)}" height="${barH}" fill="${b.color}"/><text x="${(left + len + 6).toFixed(1)}" y="${y + barH * 0.68}">${b.value}</text>`,
    );
  });
  return svg(width, 60 + bars.length * (barH + 10), body);
}

/** A "nice" tick step (1, 2 or 5 times a power of ten) giving about `n` ticks over `span`. */
function tickStep(span, n) {
  const raw = span / Math.max(1, n);
  const pow = 10 ** Math.floor(Math.log10(raw || 1));
  return [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
}

/**
 * Lines over a shared x axis: `series` is `[{ name, color, points: [[x, y], ...] }]`; `bands` shade
 * x ranges (`{ from, to, label }`), e.g. measurement windows. The y axis starts at 0.
 */
export function lineChart(series, { title, xLabel, yLabel, bands = [], width = 760, height = 380 }) {
  const m = { left: 60, right: 150, top: 40, bottom: 46 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const xMax = Math.max(...xs, 1);
  const yMax = Math.max(...series.flatMap((s) => s.points.map((p) => p[1])), 1) * 1.1;
  const X = (x) => m.left + (pw * x) / xMax;
  const Y = (y) => m.top + ph - (ph * y) / yMax;
  const body = [`<text x="${m.left}" y="22" font-weight="bold">${esc(title)}</text>`];
  for (const b of bands) {
    body.push(
      `<rect x="${X(b.from).toFixed(1)}" y="${m.top}" width="${(X(b.to) - X(b.from)).toFixed(1)}" height="${ph}" fill="#e5e7eb"/>` +
        `<text x="${((X(b.from) + X(b.to)) / 2).toFixed(1)}" y="${m.top + 14}" text-anchor="middle" font-size="11" fill="#4b5563">${esc(b.label)}</text>`,
    );
  }
  const yStep = tickStep(yMax, 6);
  const label = (v) => Number(v.toFixed(6)); // no float noise in tick labels
  for (let y = 0; y <= yMax; y += yStep) {
    body.push(
      `<line x1="${m.left}" x2="${m.left + pw}" y1="${Y(y).toFixed(1)}" y2="${Y(y).toFixed(1)}" stroke="#d1d5db" stroke-width="0.5"/>` +
        `<text x="${m.left - 6}" y="${(Y(y) + 4).toFixed(1)}" text-anchor="end" font-size="11">${label(y)}</text>`,
    );
  }
  const xStep = tickStep(xMax, 10);
  for (let x = 0; x <= xMax; x += xStep) {
    body.push(`<text x="${X(x).toFixed(1)}" y="${m.top + ph + 16}" text-anchor="middle" font-size="11">${label(x)}</text>`);
  }
  body.push(
    `<line x1="${m.left}" x2="${m.left + pw}" y1="${m.top + ph}" y2="${m.top + ph}" stroke="#6b7280"/>` +
      `<line x1="${m.left}" x2="${m.left}" y1="${m.top}" y2="${m.top + ph}" stroke="#6b7280"/>`,
    `<text x="${m.left + pw / 2}" y="${height - 8}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  );
  series.forEach((s, i) => {
    const pts = s.points.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ');
    body.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${pts}"/>`);
    const ly = m.top + 10 + i * 20;
    body.push(
      `<line x1="${m.left + pw + 12}" x2="${m.left + pw + 30}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="3"/>` +
        `<text x="${m.left + pw + 36}" y="${ly + 4}">${esc(s.name)}</text>`,
    );
  });
  return svg(width, height, body);
}
