// Case format (docs/case-format.md): design settings, explicit operations with inline faults, the
// expected verdict and provenance; version 2 adds actors, the actor of each op and the schedule. A version 1
// case is one actor that issues every op. Op fields, their ranges and canonical order come from the op table
// (src/model/vocab). A case is data; replay never regenerates it from the seed.
import { readFileSync } from 'node:fs';
import { canonicalDesign, type Design, DesignError, resolveDesign } from '../model/config.js';
import { FAULT_SITES, type FaultSite, type FaultSpec, isSiteFault } from '../model/faults.js';
import { isLeaf, LEAVES } from '../model/tdx/leaf.js';
import { isStatusName } from '../model/tdx/status.js';
import { fnv1a64Hex } from './hash.js';
import type { Op, OpKind } from '../model/ops.js';
import { ACTOR_KINDS, type ActorKind, type FieldSpec, LEAF_ONLY_STATUS, OP_FIELDS, OP_KINDS, OPS } from '../model/vocab/index.js';
import { MAX_ACTORS, MAX_VCPUS, type SchedulePolicy, type Switch } from './schedule.js';

export const CASE_FORMAT = 'tdxfuzz-case';
/** The newest version this tdxfuzz writes; it reads 1 and 2. */
export const CASE_VERSION = 2;

export type { AcceptOp, ConvertOp, Op, OpKind, PunchOp, TouchOp } from '../model/ops.js';
export { OP_FIELDS, OP_KINDS } from '../model/vocab/index.js';

export interface Expect {
  verdict: 'pass' | 'fail';
  /** For `fail`: the signature replay must reproduce. */
  signature?: string;
}

export interface Provenance {
  campaignSeed?: number;
  caseIndex?: number;
  generatorVersion?: number;
  tool?: string;
  /** Ops in the case before minimisation. */
  originalOps?: number;
  note?: string;
}

export interface Case {
  format: typeof CASE_FORMAT;
  version: 1 | 2;
  design: Design;
  /**
   * Version 2: the actors, each op's `actor` an index here. Absent: one actor issues every op, in order
   * (version 1 semantics).
   */
  actors?: ActorKind[];
  /** Version 2: recorded switch points, or a policy a run turns into switch points (see schedule.ts). */
  schedule?: Switch[] | SchedulePolicy;
  ops: Op[];
  expect?: Expect;
  provenance?: Provenance;
}

/** A malformed case: names the file and the field. */
export class CaseError extends Error {
  constructor(readonly file: string, readonly field: string, readonly reason: string) {
    super(`${file}: ${field}: ${reason}`);
  }
}

function isObj(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function int(v: unknown, file: string, field: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new CaseError(file, field, 'must be an integer');
  if (v < min || v > max) throw new CaseError(file, field, `must be from ${min} to ${max}`);
  return v;
}

function parseFaults(raw: unknown, file: string, field: string): FaultSpec[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) throw new CaseError(file, field, 'must be an array');
  return raw.map((f, i): FaultSpec => {
    const ff = `${field}[${i}]`;
    if (!isObj(f)) throw new CaseError(file, ff, 'must be an object {leaf, nth, status} or {site, nth}');
    if (f.site !== undefined) {
      for (const k of Object.keys(f)) if (!['site', 'nth'].includes(k)) throw new CaseError(file, `${ff}.${k}`, 'unknown field for a site fault');
      if (typeof f.site !== 'string' || !(FAULT_SITES as readonly string[]).includes(f.site)) {
        throw new CaseError(file, `${ff}.site`, `must be one of ${FAULT_SITES.join(', ')}`);
      }
      return { site: f.site as FaultSite, nth: int(f.nth, file, `${ff}.nth`, 1, 1_000_000) };
    }
    for (const k of Object.keys(f)) if (!['leaf', 'nth', 'status', 'every'].includes(k)) throw new CaseError(file, `${ff}.${k}`, 'unknown field');
    if (f.every !== undefined && f.every !== true) throw new CaseError(file, `${ff}.every`, 'must be true when present (every later call fails too)');
    if (typeof f.leaf !== 'string' || !isLeaf(f.leaf)) throw new CaseError(file, `${ff}.leaf`, `must be one of ${LEAVES.join(', ')}`);
    const nth = int(f.nth, file, `${ff}.nth`, 1, 1_000_000);
    if (typeof f.status !== 'string' || !isStatusName(f.status) || f.status === 'TDX_SUCCESS') {
      throw new CaseError(file, `${ff}.status`, 'must be a TDX status name such as TDX_OPERAND_BUSY');
    }
    const only = LEAF_ONLY_STATUS[f.status];
    if (only && f.leaf !== only) throw new CaseError(file, `${ff}.status`, `${f.status} is only returned by ${only}`);
    return f.every ? { leaf: f.leaf, nth, status: f.status, every: true } : { leaf: f.leaf, nth, status: f.status };
  });
}

