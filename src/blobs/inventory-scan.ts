/**
 * Reads an inventory file into an Inventory a chunk at a time, without a string per digest and
 * without the whole file in memory (a 1,000,000-digest file is 73 MiB; its table is 49): the
 * text form line by line, the JSON forms (a list, or an object of lists by bucket, which is
 * what `sync` writes) by a token machine over the bytes, which finds a digest's closing quote
 * without searching for it. Anything else, including any mistake, answers false and the caller re-reads the
 * file with the string parser, which accepts every valid file (escapes, odd whitespace) and
 * words the error, so the fast path never changes what a file means.
 */
import { open } from 'node:fs/promises';
import { EVERY_BUCKET } from './digest-table.js';
import type { Inventory } from './inventory-set.js';

const CHUNK_BYTES = 1 << 20;
const NEWLINE = 10;
const QUOTE = 34;
const HASH = 35;
const BACKSLASH = 92;

/** Space, tab, carriage return, newline: JSON's whitespace (and what lines are trimmed of). */
function isSpace(code: number | undefined): boolean {
  return code === 32 || code === 9 || code === 13 || code === 10;
}

/* Where the JSON machine is: what the next token may be. */
const DOCUMENT = 0;
const FIRST_KEY = 1;
const KEY = 2;
const COLON = 3;
const LIST = 4;
const FIRST_ITEM = 5;
const ITEM = 6;
const ITEM_END = 7;
const KEY_END = 8;
const NOTHING = 9;
const NONE = -1;

/** Reads a chunk's bytes; answers where it stopped (the start of a line or token the chunk cut), `ok` false once the file is not one it takes. */
interface ChunkScanner {
  ok: boolean;
  scan(bytes: Buffer, from: number, end: number, last: boolean): number;
  /** Whether the file ended where a whole document does. */
  finished(): boolean;
}

/** The text form: one digest per line, blank lines and `#` comments skipped. */
class TextScanner implements ChunkScanner {
  ok = true;

  constructor(private readonly into: Inventory) {}

  scan(bytes: Buffer, from: number, end: number, last: boolean): number {
    let start = from;
    for (let newline = bytes.indexOf(NEWLINE, start); newline >= 0 && newline < end && this.ok; newline = bytes.indexOf(NEWLINE, start)) {
      this.line(bytes, start, newline);
      start = newline + 1;
    }
    if (last && this.ok && start < end) this.line(bytes, start, end);
    return last ? end : start;
  }

  finished(): boolean {
    return this.ok;
  }

  private line(bytes: Buffer, start: number, end: number): void {
    let from = start;
    let to = end;
    while (from < to && isSpace(bytes[from])) from++;
    while (to > from && isSpace(bytes[to - 1])) to--;
    if (from < to && bytes[from] !== HASH && !this.into.addBytes(bytes, from, to, EVERY_BUCKET)) this.ok = false;
  }
}

/** A sha256 digest's closing quote is this far from its opening one. */
const SHA256_QUOTED = 72;

/** The JSON forms, token by token: a list of digests, or an object of such lists by bucket. */
class JsonScanner implements ChunkScanner {
  ok = true;
  private expect = DOCUMENT;
  private inObject = false;
  private tag = EVERY_BUCKET;
  private readonly seen = new Set<string>();

  constructor(private readonly into: Inventory) {}

  scan(bytes: Buffer, from: number, end: number, last: boolean): number {
    let at = from;
    while (at < end && this.ok) {
      const code = bytes[at] as number;
      if (isSpace(code)) at++;
      else if (code !== QUOTE) {
        this.token(code);
        at++;
      } else {
        const close = this.closingQuote(bytes, at, end);
        // A string the chunk cut: read again with the next chunk, or, at the end, never closed.
        if (close < 0) {
          this.ok = this.ok && !last;
          return at;
        }
        this.text(bytes, at + 1, close);
        at = close + 1;
      }
    }
    return at;
  }

