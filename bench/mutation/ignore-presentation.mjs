// A Stryker ignorer (stryker.config.mjs `ignorers`): mutants inside the text given to the model's trace,
// `*.trace.event(...)` and `*.trace.note(...)`, are reported "Ignored" and left out of the score. That text
// is shown to people (`tdxfuzz show`) and hashed for determinism; no oracle check reads it (the oracle
// sees calls through trace.observer, src/model/trace.ts), so changing it cannot change a verdict.
import { PluginKind, declareValuePlugin } from '@stryker-mutator/api/plugin';

const TEXT_METHODS = new Set(['event', 'note']);

/** @param {import('@babel/core').NodePath} path */
function isTraceText(path) {
  if (!path.isCallExpression()) return false;
  const callee = path.node.callee;
  if (callee.type !== 'MemberExpression' || callee.computed || callee.property.type !== 'Identifier') return false;
  if (!TEXT_METHODS.has(callee.property.name)) return false;
  const obj = callee.object;
  // sys.trace.event(...), this.trace.event(...), trace.event(...)
  if (obj.type === 'Identifier') return obj.name === 'trace';
  return obj.type === 'MemberExpression' && !obj.computed && obj.property.type === 'Identifier' && obj.property.name === 'trace';
}

export const strykerPlugins = [
  declareValuePlugin(PluginKind.Ignore, 'trace-text', {
    shouldIgnore: (path) => (isTraceText(path) ? 'trace text: shown and hashed, never read by the oracle' : undefined),
  }),
];
