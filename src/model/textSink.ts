// Where an op or outcome is written piece by piece: into a string (`show`, messages, kept trace lines) or,
// by the Trace itself, straight into the trace hash without building the text (the hot path). One writer per
// thing described serves both, so the hash always stands for the same text.

export interface TextSink {
  text(s: string): this;
  /** `${n}` */
  dec(n: number): this;
  /** `0x${n.toString(16)}` */
  hex(n: number): this;
}

/** Builds the text. */
export class StringSink implements TextSink {
  private s = '';
  text(s: string): this {
    this.s += s;
    return this;
  }
  dec(n: number): this {
    this.s += String(n);
    return this;
  }
  hex(n: number): this {
    this.s += `0x${n.toString(16)}`;
    return this;
  }
  toString(): string {
    return this.s;
  }
}

/** String(v): a number through dec, anything else as text. */
export function writeValue(t: TextSink, v: unknown): void {
  if (typeof v === 'number') t.dec(v);
  else t.text(String(v));
}