  finished(): boolean {
    return this.ok && this.expect === NOTHING;
  }

  /**
   * Where the string opened at `at` closes, or -1 when not before `end`. An item's quote is
   * first looked for where a sha256 digest ends: a quote there that is not the closing one
   * leaves a text that is no digest, which the caller refuses, so the shortcut cannot misread.
   */
  private closingQuote(bytes: Buffer, at: number, end: number): number {
    const item = this.expect === FIRST_ITEM || this.expect === ITEM;
    if (item && at + SHA256_QUOTED < end && bytes[at + SHA256_QUOTED] === QUOTE) return at + SHA256_QUOTED;
    const close = bytes.indexOf(QUOTE, at + 1);
    return close < 0 || close >= end ? -1 : close;
  }

  private text(bytes: Buffer, from: number, to: number): void {
    if (this.expect === FIRST_ITEM || this.expect === ITEM) {
      this.ok = this.into.addBytes(bytes, from, to, this.tag);
      this.expect = ITEM_END;
    } else if ((this.expect === FIRST_KEY || this.expect === KEY) && plainKey(bytes, from, to)) {
      const key = bytes.toString('utf8', from, to);
      // JSON.parse keeps a repeated key's last list only: leave that to it.
      this.ok = !this.seen.has(key);
      this.seen.add(key);
      this.tag = this.into.tagFor(key);
      this.expect = COLON;
    } else this.ok = false;
  }

  private token(code: number): void {
    const now = this.expect;
    let next = NONE;
    if (code === 91) next = now === DOCUMENT || now === LIST ? FIRST_ITEM : NONE;
    else if (code === 123 && now === DOCUMENT) {
      this.inObject = true;
      next = FIRST_KEY;
    } else if (code === 58) next = now === COLON ? LIST : NONE;
    else if (code === 44) next = now === ITEM_END ? ITEM : now === KEY_END ? KEY : NONE;
    else if (code === 93) next = now === FIRST_ITEM || now === ITEM_END ? (this.inObject ? KEY_END : NOTHING) : NONE;
    else if (code === 125) next = now === FIRST_KEY || now === KEY_END ? NOTHING : NONE;
    if (next === NONE) this.ok = false;
    else this.expect = next;
  }
}

/** No escape and no control character (which JSON refuses unescaped). */
function plainKey(bytes: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if ((bytes[i] as number) < 32 || bytes[i] === BACKSLASH) return false;
  return true;
}

/** The scanner for the form the first byte that is not a space says (or none yet). */
function scannerFor(bytes: Buffer, from: number, end: number, into: Inventory): ChunkScanner | undefined {
  let at = from;
  while (at < end && isSpace(bytes[at])) at++;
  if (at === end) return undefined;
  return bytes[at] === 91 || bytes[at] === 123 ? new JsonScanner(into) : new TextScanner(into);
}

/** Scans the file at `path` into `into`; false when the string parser must read it instead. */
export async function scanInventoryFile(path: string, into: Inventory): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    let scanner: ChunkScanner | undefined;
    let buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let held = 0;
    let first = true;
    for (;;) {
      // A line or string longer than the buffer grows it.
      if (held === buffer.length) buffer = Buffer.concat([buffer, Buffer.allocUnsafe(buffer.length)]);
      const { bytesRead } = await file.read(buffer, held, buffer.length - held, null);
      const end = held + bytesRead;
      // Editors on Windows may prepend a byte-order mark.
      let start = first && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf ? 3 : 0;
      first = false;
      scanner ??= scannerFor(buffer, start, end, into);
      const last = bytesRead === 0;
      start = scanner === undefined ? end : scanner.scan(buffer, start, end, last);
      if (last || scanner?.ok === false) return scanner === undefined || scanner.finished();
      buffer.copy(buffer, 0, start, end);
      held = end - start;
    }
  } finally {
    await file.close();
  }
}
