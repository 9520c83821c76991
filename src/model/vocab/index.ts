// The one description of the op vocabulary (architecture principle 11): the op table, its field kinds,
// the fault vocabulary, the phases and the workload layout. See table.ts.
export * from './faults.js';
export * from './fields.js';
export * from './layout.js';
export * from './phase.js';
export * from './pick.js';
export * from './table.js';
