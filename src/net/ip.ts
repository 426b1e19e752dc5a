import { BlockList, isIP } from 'node:net';
import { detached } from '../cache-figures.js';

export type IpFamily = 'ipv4' | 'ipv6';

const MAPPED_V4_PREFIX = '::ffff:';

/**
 * Canonical form used everywhere: IPv4-mapped IPv6 (`::ffff:a.b.c.d`) becomes the plain IPv4
 * address, so one client is one address whichever socket family it arrived on.
 */
export function normalizeIp(address: string): string {
  if (address.length > 7 && address.charCodeAt(0) === 58 /* : */) {
    const lower = address.toLowerCase();
    if (lower.startsWith(MAPPED_V4_PREFIX)) {
      const tail = lower.slice(MAPPED_V4_PREFIX.length);
      if (isIP(tail) === 4) return tail;
    }
  }
  return address;
}

export function ipFamily(address: string): IpFamily | undefined {
  const version = isIP(address);
  if (version === 4) return 'ipv4';
  if (version === 6) return 'ipv6';
  return undefined;
}

export interface Cidr {
  address: string;
  prefix: number;
  family: IpFamily;
}

/** Parses `a.b.c.d/n` or `x::y/n`; a bare address is a host route. Returns undefined when invalid. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const rawAddress = slash === -1 ? text : text.slice(0, slash);
  const address = normalizeIp(rawAddress);
  const family = ipFamily(address);
  if (family === undefined) return undefined;
  const max = family === 'ipv4' ? 32 : 128;
  let prefix = max;
  if (slash !== -1) {
    const digits = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(digits)) return undefined;
    prefix = Number(digits);
    // A mapped IPv4 network written in IPv6 form keeps its IPv4 meaning.
    if (address !== rawAddress) prefix -= 96;
    if (prefix < 0 || prefix > max) return undefined;
  }
  return { address, prefix, family };
}

/** A set of networks answering "does it contain this address", backed by node's BlockList. */
export class NetworkSet {
  private readonly list = new BlockList();
  readonly size: number;

  constructor(cidrs: readonly Cidr[]) {
    for (const cidr of cidrs) this.list.addSubnet(cidr.address, cidr.prefix, cidr.family);
    this.size = cidrs.length;
  }

  contains(address: string, family: IpFamily): boolean {
    return this.size > 0 && this.list.check(address, family);
  }
}

export type ClientIpResult = { ok: true; ip: string; family: IpFamily } | { ok: false; reason: string };

/**
 * One `X-Forwarded-For` entry as proxies write it: a bare address, `a.b.c.d:port` or
 * `[v6]:port`. Zone ids are refused: they only mean something on the proxy's own host.
 */
export function parseForwardedEntry(entry: string): ClientIpResult {
  let text = entry.trim();
  if (text.length === 0) return { ok: false, reason: 'empty X-Forwarded-For entry' };
  if (text.length > 64) return { ok: false, reason: 'X-Forwarded-For entry too long' };
  if (text.charCodeAt(0) === 91 /* [ */) {
    const close = text.indexOf(']');
    const rest = close === -1 ? '' : text.slice(close + 1);
    if (close === -1 || (rest !== '' && !/^:\d{1,5}$/.test(rest))) {
      return { ok: false, reason: `invalid X-Forwarded-For entry "${sanitize(entry)}"` };
    }
    text = text.slice(1, close);
  } else {
    const colon = text.indexOf(':');
    if (colon !== -1 && colon === text.lastIndexOf(':') && /^\d{1,5}$/.test(text.slice(colon + 1))) {
      text = text.slice(0, colon);
    }
  }
  if (text.includes('%')) return { ok: false, reason: `X-Forwarded-For entry "${sanitize(entry)}" has a zone id` };
  const ip = normalizeIp(text);
  const family = ipFamily(ip);
  if (family === undefined) return { ok: false, reason: `invalid X-Forwarded-For entry "${sanitize(entry)}"` };
  // The address outlives the request (locator memo, rate-limit table): it must not pin the header.
  return { ok: true, ip: detached(ip), family };
}

/**
 * The client address: the socket peer, or with `trustedHops` N >= 1 the N-th entry from the right
 * of X-Forwarded-For (every proxy we trust appended one entry; anything further left was
 * written by the client and cannot be trusted). Scans from the right so a header stuffed with
 * thousands of entries costs no more than the entries we need.
 */
export function resolveClientIp(
  socketAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trustedHops: number,
): ClientIpResult {
  if (trustedHops <= 0) {
    const ip = normalizeIp(socketAddress ?? '');
    const family = ipFamily(ip);
    return family === undefined ? { ok: false, reason: 'no client address' } : { ok: true, ip, family };
  }
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor;
  if (header === undefined || header.length === 0) {
    return { ok: false, reason: `X-Forwarded-For is required (client_ip.trusted_hops is ${trustedHops})` };
  }
  let end = header.length;
  for (let seen = 1; ; seen++) {
    const comma = header.lastIndexOf(',', end - 1);
    if (seen === trustedHops) return parseForwardedEntry(header.slice(comma + 1, end));
    if (comma === -1) {
      return {
        ok: false,
        reason: `X-Forwarded-For has ${seen} entr${seen === 1 ? 'y' : 'ies'}, fewer than client_ip.trusted_hops (${trustedHops})`,
      };
    }
    end = comma;
  }
}

/** Keeps client-supplied text printable and short before it goes into an error message. */
export function sanitize(text: string): string {
  const cut = text.length > 64 ? `${text.slice(0, 64)}...` : text;
  return cut.replace(/[^\x20-\x7e]/g, '?');
}

/** The eight 16-bit groups of a valid IPv6 address (an embedded IPv4 tail counts as two). */
export function ipv6Groups(ip: string): number[] {
  const parse = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const group of part.split(':')) {
      if (group.includes('.')) {
        const [a = 0, b = 0, c = 0, d = 0] = group.split('.').map(Number);
        out.push((a << 8) | b, (c << 8) | d);
      } else out.push(parseInt(group, 16));
    }
    return out;
  };
  const gap = ip.indexOf('::');
  if (gap === -1) return parse(ip);
  const head = parse(ip.slice(0, gap));
  const tail = parse(ip.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/**
 * Privacy-preserving form for logs: IPv4 keeps its /24, IPv6 its /48 (a site, not a host).
 * The address is already normalised and valid.
 */
export function truncateIp(ip: string, family: IpFamily): string {
  if (family === 'ipv4') return `${ip.slice(0, ip.lastIndexOf('.'))}.0`;
  const [a = 0, b = 0, c = 0] = ipv6Groups(ip);
  return `${a.toString(16)}:${b.toString(16)}:${c.toString(16)}::`;
}
