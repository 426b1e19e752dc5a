/**
 * What every cache and memo on the request path reports about its size, for the
 * `registry_edge_cache_*` metrics and docs/security.md. Bytes are estimates of V8 heap cost,
 * deliberately on the high side: strings as two-byte (a client can send non-Latin-1 text),
 * every entry charged for its table slot and object headers.
 */
export interface CacheFigures {
  readonly entries: number;
  readonly bytes: number;
  readonly maxEntries: number;
  readonly maxBytes: number;
}

export interface NamedCacheFigures extends CacheFigures {
  readonly cache: string;
}

/** A string's header plus two bytes a character. */
export function stringBytes(text: string): number {
  return 24 + 2 * text.length;
}

/** One slot of a Map (key, value, chain link, bucket) and some slack for its growth. */
export const MAP_ENTRY_BYTES = 48;

/**
 * A copy of a short string that does not share storage with the text it was cut from: V8 keeps
 * a slice of 13 or more characters as a view on its parent, so remembering a 15-character
 * address cut from a 14 KB header would keep the whole header alive.
 */
export function detached(text: string): string {
  return text.length < 13 ? text : Buffer.from(text, 'latin1').toString('latin1');
}

/**
 * A memo that starts over when full, bounded in entries and in bytes. Starting over instead of
 * evicting keeps a hit to one Map lookup (an LRU's recency bookkeeping on every hit cost more
 * than it saved); a value too big for the budget on its own is never stored.
 */
export class BoundedMemo<V> {
  private readonly map = new Map<string, V>();
  private used = 0;

  constructor(
    readonly maxEntries: number,
    readonly maxBytes: number,
    private readonly valueBytes: (value: V) => number,
  ) {}

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  set(key: string, value: V): void {
    const cost = MAP_ENTRY_BYTES + stringBytes(key) + this.valueBytes(value);
    if (cost > this.maxBytes) return;
    if (this.map.size >= this.maxEntries || this.used + cost > this.maxBytes) this.clear();
    this.map.set(key, value);
    this.used += cost;
  }

  clear(): void {
    this.map.clear();
    this.used = 0;
  }

  get size(): number {
    return this.map.size;
  }

  figures(): CacheFigures {
    return { entries: this.map.size, bytes: this.used, maxEntries: this.maxEntries, maxBytes: this.maxBytes };
  }
}
