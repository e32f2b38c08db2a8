import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const COLORS = ['#2563eb', '#16a34a', '#d97706', '#9333ea', '#dc2626', '#0891b2'];

export interface LineChartProps {
  title: string;
  /** series names, one per y column */
  names: string[];
  /** [x (unix seconds), ...y columns] */
  data: [number[], ...(number | null)[][]];
  unit: string;
  testId: string;
}

/** A uPlot time-series chart, created once per set of series and fed new data on every update. */
export function LineChart({ title, names, data, unit, testId }: LineChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const key = names.join('|');

  useEffect(() => {
    if (!host.current) return undefined;
    const width = Math.max(280, host.current.clientWidth || 480);
    const opts: uPlot.Options = {
      title,
      width,
      height: 220,
      scales: { x: { time: true } },
      series: [{}, ...names.map((n, i) => ({ label: n, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: false }))],
      axes: [{}, { label: unit, size: 60 }],
      legend: { live: true },
    };
    plot.current = new uPlot(opts, data as uPlot.AlignedData, host.current);
    const resize = () => plot.current?.setSize({ width: Math.max(280, host.current?.clientWidth ?? width), height: 220 });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.current?.destroy();
      plot.current = null;
    };
    // recreated only when the set of series changes; data updates go through setData below
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);

  return <div class="chart" ref={host} data-testid={testId} />;
}