/** One field of an op, by the kind the op table gives it. */
function parseField(spec: FieldSpec, raw: Record<string, unknown>, out: Record<string, unknown>, file: string, field: string, gfns: number): void {
  switch (spec.kind) {
    case 'gfn':
      out.gfn = int(raw.gfn, file, `${field}.gfn`, 0, gfns - 1);
      return;
    case 'range':
      out.start = int(raw.start, file, `${field}.start`, 0, gfns);
      out.end = int(raw.end, file, `${field}.end`, 0, gfns);
      return;
    case 'enum': {
      const v = raw[spec.name];
      if (spec.default !== undefined && (v === undefined || v === spec.default)) return; // absent means the default
      if (typeof v !== 'string' || !spec.values.includes(v)) throw new CaseError(file, `${field}.${spec.name}`, `must be ${spec.values.map((x) => JSON.stringify(x)).join(' or ')}`);
      out[spec.name] = v;
      return;
    }
    case 'token':
      if (spec.optional !== undefined && raw[spec.name] === undefined) return;
      out[spec.name] = int(raw[spec.name], file, `${field}.${spec.name}`, 1, spec.max(gfns));
      return;
    case 'count':
      out[spec.name] = int(raw[spec.name], file, `${field}.${spec.name}`, spec.min, spec.max);
      return;
  }
}

function parseOp(raw: unknown, file: string, field: string, gfns: number, actors: ActorKind[] | undefined): Op {
  if (!isObj(raw)) throw new CaseError(file, field, 'must be an object');
  const kind = raw.op;
  if (typeof kind !== 'string' || !(OP_KINDS as string[]).includes(kind)) {
    throw new CaseError(file, `${field}.op`, `must be one of ${OP_KINDS.join(', ')}`);
  }
  const k = kind as OpKind;
  for (const key of Object.keys(raw)) {
    if (key === 'actor' && actors) continue;
    if (key !== 'op' && key !== 'faults' && !OP_FIELDS[k].includes(key)) throw new CaseError(file, `${field}.${key}`, key === 'actor' ? 'ops name an actor only in a case with "actors" (version 2)' : `unknown field for op ${k}`);
  }
  const faults = parseFaults(raw.faults, file, `${field}.faults`);
  const out: Record<string, unknown> = { op: k };
  for (const spec of OPS[k].fields) parseField(spec, raw, out, file, field, gfns);
  if (faults && faults.length) out.faults = faults;
  if (actors) {
    const want = OPS[k].actor;
    // an op without `actor` goes to the first actor of its kind
    const a = raw.actor === undefined ? actors.indexOf(want) : int(raw.actor, file, `${field}.actor`, 0, actors.length - 1);
    if (a < 0) throw new CaseError(file, `${field}.actor`, `op ${k} is issued by a ${want} actor and the case has none`);
    if (actors[a] !== want) throw new CaseError(file, `${field}.actor`, `op ${k} is issued by a ${want} actor, not by actor ${a} (${actors[a]})`);
    out.actor = a;
  }
  return out as unknown as Op;
}

function parseActors(raw: unknown, file: string): ActorKind[] {
  if (!Array.isArray(raw) || raw.length < 1 || raw.length > MAX_ACTORS) throw new CaseError(file, 'actors', `must be an array of 1 to ${MAX_ACTORS} actor kinds`);
  const out = raw.map((a, i) => {
    if (typeof a !== 'string' || !(ACTOR_KINDS as readonly string[]).includes(a)) throw new CaseError(file, `actors[${i}]`, `must be one of ${ACTOR_KINDS.join(', ')}`);
    return a as ActorKind;
  });
  if (out.filter((a) => a === 'vcpu').length > MAX_VCPUS) throw new CaseError(file, 'actors', `at most ${MAX_VCPUS} vcpu actors`);
  return out;
}

