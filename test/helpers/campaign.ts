// A campaign run into a fresh temporary folder, with what it saved read back: the determinism tests compare
// these across worker counts and batch sizes.
import { join } from 'node:path';
import { type CampaignOptions, type CampaignSummary, runCampaign } from '../../src/fuzz/coordinator.js';
import { filesIn, tempDir } from './tmp.js';

export interface CampaignOutcome {
  summary: CampaignSummary;
  crashesDir: string;
  corpusDir: string;
  /** name -> content of the saved files */
  crashes: Record<string, string>;
  corpus: Record<string, string>;
}

/** Run a campaign (no warnings printed) in its own folder. */
export async function campaignIn(o: Omit<CampaignOptions, 'crashesDir' | 'corpusDir'>): Promise<CampaignOutcome> {
  const root = tempDir();
  const crashesDir = join(root, 'crashes');
  const corpusDir = join(root, 'corpus');
  const summary = await runCampaign({ crashesDir, corpusDir, warn: () => {}, ...o });
  return { summary, crashesDir, corpusDir, crashes: filesIn(crashesDir), corpus: filesIn(corpusDir) };
}

/** The parts of a summary that must not depend on workers, batch size, the main-thread start or timing. */
export function stableSummary(s: CampaignSummary) {
  return {
    cases: s.cases,
    mutated: s.mutated,
    ops: s.ops,
    steps: s.steps,
    failingCases: s.failingCases,
    unique: s.uniqueFailures.map((u) => [u.signature, u.ops, u.caseIndex, u.alternates]),
    duplicates: s.duplicates,
    corpusAdded: s.corpusAdded,
    corpusSeeded: s.corpusSeeded,
    coverage: s.coverage,
    findings: s.findings,
    first: s.firstFailure?.caseIndex,
  };
}
