// Stryker's buildCommand for `npm run mutation` (plain JS: it runs in the sandbox before anything is
// compiled, and Stryker runs the command without a shell).
// 1. Compiles the instrumented sources without type checking (Stryker's mutant switches do not type-check).
// 2. Turns Stryker's per-mutant coverage counter into a no-op in the compiled model. The command runner
//    cannot read coverage (the campaign is another process; coverageAnalysis is "off"), so the counting is
//    pure cost: it made the campaign ~1.6x slower (4.0 s -> 2.5 s user time for 1500 cases, all of
//    src/model instrumented). Mutant switching (stryMutAct_9fa48, __STRYKER_ACTIVE_MUTANT__) is untouched.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** The coverage function as @stryker-mutator/instrumenter 9.6.1 (exact-pinned) declares it in each file. */
const HEADER = 'function stryCov_9fa48() {\n';
const NOOP = 'function stryCov_9fa48() {}\nfunction stryCovUnused_9fa48() {\n';
const SWITCH = 'function stryMutAct_9fa48(';

function fail(msg) {
  process.stderr.write(`bench/mutation/sandbox-build: ${msg}\n`);
  process.exit(2);
}

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const build = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--noCheck'], { stdio: 'inherit' });
if (build.status !== 0) fail(`tsc -p tsconfig.json --noCheck exited ${build.status ?? build.signal}`);

function jsFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...jsFiles(p));
    else if (name.endsWith('.js')) out.push(p);
  }
  return out;
}

let stripped = 0;
for (const file of jsFiles('dist/src')) {
  const text = readFileSync(file, 'utf8');
  if (!text.includes(SWITCH)) continue; // not instrumented
  const at = text.indexOf(HEADER);
  if (at < 0 || text.indexOf(HEADER, at + 1) >= 0) fail(`${file}: expected one "${HEADER.trim()}" in an instrumented file (did Stryker's instrumenter change?)`);
  writeFileSync(file, text.slice(0, at) + NOOP + text.slice(at + HEADER.length));
  stripped++;
}
if (stripped === 0) fail('no Stryker-instrumented .js file under dist/src: run this as Stryker\'s buildCommand only');
process.stdout.write(`sandbox-build: compiled; coverage counting off in ${stripped} instrumented file(s)\n`);
