/**
 * The data section of a MaxMind DB file: how values are encoded (spec section "Output Data
 * Section"), deduplicated and laid out. Each distinct record is written once, and a string
 * seen before (map keys, "aws", ...) is written as a pointer when that is shorter.
 */

/** A number that must be stored as a specific MMDB type (metadata requires exact types). */
export class TypedNumber {
  constructor(
    readonly type: 'uint16' | 'uint32' | 'uint64' | 'uint128' | 'int32' | 'double' | 'float',
    readonly value: number | bigint,
  ) {}
}

/**
 * A value for the data section. Plain numbers are stored as uint32 when they are integers in
 * [0, 2^32), int32 when negative integers in range, and double otherwise; wrap a number in
 * `TypedNumber` to choose.
 */
export type WriterValue =
  | string
  | number
  | boolean
  | bigint
  | TypedNumber
  | Uint8Array
  | WriterValue[]
  | { [key: string]: WriterValue };

/** Growable byte buffer for the data section. */
class ByteSink {
  private buf = Buffer.allocUnsafe(1 << 16);
  length = 0;

  private reserve(extra: number): void {
    if (this.length + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + extra) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    this.buf.copy(bigger, 0, 0, this.length);
    this.buf = bigger;
  }

  byte(value: number): void {
    this.reserve(1);
    this.buf[this.length++] = value & 0xff;
  }

  /** Big-endian unsigned integer in exactly `count` bytes. */
  uint(value: number, count: number): void {
    this.reserve(count);
    for (let i = count - 1; i >= 0; i--) {
      this.buf[this.length + i] = value & 0xff;
      value = Math.floor(value / 256);
    }
    this.length += count;
  }

