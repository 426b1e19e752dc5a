/**
 * Networks: the one rule for reading a CIDR, the one text form, containment for the request
 * path, and the 16 bytes the MMDB writer stores. IPv4 networks are held in the 128-bit space
 * at `::/96` (where every MaxMind reader starts an IPv4 lookup), so one representation serves
 * the configuration, the feeds and the database files.
 */
import { formatAddress, isMappedIPv4, parseIPv4, parseIPv6Into, type IpFamily } from './ip.js';

export interface Cidr {
  readonly family: IpFamily;
  /** The network's first address (host bits cleared), as `formatAddress` writes it. */
  readonly address: string;
  /** Prefix length within the family: 0..32 for IPv4, 0..128 for IPv6. */
  readonly prefix: number;
  /** 16 bytes, host bits cleared; an IPv4 network sits at `::/96`. */
  readonly bytes: Uint8Array;
  /** Prefix length in the 128-bit space (an IPv4 /24 is 120). */
  readonly prefixLength: number;
  /** Whether the text had bits set after the prefix (they are cleared above). */
  readonly hostBitsSet: boolean;
  /** Canonical text: `address/prefix`. Equal networks have equal text. */
  readonly text: string;
}

/** Decimal 0..max without leading zeros ("08" would read as octal to some tools), else -1. */
function parseLength(text: string, start: number, max: number): number {
  const digits = text.length - start;
  if (digits < 1 || digits > 3 || (digits > 1 && text.charCodeAt(start) === 48)) return -1;
  let value = 0;
  for (let i = start; i < text.length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value <= max ? value : -1;
}

/** Zeroes every bit after `prefixLength`; reports whether any was set. */
function clearHostBits(bytes: Uint8Array, prefixLength: number): boolean {
  let changed = false;
  // Bytes before the prefix's last one keep every bit.
  for (let byteIndex = prefixLength >> 3; byteIndex < 16; byteIndex++) {
    const keep = Math.max(0, prefixLength - byteIndex * 8);
    const mask = (0xff00 >> keep) & 0xff;
    const current = bytes[byteIndex] as number;
    if ((current & mask) !== current) {
      changed = true;
      bytes[byteIndex] = current & mask;
    }
  }
  return changed;
}

/** A network as bytes: what containment and the prefix table need, without its text. */
export type NetworkBytes = Omit<Cidr, 'address' | 'text'>;

/**
 * Reads `address/length`, or a bare address as a host route (/32, /128). An IPv4-mapped
 * network (`::ffff:a.b.c.d/n` with n >= 96) is the IPv4 network it maps, since clients are
 * normalised to plain IPv4 (see normalizeIp). Host bits are cleared and reported, not refused:
 * whether they are an error is the caller's policy. Undefined when the text is not a CIDR.
 * No text is built: a configuration of 10,000 networks reads them twice per load.
 */
export function parseNetwork(text: string): NetworkBytes | undefined {
  const slash = text.indexOf('/');
  const addressEnd = slash === -1 ? text.length : slash;
  const bytes = new Uint8Array(16);
  let prefixLength: number;
  const v4 = parseIPv4(text, 0, addressEnd);
  if (v4 >= 0) {
    const length = slash === -1 ? 32 : parseLength(text, slash + 1, 32);
    if (length < 0) return undefined;
    bytes[12] = v4 >>> 24;
    bytes[13] = (v4 >>> 16) & 0xff;
    bytes[14] = (v4 >>> 8) & 0xff;
    bytes[15] = v4 & 0xff;
    prefixLength = length + 96;
  } else {
    const length = slash === -1 ? 128 : parseLength(text, slash + 1, 128);
    if (length < 0 || !parseIPv6Into(slash === -1 ? text : text.slice(0, slash), bytes)) return undefined;
    prefixLength = length;
  }
  const family: IpFamily = v4 >= 0 || (prefixLength >= 96 && isMappedIPv4(bytes)) ? 'ipv4' : 'ipv6';
  if (family === 'ipv4') bytes.fill(0, 10, 12);
  const hostBitsSet = clearHostBits(bytes, prefixLength);
  const prefix = family === 'ipv4' ? prefixLength - 96 : prefixLength;
  return { family, prefix, bytes, prefixLength, hostBitsSet };
}

/** `parseNetwork` with the network's canonical text. */
export function parseCidr(text: string): Cidr | undefined {
  const network = parseNetwork(text);
  if (network === undefined) return undefined;
  const address = formatAddress(network.bytes, network.family);
  return { ...network, address, text: `${address}/${network.prefix}` };
}

/** The canonical text of a network read by parseNetwork. */
export function networkText(network: NetworkBytes): string {
  return `${formatAddress(network.bytes, network.family)}/${network.prefix}`;
}

/**
 * Text of a network read from an MMDB tree, where no family is recorded: `::/96` and longer
 * prints as the IPv4 network stored there.
 */
export function formatNetwork(bytes: Uint8Array, prefixLength: number): string {
  let ipv4 = prefixLength >= 96;
  for (let i = 0; i < 12 && ipv4; i++) if (bytes[i] !== 0) ipv4 = false;
  return ipv4 ? `${formatAddress(bytes, 'ipv4')}/${prefixLength - 96}` : `${formatAddress(bytes, 'ipv6')}/${prefixLength}`;
}

/**
 * A set of networks answering "does it contain this address" on the request path. IPv4
 * networks are (base, mask) pairs of 32-bit numbers; IPv6 networks are compared as four
 * 32-bit words. A handful of networks per bucket makes a linear scan the fastest structure.
 */
export class NetworkSet {
  readonly size: number;
  private readonly v4Base: Uint32Array;
  private readonly v4Mask: Uint32Array;
  /** Four words per network: the address, then its mask, interleaved per word. */
  private readonly v6Words: Uint32Array;
  private readonly v6Count: number;
  /** An IPv6 network holding all of `::ffff:0:0/96` (such as `::/0`) contains every IPv4 address. */
  private readonly allIPv4: boolean;
  private readonly address = new Uint8Array(16);
  private readonly words = new DataView(this.address.buffer);

  constructor(cidrs: readonly NetworkBytes[]) {
    const v4 = cidrs.filter((cidr) => cidr.family === 'ipv4');
    const v6 = cidrs.filter((cidr) => cidr.family === 'ipv6');
    this.size = cidrs.length;
    this.v4Base = Uint32Array.from(v4, (cidr) => wordAt(cidr.bytes, 3));
    this.v4Mask = Uint32Array.from(v4, (cidr) => maskWord(cidr.prefixLength, 3));
    this.v6Count = v6.length;
    this.allIPv4 = v6.some(holdsMappedSpace);
    this.v6Words = new Uint32Array(v6.length * 8);
    v6.forEach((cidr, n) => {
      for (let w = 0; w < 4; w++) {
        this.v6Words[n * 8 + w * 2] = wordAt(cidr.bytes, w);
        this.v6Words[n * 8 + w * 2 + 1] = maskWord(cidr.prefixLength, w);
      }
    });
  }

  /** `address` must be valid for `family` (the request path has checked it). */
  contains(address: string, family: IpFamily): boolean {
    if (this.size === 0) return false;
    if (family === 'ipv4') return this.containsIPv4(parseIPv4(address));
    if (!parseIPv6Into(address, this.address)) return false;
    // A mapped address that skipped normalisation still means its IPv4 address.
    if (isMappedIPv4(this.address)) return this.containsIPv4(this.words.getUint32(12));
    const words = this.v6Words;
    for (let n = 0; n < this.v6Count; n++) {
      let inside = true;
      for (let w = 0; w < 4 && inside; w++) {
        const at = n * 8 + w * 2;
        inside = ((this.words.getUint32(w * 4) & (words[at + 1] ?? 0)) >>> 0) === words[at];
      }
      if (inside) return true;
    }
    return false;
  }

  private containsIPv4(value: number): boolean {
    if (value < 0) return false;
    if (this.allIPv4) return true;
    const bases = this.v4Base;
    const masks = this.v4Mask;
    for (let n = 0; n < bases.length; n++) if (((value & (masks[n] ?? 0)) >>> 0) === bases[n]) return true;
    return false;
  }
}

const MAPPED_SPACE = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0);

/** Whether an IPv6 network contains all of `::ffff:0:0/96`, where IPv4 addresses map. */
function holdsMappedSpace(cidr: NetworkBytes): boolean {
  if (cidr.prefixLength > 96) return false;
  const masked = MAPPED_SPACE.slice();
  clearHostBits(masked, cidr.prefixLength);
  return masked.every((byte, i) => byte === cidr.bytes[i]);
}

/** Big-endian 32-bit word `w` (0..3) of 16 bytes. */
function wordAt(bytes: Uint8Array, w: number): number {
  return (((bytes[w * 4] ?? 0) << 24) | ((bytes[w * 4 + 1] ?? 0) << 16) | ((bytes[w * 4 + 2] ?? 0) << 8) | (bytes[w * 4 + 3] ?? 0)) >>> 0;
}

/** The part of a 128-bit prefix mask that falls in word `w`. */
function maskWord(prefixLength: number, w: number): number {
  const bits = Math.min(32, Math.max(0, prefixLength - w * 32));
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}
