// `tdxfuzz plot DIR`: the campaign's stats over time (stats.jsonl) as an image, like AFL++'s
// afl-plot: cases per second, coverage, corpus size and unique failures against run time. The chart is
// a vega-lite spec compiled to vega and rendered to SVG in Node (no browser, no network).
import type { TopLevelSpec } from 'vega-lite';
import type { StatsRecord } from './stats.js';

/** The panels, top to bottom: field of the long-format rows and its title. */
const PANELS: { series: string; title: string }[] = [
  { series: 'cases/s', title: 'cases per second' },
  { series: 'coverage', title: 'coverage (distinct features)' },
  { series: 'corpus', title: 'corpus size (cases)' },
  { series: 'unique failures', title: 'unique failures (new + known)' },
];

interface Row {
  minutes: number;
  series: string;
  value: number;
  run: string;
}

/** Long-format rows: one per (record, series); `run` tells the runs of a resumed campaign apart. */
export function plotRows(records: readonly StatsRecord[]): Row[] {
  const rows: Row[] = [];
  for (const r of records) {
    const minutes = r.elapsedMs / 60_000;
    const run = `run ${r.run ?? 1}`;
    rows.push(
      { minutes, series: 'cases/s', value: r.casesPerSec, run },
      { minutes, series: 'coverage', value: r.coverage, run },
      { minutes, series: 'corpus', value: r.corpus, run },
      { minutes, series: 'unique failures', value: r.uniqueNew + r.uniqueKnown, run },
    );
  }
  return rows;
}

export function plotSpec(records: readonly StatsRecord[], title: string): TopLevelSpec {
  const rows = plotRows(records);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, anchor: 'start' },
    data: { values: rows },
    vconcat: PANELS.map((p) => ({
      title: p.title,
      width: 640,
      height: 110,
      transform: [{ filter: { field: 'series', equal: p.series } }],
      mark: { type: 'line', interpolate: p.series === 'cases/s' ? 'linear' : 'step-after', point: rows.length < 4 * 40 },
      encoding: {
        x: { field: 'minutes', type: 'quantitative', title: 'run time (minutes)' },
        y: { field: 'value', type: 'quantitative', title: null },
        color: { field: 'run', type: 'nominal', title: null, legend: records.some((r) => (r.run ?? 1) > 1) ? {} : null },
      },
    })),
    config: { font: 'sans-serif' },
  } as TopLevelSpec;
}

/** Render the vega-lite spec to an SVG document. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  // loaded here, not with the CLI: vega and vega-lite take longer to load than a campaign to its first failure
  const [{ compile }, { parse, View }] = await Promise.all([import('vega-lite'), import('vega')]);
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