function parseSchedule(raw: unknown, file: string, actors: number): Switch[] | SchedulePolicy {
  if (Array.isArray(raw)) {
    let last = -1;
    return raw.map((s, i) => {
      const f = `schedule[${i}]`;
      if (!isObj(s)) throw new CaseError(file, f, 'must be an object {step, to}');
      for (const k of Object.keys(s)) if (k !== 'step' && k !== 'to') throw new CaseError(file, `${f}.${k}`, 'unknown field');
      const step = int(s.step, file, `${f}.step`, 0, Number.MAX_SAFE_INTEGER);
      if (step <= last) throw new CaseError(file, `${f}.step`, 'switch steps must increase');
      last = step;
      return { step, to: int(s.to, file, `${f}.to`, 0, actors - 1) };
    });
  }
  if (!isObj(raw)) throw new CaseError(file, 'schedule', 'must be a list of switches [{step, to}] or a policy {kind: "pct" | "random", ...}');
  const keys = raw.kind === 'pct' ? ['kind', 'seed', 'depth', 'horizon'] : raw.kind === 'random' ? ['kind', 'seed', 'mean'] : null;
  if (!keys) throw new CaseError(file, 'schedule.kind', 'must be "pct" or "random"');
  for (const k of Object.keys(raw)) if (!keys.includes(k)) throw new CaseError(file, `schedule.${k}`, `unknown field for a ${raw.kind} schedule`);
  const seed = int(raw.seed, file, 'schedule.seed', 0, 0xffffffff);
  if (raw.kind === 'pct') return { kind: 'pct', seed, depth: int(raw.depth, file, 'schedule.depth', 1, 64), horizon: int(raw.horizon, file, 'schedule.horizon', 1, 10_000_000) };
  return { kind: 'random', seed, mean: int(raw.mean, file, 'schedule.mean', 1, 1_000_000) };
}

const PROVENANCE_FIELDS: Record<keyof Provenance, 'int' | 'string'> = {
  campaignSeed: 'int',
  caseIndex: 'int',
  generatorVersion: 'int',
  tool: 'string',
  originalOps: 'int',
  note: 'string',
};

function parseProvenance(raw: unknown, file: string): Provenance {
  if (!isObj(raw)) throw new CaseError(file, 'provenance', 'must be an object');
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) {
    const kind = (PROVENANCE_FIELDS as Record<string, 'int' | 'string'>)[k];
    if (!kind) throw new CaseError(file, `provenance.${k}`, `unknown field (known: ${Object.keys(PROVENANCE_FIELDS).join(', ')})`);
    if (kind === 'int') out[k] = int(v, file, `provenance.${k}`, 0, Number.MAX_SAFE_INTEGER);
    else if (typeof v !== 'string') throw new CaseError(file, `provenance.${k}`, 'must be a string');
    else out[k] = v;
  }
  return out as Provenance;
}

/** Validate parsed JSON as a version 1 or 2 case; throws CaseError naming the field. */
export function parseCase(raw: unknown, file = '<case>'): Case {
  if (!isObj(raw)) throw new CaseError(file, '(top level)', 'must be a JSON object');
  for (const k of Object.keys(raw)) {
    if (!['format', 'version', 'design', 'actors', 'schedule', 'ops', 'expect', 'provenance'].includes(k)) throw new CaseError(file, k, 'unknown field');
  }
  if (raw.format !== CASE_FORMAT) throw new CaseError(file, 'format', `must be "${CASE_FORMAT}"`);
  if (raw.version !== 1 && raw.version !== 2) {
    throw new CaseError(file, 'version', `unsupported case format version ${JSON.stringify(raw.version)}; this tdxfuzz reads versions 1 and 2`);
  }
  if (raw.version === 1 && (raw.actors !== undefined || raw.schedule !== undefined)) throw new CaseError(file, raw.actors !== undefined ? 'actors' : 'schedule', 'needs case format version 2');
  if (raw.schedule !== undefined && raw.actors === undefined) throw new CaseError(file, 'schedule', 'a schedule needs "actors"');
  const actors = raw.actors === undefined ? undefined : parseActors(raw.actors, file);
  let design: Design;
  try {
    design = resolveDesign(raw.design ?? {}, 'design');
  } catch (e) {
    if (e instanceof DesignError) throw new CaseError(file, e.field, e.message);
    throw e;
  }
  if (!Array.isArray(raw.ops)) throw new CaseError(file, 'ops', 'must be an array of operations');
  const gfns = design.ptrs * design.regions;
  const ops = raw.ops.map((o, i) => parseOp(o, file, `ops[${i}]`, gfns, actors));
  const c: Case = { format: CASE_FORMAT, version: raw.version, design, ops };
  if (actors) {
    c.actors = actors;
    if (raw.schedule !== undefined) c.schedule = parseSchedule(raw.schedule, file, actors.length);
  }
  if (raw.expect !== undefined) {
    const e = raw.expect;
    if (!isObj(e)) throw new CaseError(file, 'expect', 'must be an object {verdict, signature}');
    for (const k of Object.keys(e)) if (!['verdict', 'signature'].includes(k)) throw new CaseError(file, `expect.${k}`, 'unknown field');
    if (e.verdict !== 'pass' && e.verdict !== 'fail') throw new CaseError(file, 'expect.verdict', 'must be "pass" or "fail"');
    if (e.verdict === 'fail' && typeof e.signature !== 'string') throw new CaseError(file, 'expect.signature', 'a failing case must record its signature');
    if (e.verdict === 'pass' && e.signature !== undefined) throw new CaseError(file, 'expect.signature', 'a passing case has no signature');
    c.expect = e.verdict === 'fail' ? { verdict: 'fail', signature: e.signature as string } : { verdict: 'pass' };
  }
  if (raw.provenance !== undefined) c.provenance = parseProvenance(raw.provenance, file);
  return c;
}

