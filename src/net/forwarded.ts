import { BoundedMemo, stringBytes, type CacheFigures } from '../cache-figures.js';
import { resolveClientIp, type ClientIpResult } from './client-ip.js';

/** A 15-character header name that is X-Forwarded-For: the two spellings proxies send are compared before any case folding. */
const isForwardedFor = (name: string): boolean => name === 'X-Forwarded-For' || name === 'x-forwarded-for' || name.toLowerCase() === 'x-forwarded-for';

/**
 * X-Forwarded-For read straight from the raw header list, lines joined as node would: touching
 * `incoming.headers` makes node build the whole header object, which cost a blob redirect
 * more than all of its routing.
 */
export function forwardedFor(rawHeaders: readonly string[]): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length === 15 && isForwardedFor(name)) {
      const line = rawHeaders[i + 1] as string;
      value = value === undefined ? line : `${value}, ${line}`;
    }
  }
  return value;
}

/**
 * Headers longer than this are parsed on every request instead of remembered: a real chain of
 * proxies is a few addresses, while a client that stuffs kilobytes to the left of our proxy's
 * entry would otherwise make every remembered header that big.
 */
export const MAX_REMEMBERED_HEADER = 256;
const MAX_REMEMBERED_HEADERS = 10_000;
/** 10,000 headers of 256 characters with their answers (see docs/security.md). */
const MAX_MEMO_BYTES = 8 * 1024 * 1024;
/** The answer object and the address or reason it holds, whose text is at most ~130 characters. */
const resultBytes = (result: ClientIpResult): number => 40 + stringBytes(result.ok ? result.ip : result.reason);

/**
 * Parsed client addresses by the X-Forwarded-For value they came from: a pull sends the same
 * header with every request (manifests, config, each layer), so only its first request parses
 * it. One memo belongs to one runtime generation, so its `trusted_hops` never changes.
 */
export class ForwardedMemo {
  private readonly byHeader = new BoundedMemo<ClientIpResult>(MAX_REMEMBERED_HEADERS, MAX_MEMO_BYTES, resultBytes);

  /** With trusted hops, a request without the header gets the same refusal whatever its peer: made once, not per request. */
  private readonly missing: ClientIpResult | undefined;

  constructor(private readonly hops: number) {
    this.missing = hops > 0 ? resolveClientIp(undefined, undefined, hops) : undefined;
  }

  /** With trusted hops the address comes from the header alone, so the socket's peer is never asked for. */
  resolve(header: string | undefined): ClientIpResult {
    if (header === undefined && this.missing !== undefined) return this.missing;
    if (header === undefined || header.length > MAX_REMEMBERED_HEADER) return resolveClientIp(undefined, header, this.hops);
    let result = this.byHeader.get(header);
    if (result === undefined) {
      result = resolveClientIp(undefined, header, this.hops);
      this.byHeader.set(header, result);
    }
    return result;
  }

  figures(): CacheFigures {
    return this.byHeader.figures();
  }
}
