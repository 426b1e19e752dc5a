/**
 * A fast reader for the plain YAML most configuration files are written in: block mappings
 * with identifier keys, block sequences, one-line scalars (plain, or quoted without escapes)
 * and comments, in printable ASCII. The `yaml` package builds a concrete syntax tree and a
 * Document first, which costs half a second on a 10,000-network file; this reads the same
 * file in milliseconds. Anything outside the subset (anchors, tags, flow collections, block
 * scalars, escapes, multi-line scalars, tabs, duplicate keys, any mistake) answers NOT_PLAIN
 * and the caller parses the text with the `yaml` package, which also words every error: the
 * fast path never changes what a file means, and scalars resolve as YAML 1.2's core schema
 * (the package's default) resolves them.
 */

/** The answer for text outside the subset. */
export const NOT_PLAIN: unique symbol = Symbol('not plain YAML');

/** Thrown inside the reader at the first thing outside the subset; caught at the top. */
class OutsideSubset extends Error {}
const OUTSIDE = new OutsideSubset('outside the plain YAML subset');

const SPACE = 32;
const DASH = 45;
const HASH = 35;
const DOUBLE_QUOTE = 34;
const SINGLE_QUOTE = 39;

/** Anything but a newline and printable ASCII: tabs, carriage returns, byte-order marks, non-ASCII. */
const UNUSUAL_CHARACTER = /[^\n\x20-\x7e]/;
/** Characters a plain scalar may not start with (YAML's indicators). */
const INDICATORS = new Set('-?:,[]{}#&*!|>\'"%@`'.split('').map((c) => c.charCodeAt(0)));
/** Plain scalars the core schema reads as something other than a string (`.inf` and `.nan` forms are left to the package). */
const NULL = /^(?:~|[Nn]ull|NULL)$/;
const BOOLEAN = /^(?:[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const DECIMAL = /^[-+]?[0-9]+$/;
const OCTAL = /^0o[0-7]+$/;
const HEX = /^0x[0-9a-fA-F]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;
const SPECIAL_FLOAT = /^[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)$/;
/** The longest implicit key YAML allows. */
const MAX_KEY = 1024;

/** A plain scalar as the core schema resolves it. */
function resolvePlain(text: string): unknown {
  const first = text.charCodeAt(0);
  if (INDICATORS.has(first) && !(first === DASH && FLOAT.test(text))) throw OUTSIDE;
  if (text.includes(': ') || text.endsWith(':')) throw OUTSIDE;
  if (NULL.test(text)) return null;
  if (BOOLEAN.test(text)) return first === 116 || first === 84;
  if (DECIMAL.test(text)) return parseInt(text, 10);
  if (OCTAL.test(text)) return parseInt(text.slice(2), 8);
  if (HEX.test(text)) return parseInt(text.slice(2), 16);
  if (FLOAT.test(text)) return parseFloat(text);
  if (SPECIAL_FLOAT.test(text)) throw OUTSIDE;
  return text;
}

/** An identifier key and its colon, then a space or the end of the line. */
const KEY = /[A-Za-z_][A-Za-z0-9_-]*:(?= |$)/y;

class PlainReader {
  private line = 0;
  /** Per content line (blank and comment lines left out): its indentation and its text, trimmed. */
  private readonly indents: number[] = [];
  private readonly lines: string[] = [];

  constructor(text: string) {
    for (const raw of text.split('\n')) {
      const content = raw.trim();
      if (content === '' || content.charCodeAt(0) === HASH) continue;
      const indent = raw.indexOf(content.charAt(0));
      // Document markers and directives: the package's business.
      if (indent === 0 && (content.startsWith('---') || content.startsWith('...'))) throw OUTSIDE;
      this.indents.push(indent);
      this.lines.push(content);
    }
  }

  document(): unknown {
    if (this.lines.length === 0) return null;
    const value = this.block(this.indents[0] as number);
    if (this.line < this.lines.length) throw OUTSIDE;
    return value;
  }

  private get indent(): number {
    return this.line < this.lines.length ? (this.indents[this.line] as number) : -1;
  }

  /** Whether the current line is a sequence entry (`-` then a space or nothing). */
  private dashLine(): boolean {
    const content = this.lines[this.line];
    return content !== undefined && content.charCodeAt(0) === DASH && (content.length === 1 || content.charCodeAt(1) === SPACE);
  }

  private block(indent: number): unknown {
    return this.dashLine() ? this.sequence(indent) : this.mapping(indent, 0);
  }

  /** What follows a key or a dash with nothing after it on its line: a deeper block, or null. */
  private nested(indent: number, sameIndentSequence: boolean): unknown {
    if (this.indent > indent) return this.block(this.indent);
    if (sameIndentSequence && this.indent === indent && this.dashLine()) return this.sequence(indent);
    return null;
  }

  private sequence(indent: number): unknown[] {
    const items: unknown[] = [];
    while (this.indent === indent && this.dashLine()) items.push(this.item(indent));
    if (this.indent > indent) throw OUTSIDE;
    return items;
  }

  private item(indent: number): unknown {
    const content = this.lines[this.line] as string;
    let at = 1;
    while (content.charCodeAt(at) === SPACE) at++;
    if (at === content.length || content.charCodeAt(at) === HASH) {
      this.line++;
      return this.nested(indent, false);
    }
    if (keyEnd(content, at) > 0) return this.mapping(indent + at, at);
    const value = scalar(content, at);
    this.line++;
    if (this.indent > indent) throw OUTSIDE;
    return value;
  }

  /** A mapping whose lines sit at `indent`, the first entry starting at `first` on the current line. */
  private mapping(indent: number, first: number): Record<string, unknown> {
    const map: Record<string, unknown> = {};
    for (let at = first; ; at = 0) {
      const content = this.lines[this.line] as string;
      const colon = keyEnd(content, at);
      if (colon === 0 || colon - at > MAX_KEY) throw OUTSIDE;
      const key = content.slice(at, colon);
      // A repeated key is an error, and a key Object.prototype has needs the package's care.
      if (key in map || NULL.test(key) || BOOLEAN.test(key)) throw OUTSIDE;
      let valueAt = colon + 1;
      while (content.charCodeAt(valueAt) === SPACE) valueAt++;
      this.line++;
      if (valueAt === content.length || content.charCodeAt(valueAt) === HASH) map[key] = this.nested(indent, true);
      else {
        map[key] = scalar(content, valueAt);
        if (this.indent > indent) throw OUTSIDE;
      }
      if (this.indent !== indent) return map;
      if (this.dashLine()) throw OUTSIDE;
    }
  }
}

/** Where the identifier key starting at `at` ends (at its colon), or 0 when there is none. */
function keyEnd(content: string, at: number): number {
  KEY.lastIndex = at;
  return KEY.test(content) ? KEY.lastIndex - 1 : 0;
}

/** The scalar written in `content` from `from` on, a comment after it left out. */
function scalar(content: string, from: number): unknown {
  const quote = content.charCodeAt(from);
  if (quote === DOUBLE_QUOTE || quote === SINGLE_QUOTE) {
    const close = content.indexOf(quote === DOUBLE_QUOTE ? '"' : "'", from + 1);
    if (close < 0) throw OUTSIDE;
    const value = content.slice(from + 1, close);
    // Escapes, and a quote doubled inside single quotes, are the package's.
    if (quote === DOUBLE_QUOTE && value.includes('\\')) throw OUTSIDE;
    const rest = content.slice(close + 1);
    if (rest !== '' && !/^ +#/.test(rest)) throw OUTSIDE;
    return value;
  }
  const comment = content.indexOf(' #', from);
  const plain = (comment < 0 ? content.slice(from) : content.slice(from, comment)).trimEnd();
  // Empty flow collections are common enough (`networks: []`) to read here.
  if (plain === '[]') return [];
  if (plain === '{}') return {};
  return resolvePlain(plain);
}

/** The document as plain data, as the `yaml` package would read it, or NOT_PLAIN when the text is outside the subset. */
export function parsePlainYaml(text: string): unknown {
  if (UNUSUAL_CHARACTER.test(text)) return NOT_PLAIN;
  try {
    return new PlainReader(text).document();
  } catch (error) {
    if (error === OUTSIDE) return NOT_PLAIN;
    throw error;
  }
}