  bytes(data: Uint8Array): void {
    this.reserve(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
  }

  result(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

/** Minimal big-endian bytes of a non-negative integer (empty for zero). */
function unsignedBytes(value: bigint): Uint8Array {
  const out: number[] = [];
  while (value > 0n) {
    out.unshift(Number(value & 0xffn));
    value >>= 8n;
  }
  return Uint8Array.from(out);
}

/**
 * Encodes values in the data-section format. With `dedupeStrings`, a string already written
 * by this encoder becomes a pointer when that is shorter than repeating it.
 */
export class FieldEncoder {
  readonly sink = new ByteSink();
  private readonly stringOffsets = new Map<string, number>();

  constructor(private readonly dedupeStrings: boolean) {}

  /** Control byte(s) for `type` with payload `size` (bytes, or entries for maps and arrays). */
  private header(type: number, size: number): void {
    const sink = this.sink;
    let sizeBits: number;
    let extraBytes = 0;
    let extraValue = 0;
    if (size < 29) sizeBits = size;
    else if (size < 285) [sizeBits, extraBytes, extraValue] = [29, 1, size - 29];
    else if (size < 65821) [sizeBits, extraBytes, extraValue] = [30, 2, size - 285];
    else if (size < 16843036) [sizeBits, extraBytes, extraValue] = [31, 3, size - 65821];
    else throw new RangeError(`MMDB field of ${size} is too large`);
    if (type <= 7) {
      sink.byte((type << 5) | sizeBits);
    } else {
      sink.byte(sizeBits);
      sink.byte(type - 7);
    }
    if (extraBytes > 0) sink.uint(extraValue, extraBytes);
  }

  private pointer(target: number): void {
    const sink = this.sink;
    if (target < 2048) {
      sink.byte(0x20 | (target >> 8));
      sink.byte(target & 0xff);
    } else if (target < 526336) {
      const value = target - 2048;
      sink.byte(0x28 | (value >> 16));
      sink.uint(value & 0xffff, 2);
    } else if (target < 134744064) {
      const value = target - 526336;
      sink.byte(0x30 | Math.floor(value / 16777216));
      sink.uint(value % 16777216, 3);
    } else {
      sink.byte(0x38);
      sink.uint(target, 4);
    }
  }

  private string(text: string): void {
    const bytes = Buffer.from(text, 'utf8');
    if (this.dedupeStrings) {
      const earlier = this.stringOffsets.get(text);
      // A pointer costs 2 to 5 bytes; only use it when it saves space.
      if (earlier !== undefined && bytes.length + 1 > (earlier < 2048 ? 2 : earlier < 526336 ? 3 : 4)) {
        this.pointer(earlier);
        return;
      }
      if (earlier === undefined) this.stringOffsets.set(text, this.sink.length);
    }
    this.header(2, bytes.length);
    this.sink.bytes(bytes);
  }

  private typed(number: TypedNumber): void {
    const { type, value } = number;
    if (type === 'double') {
      const bytes = Buffer.allocUnsafe(8);
      bytes.writeDoubleBE(Number(value));
      this.header(3, 8);
      this.sink.bytes(bytes);
      return;
    }
    if (type === 'float') {
      const bytes = Buffer.allocUnsafe(4);
      bytes.writeFloatBE(Number(value));
      this.header(15, 4);
      this.sink.bytes(bytes);
      return;
    }
    if (type === 'int32') {
      const signed = Number(value);
      if (!Number.isInteger(signed) || signed < -2147483648 || signed > 2147483647) {
        throw new RangeError(`${signed} does not fit int32`);
      }
      const bytes = signed < 0 ? unsignedBytes(BigInt(signed >>> 0)) : unsignedBytes(BigInt(signed));
      this.header(8, bytes.length);
      this.sink.bytes(bytes);
      return;
    }
    const typeCodes = { uint16: [5, 16], uint32: [6, 32], uint64: [9, 64], uint128: [10, 128] } as const;
    const [code, bits] = typeCodes[type];
    const big = BigInt(value);
    if (big < 0n || big >= 1n << BigInt(bits)) throw new RangeError(`${big} does not fit ${type}`);
    const bytes = unsignedBytes(big);
    this.header(code, bytes.length);
    this.sink.bytes(bytes);
  }

  write(value: WriterValue): void {
    if (typeof value === 'string') return this.string(value);
    if (typeof value === 'number') {
      if (Number.isInteger(value) && value >= 0 && value < 2 ** 32) return this.typed(new TypedNumber('uint32', value));
      if (Number.isInteger(value) && value < 0 && value >= -(2 ** 31)) return this.typed(new TypedNumber('int32', value));
      return this.typed(new TypedNumber('double', value));
    }
    if (typeof value === 'bigint') return this.typed(new TypedNumber(value < 1n << 64n ? 'uint64' : 'uint128', value));
    if (typeof value === 'boolean') return this.header(14, value ? 1 : 0);
    if (value instanceof TypedNumber) return this.typed(value);
    if (value instanceof Uint8Array) {
      this.header(4, value.length);
      this.sink.bytes(value);
      return;
    }
    if (Array.isArray(value)) {
      this.header(11, value.length);
      for (const item of value) this.write(item);
      return;
    }
    const entries = Object.entries(value);
    this.header(7, entries.length);
    for (const [key, item] of entries) {
      this.string(key);
      this.write(item);
    }
  }
}

/** Stable text form of a value, used to deduplicate records. */
export function canonicalKey(value: WriterValue): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === 'bigint') return `${item}n`;
    if (item instanceof TypedNumber) return { $t: item.type, v: String(item.value) };
    if (item instanceof Uint8Array) return { $b: Buffer.from(item).toString('hex') };
    if (item && typeof item === 'object' && !Array.isArray(item)) {
      return Object.fromEntries(Object.entries(item).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return item;
  });
}

/**
 * Encodes the records in `order` (ids into `values`) one after another; `offsets[id]` is where
 * record `id` starts, relative to the start of the data section.
 */
export function encodeRecords(values: readonly WriterValue[], order: readonly number[]): { data: Buffer; offsets: Int32Array } {
  const encoder = new FieldEncoder(true);
  const offsets = new Int32Array(values.length).fill(-1);
  for (const id of order) {
    offsets[id] = encoder.sink.length;
    const value = values[id];
    if (value !== undefined) encoder.write(value);
  }
  return { data: encoder.sink.result(), offsets };
}
