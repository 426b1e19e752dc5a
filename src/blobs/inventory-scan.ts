/**
 * Reads an inventory file's bytes straight into an Inventory, without a string per digest:
 * the text form line by line, the JSON forms (a list, or an object of lists by bucket, which
 * is what `sync` writes) by a scanner for exactly those shapes. Anything else, including any
 * mistake, answers false and the caller re-reads the file with the string parser, which
 * accepts every valid file (escapes, odd whitespace) and words the error, so the fast path
 * never changes what a file means.
 */
import { EVERY_BUCKET } from './digest-table.js';
import type { Inventory } from './inventory-set.js';

const NEWLINE = 10;
const QUOTE = 34;
const HASH = 35;
const COMMA = 44;
const COLON = 58;
const OPEN_LIST = 91;
const CLOSE_LIST = 93;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;
const BACKSLASH = 92;

/** No escape and no control character (which JSON refuses unescaped). */
function plainKey(bytes: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if ((bytes[i] as number) < 32 || bytes[i] === BACKSLASH) return false;
  return true;
}

/** Space, tab, carriage return, newline: JSON's whitespace (and what lines are trimmed of). */
function isSpace(code: number | undefined): boolean {
  return code === 32 || code === 9 || code === 13 || code === 10;
}

export function scanInventory(bytes: Buffer, into: Inventory): boolean {
  // Editors on Windows may prepend a byte-order mark.
  let start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  let first = start;
  while (first < bytes.length && isSpace(bytes[first])) first++;
  if (bytes[first] === OPEN_LIST || bytes[first] === OPEN_OBJECT) return new JsonScan(bytes, into, first).document();
  for (; start < bytes.length; ) {
    let end = bytes.indexOf(NEWLINE, start);
    if (end < 0) end = bytes.length;
    let from = start;
    let to = end;
    while (from < to && isSpace(bytes[from])) from++;
    while (to > from && isSpace(bytes[to - 1])) to--;
    if (from < to && bytes[from] !== HASH && !into.addBytes(bytes, from, to, EVERY_BUCKET)) return false;
    start = end + 1;
  }
  return true;
}

class JsonScan {
  private readonly seen = new Set<string>();

  constructor(
    private readonly bytes: Buffer,
    private readonly into: Inventory,
    private at: number,
  ) {}

  document(): boolean {
    const ok = this.bytes[this.at] === OPEN_LIST ? this.list(EVERY_BUCKET) : this.object();
    return ok && this.skip() === this.bytes.length;
  }

  private skip(): number {
    while (this.at < this.bytes.length && isSpace(this.bytes[this.at])) this.at++;
    return this.at;
  }

  /** At `[`: a list of digests, each added with `tag`. */
  private list(tag: number): boolean {
    this.at++;
    if (this.bytes[this.skip()] === CLOSE_LIST) {
      this.at++;
      return true;
    }
    for (;;) {
      if (this.bytes[this.skip()] !== QUOTE) return false;
      const end = this.bytes.indexOf(QUOTE, this.at + 1);
      // A digest has no escapes: a backslash before the quote fails the digest check.
      if (end < 0 || !this.into.addBytes(this.bytes, this.at + 1, end, tag)) return false;
      this.at = end + 1;
      const next = this.bytes[this.skip()];
      this.at++;
      if (next === CLOSE_LIST) return true;
      if (next !== COMMA) return false;
    }
  }

  /** At `{`: bucket names mapping to lists. */
  private object(): boolean {
    this.at++;
    if (this.bytes[this.skip()] === CLOSE_OBJECT) {
      this.at++;
      return true;
    }
    for (;;) {
      const name = this.key();
      if (name === undefined || this.bytes[this.skip()] !== COLON) return false;
      this.at++;
      if (this.bytes[this.skip()] !== OPEN_LIST || !this.list(this.into.tagFor(name))) return false;
      const next = this.bytes[this.skip()];
      this.at++;
      if (next === CLOSE_OBJECT) return true;
      if (next !== COMMA) return false;
    }
  }

  /** A bucket name without escapes, seen once (JSON.parse would keep only a repeat's last list). */
  private key(): string | undefined {
    if (this.bytes[this.skip()] !== QUOTE) return undefined;
    const end = this.bytes.indexOf(QUOTE, this.at + 1);
    if (end < 0 || !plainKey(this.bytes, this.at + 1, end)) return undefined;
    const name = this.bytes.toString('utf8', this.at + 1, end);
    if (this.seen.has(name)) return undefined;
    this.seen.add(name);
    this.at = end + 1;
    return name;
  }
}