/** Read and validate a case file. Throws CaseError (with the file name) for unreadable or bad files. */
export function loadCase(file: string): Case {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CaseError(file, '(file)', `cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CaseError(file, '(file)', `not valid JSON: ${(e as Error).message}`);
  }
  return parseCase(json, file);
}

function canonicalOp(o: Op): Op {
  const out: Record<string, unknown> = { op: o.op };
  if (o.actor !== undefined) out.actor = o.actor;
  for (const k of OP_FIELDS[o.op]) {
    const v = (o as unknown as Record<string, unknown>)[k];
    if (v !== undefined) out[k] = v;
  }
  if (o.faults && o.faults.length) {
    out.faults = o.faults.map((f) =>
      isSiteFault(f) ? { site: f.site, nth: f.nth } : f.every ? { leaf: f.leaf, nth: f.nth, status: f.status, every: true } : { leaf: f.leaf, nth: f.nth, status: f.status },
    );
  }
  return out as unknown as Op;
}

function stripActor(o: Op): Op {
  if (o.actor === undefined) return o;
  const { actor: _a, ...rest } = o;
  return rest as Op;
}

/** The case with a fixed key order, so equal cases serialise to equal bytes; one-actor cases stay version 1. */
export function canonicalCase(c: Case): Case {
  const multi = c.actors !== undefined;
  const out: Case = { format: CASE_FORMAT, version: multi ? 2 : 1, design: canonicalDesign(c.design), ops: c.ops.map((o) => canonicalOp(multi ? o : stripActor(o))) };
  if (multi) {
    out.actors = [...c.actors!];
    if (c.schedule !== undefined) out.schedule = Array.isArray(c.schedule) ? c.schedule.map((s) => ({ step: s.step, to: s.to })) : { ...c.schedule };
  }
  if (c.expect) out.expect = c.expect.verdict === 'fail' ? { verdict: 'fail', signature: c.expect.signature } : { verdict: 'pass' };
  if (c.provenance) out.provenance = c.provenance;
  return out;
}

/** One op per line: diff-friendly and still valid JSON. */
export function serializeCase(c: Case): string {
  const k = canonicalCase(c);
  const head = { format: k.format, version: k.version, design: k.design };
  const lines = [
    '{',
    `  "format": ${JSON.stringify(head.format)},`,
    `  "version": ${head.version},`,
    `  "design": ${JSON.stringify(head.design)},`,
    ...(k.actors ? [`  "actors": ${JSON.stringify(k.actors)},`] : []),
    ...(k.schedule !== undefined ? [`  "schedule": ${JSON.stringify(k.schedule)},`] : []),
    `  "ops": [${k.ops.length ? '\n' + k.ops.map((o) => `    ${JSON.stringify(o)}`).join(',\n') + '\n  ' : ''}]` +
      (k.expect || k.provenance ? ',' : ''),
  ];
  if (k.expect) lines.push(`  "expect": ${JSON.stringify(k.expect)}` + (k.provenance ? ',' : ''));
  if (k.provenance) lines.push(`  "provenance": ${JSON.stringify(k.provenance)}`);
  lines.push('}');
  return lines.join('\n') + '\n';
}

/** Identity of what a case does (design, actors, schedule and ops), independent of expect and provenance. */
export function caseId(c: Case): string {
  const k = canonicalCase(c);
  return fnv1a64Hex(JSON.stringify(k.actors ? { design: k.design, actors: k.actors, schedule: k.schedule, ops: k.ops } : { design: k.design, ops: k.ops }));
}

export function faultsOf(c: Case): number {
  let n = 0;
  for (const o of c.ops) n += o.faults?.length ?? 0;
  return n;
}
