// tdxfuzz plot: draw a campaign folder's stats.jsonl (cases/s, coverage, corpus size, unique failures over
// run time) as an SVG image.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { campaignLayout, readCampaignState } from '../fuzz/campaignState.js';
import { plotSpec, renderSvg } from '../fuzz/plot.js';
import { readStats } from '../fuzz/stats.js';
import { writeFileAtomic } from '../fuzz/store.js';
import { EXIT_OK, UsageError } from './common.js';
import { DEFAULT_OUT } from './fuzz.js';

interface PlotOptions {
  output?: string;
  spec?: boolean;
}

async function plot(dir: string, o: PlotOptions): Promise<void> {
  if (!statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`${dir}: not a campaign folder (no such directory)`);
  const l = campaignLayout(dir);
  if (!existsSync(l.stats)) throw new UsageError(`${l.stats}: no stats file (a campaign writes it every 5 s: tdxfuzz fuzz --out ${dir})`);
  const { records, skipped } = readStats(l.stats);
  if (skipped > 0) process.stderr.write(`tdxfuzz: warning: ${l.stats}: ${skipped} line(s) that do not parse were skipped\n`);
  if (records.length === 0) throw new UsageError(`${l.stats}: no stats records yet`);
  const state = existsSync(l.state) ? readCampaignState(l.state) : null;
  const id = state?.identity;
  const title = id ? `tdxfuzz campaign ${dir}: seed ${id.seed}${id.shard ? `, shard ${id.shard.index}/${id.shard.count}` : ''}, guards off: ${id.design.guardsOff.join(',') || 'none'}` : `tdxfuzz campaign ${dir}`;
  const spec = plotSpec(records, title);
  if (o.spec) {
    process.stdout.write(JSON.stringify(spec, null, 1) + '\n');
    return;
  }
  const file = o.output ?? join(dir, 'stats.svg');
  writeFileAtomic(file, await renderSvg(spec));
  process.stdout.write(`${file}: ${records.length} samples over ${(records.at(-1)!.elapsedMs / 60_000).toFixed(1)} minutes\n`);
  process.exitCode = EXIT_OK;
}

export function registerPlot(program: Command): void {
  program
    .command('plot')
    .summary("draw a campaign's stats over time as an SVG image")
    .description(
      [
        'Read DIR/stats.jsonl (a record every 5 s of the campaign, AFL++\'s plot_data) and draw cases per second, coverage, ' +
          'corpus size and unique failures (new and known) against run time, one panel each, as an SVG image (vega-lite, rendered offline). ' +
          'The runs of a resumed campaign have their own colours.',
        'Exit code: 0, or 2 if DIR is not a campaign folder or has no stats yet.',
      ].join('\n\n'),
    )
    .argument('[dir]', 'campaign folder (the --out of tdxfuzz fuzz)', DEFAULT_OUT)
    .option('-o, --output <file>', 'where to write the SVG (default: DIR/stats.svg)')
    .option('--spec', 'print the vega-lite specification (JSON) instead of rendering it')
    .action((dir: string, o: PlotOptions) => plot(dir, o));
}
