/**
 * Reads an inventory file into an Inventory a chunk at a time, without a string per digest and
 * without the whole file in memory (a 1,000,000-digest file is 73 MiB; its table is 51): the
 * text form line by line, the JSON forms (a list, or an object of lists by bucket, which is
 * what `sync` writes) by a token machine fed line by line, since a JSON string holds no raw
 * newline. Anything else, including any mistake, answers false and the caller re-reads the
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

/** One line at a time, the text form or a JSON machine; `ok` false once the file is not one it takes. */
class LineScanner {
  ok = true;
  private form: 'unknown' | 'text' | 'json' = 'unknown';
  private expect = DOCUMENT;
  private inObject = false;
  private tag = EVERY_BUCKET;
  private readonly seen = new Set<string>();

  constructor(private readonly into: Inventory) {}

  line(bytes: Buffer, start: number, end: number): void {
    let from = start;
    let to = end;
    while (from < to && isSpace(bytes[from])) from++;
    while (to > from && isSpace(bytes[to - 1])) to--;
    if (from === to) return;
    if (this.form === 'unknown') this.form = bytes[from] === 91 || bytes[from] === 123 ? 'json' : 'text';
    if (this.form === 'text') {
      if (bytes[from] !== HASH && !this.into.addBytes(bytes, from, to, EVERY_BUCKET)) this.ok = false;
      return;
    }
    for (let at = from; at < to && this.ok; ) {
      if (isSpace(bytes[at])) at++;
      else if (bytes[at] === QUOTE) {
        const close = bytes.indexOf(QUOTE, at + 1);
        if (close < 0 || close >= to) this.ok = false;
        else this.text(bytes, at + 1, close);
        at = close + 1;
      } else this.token(bytes[at++] as number);
    }
  }

  /** Whether the file ended where a whole document does. */
  finished(): boolean {
    return this.ok && (this.form !== 'json' || this.expect === NOTHING);
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

/** Scans the file at `path` into `into`; false when the string parser must read it instead. */
export async function scanInventoryFile(path: string, into: Inventory): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const scanner = new LineScanner(into);
    let buffer = Buffer.allocUnsafe(CHUNK_BYTES);
    let held = 0;
    let first = true;
    for (;;) {
      // A line longer than the buffer (a one-line JSON file) grows it.
      if (held === buffer.length) buffer = Buffer.concat([buffer, Buffer.allocUnsafe(buffer.length)]);
      const { bytesRead } = await file.read(buffer, held, buffer.length - held, null);
      const end = held + bytesRead;
      // Editors on Windows may prepend a byte-order mark.
      let start = first && buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf ? 3 : 0;
      first = false;
      for (let newline = buffer.indexOf(NEWLINE, start); newline >= 0 && newline < end && scanner.ok; newline = buffer.indexOf(NEWLINE, start)) {
        scanner.line(buffer, start, newline);
        start = newline + 1;
      }
      if (bytesRead === 0 || !scanner.ok) {
        if (scanner.ok && start < end) scanner.line(buffer, start, end);
        return scanner.finished();
      }
      buffer.copy(buffer, 0, start, end);
      held = end - start;
    }
  } finally {
    await file.close();
  }
}
