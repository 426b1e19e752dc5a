/**
 * Who the client is: the socket peer, or an entry of `X-Forwarded-For` written by a proxy we
 * trust. Addresses follow the one rule of ip.ts and come out normalised (see normalizeIp).
 */
import { ipFamily, normalizeIp, type IpFamily } from './ip.js';

export type ClientIpResult = { ok: true; ip: string; family: IpFamily } | { ok: false; reason: string };

/** Keeps client-supplied text printable and short before it goes into an error message. */
export function sanitize(text: string): string {
  const cut = text.length > 64 ? `${text.slice(0, 64)}...` : text;
  return cut.replace(/[^\x20-\x7e]/g, '?');
}

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
  return { ok: true, ip, family };
}

/** The socket peer. The kernel adds a zone id to link-local peers; routing needs the address only. */
function socketPeer(socketAddress: string | undefined): ClientIpResult {
  const text = socketAddress ?? '';
  const zone = text.indexOf('%');
  const ip = normalizeIp(zone === -1 ? text : text.slice(0, zone));
  const family = ipFamily(ip);
  return family === undefined ? { ok: false, reason: 'no client address' } : { ok: true, ip, family };
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
  if (trustedHops <= 0) return socketPeer(socketAddress);
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
