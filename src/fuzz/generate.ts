// placeholder, replaced by the real generator in this change
import type { Design } from '../model/config.js';
import type { Case } from './case.js';
export const GENERATOR_VERSION = 1;
export function generateCase(_design: Design, _campaignSeed: number, _index: number): Case {
  throw new Error('generator not written yet');
}
