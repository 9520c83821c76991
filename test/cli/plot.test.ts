// tdxfuzz plot: a campaign folder's stats.jsonl drawn as SVG (vega-lite rendered by vega in Node, offline).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compile } from 'vega-lite';
import type { StatsRecord } from '../../src/fuzz/stats.js';
import { plotRows } from '../../src/fuzz/plot.js';
import { tdxfuzz } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

function record(i: number, run: number): StatsRecord {
  return { time: 0, elapsedMs: i * 5000, cases: i * 1000, casesPerSec: 200 + i, coverage: 100 + i, corpus: 10 + i, uniqueNew: i >> 2, uniqueKnown: 1, failingCases: i * 3, minimizing: 0, rss: 1e8, run };
}

describe('tdxfuzz plot', () => {
  it('draws cases/s, coverage, corpus size and unique failures over run time as SVG; a cut last line is skipped with a warning', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'c'));
    const lines = [...Array.from({ length: 12 }, (_, i) => record(i, 1)), ...Array.from({ length: 6 }, (_, i) => record(12 + i, 2))].map((r) => JSON.stringify(r));
    writeFileSync(join(dir, 'c', 'stats.jsonl'), lines.join('\n') + '\n{"time":12');
    const r = tdxfuzz(['plot', 'c'], dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('c/stats.svg: 18 samples over 1.4 minutes\n');
    expect(r.stderr).toContain('1 line(s) that do not parse were skipped');
    const svg = readFileSync(join(dir, 'c', 'stats.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    for (const t of ['cases per second', 'coverage (distinct features)', 'corpus size (cases)', 'unique failures (new + known)', 'run time (minutes)', 'run 1', 'run 2']) expect(svg).toContain(t);
    // one line per panel and run: 4 panels x 2 runs
    expect(svg.match(/<path[^>]*aria-roledescription="line mark"/g)?.length ?? svg.match(/class="mark-line role-mark/g)?.length).toBe(8);
  });

  it('--spec prints the vega-lite specification, which compiles, with one row per sample and series', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'c'));
    writeFileSync(join(dir, 'c', 'stats.jsonl'), [record(0, 1), record(1, 1)].map((r) => JSON.stringify(r)).join('\n') + '\n');
    const r = tdxfuzz(['plot', 'c', '--spec'], dir);
    const spec = JSON.parse(r.stdout);
    expect(() => compile(spec)).not.toThrow();
    expect(spec.data.values).toEqual(plotRows([record(0, 1), record(1, 1)]));
    expect(spec.data.values).toHaveLength(8);
  });

  it('a folder without stats is exit 2 naming the file', () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'c'));
    const r = tdxfuzz(['plot', 'c'], dir);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('tdxfuzz: error: c/stats.jsonl: no stats file (a campaign writes it every 5 s: tdxfuzz fuzz --out c)\n');
  });
});
