// npm run mutation [-- stryker options]: the mutation score of the oracle. Checks that the unmutated
// default campaign passes (a score needs a campaign with no false alarm), runs Stryker
// (stryker.config.mjs) and writes bench/results/mutation-<date>.md with report.ts, printing the score.
// Options after `--` go to `stryker run`, e.g. `--mutate 'src/model/gmem/**/*.ts'`, `--force`, `--concurrency 1`;
// `--unit` runs the unit tests instead of the campaign (stryker.unit.config.mjs; reported apart, no score).
//
// Incremental mode reuses the last run's results for mutants whose code did not change. Stryker only
// diffs the mutated files and the test file, not what the campaign runs (the oracle, the generator,
// the executor), so this script fingerprints those and forces a full run when they changed. A change
// in one model file does not rerun survivors in another: pass --force for an exact figure.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { campaignDesign, checkCase } from './check.js';
import { fingerprint } from './fingerprint.js';
import { scoreLine, writeReport } from './report.js';
import { INCREMENTAL_FILE, MUTATION_TOTAL, MUTATION_SEED, STRYKER_JSON, UNIT_INCREMENTAL_FILE } from './settings.js';

function log(s: string): void {
  process.stderr.write(`mutation: ${s}\n`);
}

function runStryker(config: string, args: string[]): Promise<{ code: number; incremental: string[] }> {
  const bin = join(dirname(createRequire(import.meta.url).resolve('@stryker-mutator/core/package.json')), 'bin', 'stryker.js');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, 'run', config, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    const incremental: string[] = [];
    let buf = '';
    child.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      buf += chunk.toString();
      const m = /Incremental report:([\s\S]*?)\n(?=\S)/.exec(buf);
      if (m && incremental.length === 0) incremental.push(...m[1].split('\n').map((l) => l.trim()).filter(Boolean));
      if (buf.length > 1 << 16) buf = buf.slice(-(1 << 15));
    });
    child.on('exit', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), incremental }));
  });
}

async function main(): Promise<number> {
  const unit = process.argv.includes('--unit');
  const args = process.argv.slice(2).filter((a) => a !== '--unit');
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`usage: npm run mutation [-- stryker-run-options]
Mutates src/model (stryker.config.mjs), kills a mutant when the default campaign (seed ${MUTATION_SEED}, ${MUTATION_TOTAL} cases)
fails a case, and writes bench/results/mutation-<date>.md (score per folder, survivors to classify).
Options go to \`stryker run\`: --mutate 'src/model/gmem/**/*.ts' (a subset), --force (ignore the incremental
file ${INCREMENTAL_FILE}), --concurrency N. Full reports: ${STRYKER_JSON}, reports/mutation/mutation.html.
--unit: run the unit tests of test/model and test/oracle instead (stryker.unit.config.mjs) and write
bench/results/mutation-unit-<date>.md; not part of the score, but the next campaign report marks the
survivors a unit test kills.\n`);
    return 0;
  }
  if (!unit) {
    const t0 = Date.now();
    const design = campaignDesign();
    for (let i = 0; i < MUTATION_TOTAL; i++) {
      const why = checkCase(design, MUTATION_SEED, i);
      if (why) {
        log(`the unmutated model fails the campaign, so no mutant can be judged: ${why.replace(/^killed-by: /, '')}`);
        log(`reproduce with: node dist/bench/mutation/campaign.js`);
        return 1;
      }
    }
    log(`unmutated campaign passes (${MUTATION_TOTAL} cases, ${Date.now() - t0} ms)`);
  }
  const incrementalFile = unit ? UNIT_INCREMENTAL_FILE : INCREMENTAL_FILE;
  const fingerprintFile = join(dirname(incrementalFile), 'fingerprint.txt');
  const fp = fingerprint(unit ? 'unit' : 'campaign');
  const notes: string[] = [];
  const strykerArgs = [...args];
  if (existsSync(incrementalFile) && !args.includes('--force')) {
    const old = existsSync(fingerprintFile) ? readFileSync(fingerprintFile, 'utf8').trim() : '';
    if (old !== fp) {
      log(`the oracle, generator, executor, tests or campaign changed since ${incrementalFile} was written (or it has no fingerprint): running every mutant (--force)`);
      strykerArgs.push('--force');
    }
  }
  const t1 = Date.now();
  const { code, incremental } = await runStryker(unit ? 'stryker.unit.config.mjs' : 'stryker.config.mjs', strykerArgs);
  if (code !== 0) {
    log(`stryker exited ${code}; no report written`);
    return code;
  }
  mkdirSync(dirname(fingerprintFile), { recursive: true });
  writeFileSync(fingerprintFile, `${fp}\n`);
  const min = (Date.now() - t1) / 60_000;
  notes.push(`Stryker ran ${min.toFixed(1)} min (options: ${strykerArgs.join(' ') || 'none'}; concurrency as given, else 2).`);
  if (strykerArgs.includes('--force')) notes.push('Incremental: full run (--force).');
  else if (incremental.length) notes.push(`Incremental (Stryker's summary of results reused from the previous run): ${incremental.join('; ')}`);
  const s = writeReport(unit ? 'unit' : 'campaign', undefined, undefined, notes);
  process.stdout.write(`${scoreLine(s)}\nreport: ${s.path}\n`);
  return 0;
}

main().then((code) => process.exit(code), (e: unknown) => {
  log(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
