/**
 * Address parsing for the geo lookups. Hand-written rather than `node:net` based because a
 * lookup must cost well under a microsecond: these parse straight from char codes, never
 * allocate on the IPv4 path, and write IPv6 into a caller-owned buffer.
 */

const CODE_0 = 48;
const CODE_9 = 57;
const CODE_DOT = 46;
const CODE_COLON = 58;

/** The 32-bit value of a dotted-quad address, or -1 when `text` is not one. */
export function parseIPv4(text: string, start = 0, end = text.length): number {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code >= CODE_0 && code <= CODE_9) {
      // A leading zero would make "010" ambiguous (octal in some parsers): reject it.
      if (digits === 1 && octet === 0) return -1;
      octet = octet * 10 + (code - CODE_0);
      if (octet > 255) return -1;
      digits++;
    } else if (code === CODE_DOT) {
      if (digits === 0 || dots === 3) return -1;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      return -1;
    }
  }
  if (digits === 0 || dots !== 3) return -1;
  return value * 256 + octet;
}

function hexValue(code: number): number {
  if (code >= CODE_0 && code <= CODE_9) return code - CODE_0;
  const lower = code | 0x20;
  if (lower >= 97 && lower <= 102) return lower - 87;
  return -1;
}

/**
 * Parses an IPv6 address (with `::` compression and an optional dotted IPv4 tail) into the
 * 16 bytes of `out`. Returns false, leaving `out` in an unspecified state, when it is not one.
 */
export function parseIPv6Into(text: string, out: Uint8Array): boolean {
  const length = text.length;
  if (length < 2) return false;
  let groupIndex = 0;
  let gapAt = -1;
  let i = 0;
  if (text.charCodeAt(0) === CODE_COLON) {
    if (text.charCodeAt(1) !== CODE_COLON) return false;
    gapAt = 0;
    i = 2;
  }
  while (i < length) {
    if (groupIndex === 8) return false;
    let value = 0;
    let digits = 0;
    const groupStart = i;
    while (i < length) {
      const nibble = hexValue(text.charCodeAt(i));
      if (nibble < 0) break;
      value = value * 16 + nibble;
      digits++;
      i++;
    }
    if (i < length && text.charCodeAt(i) === CODE_DOT) {
      // The last 32 bits may be written as dotted IPv4 (e.g. ::ffff:192.0.2.1).
      if (groupIndex > 6) return false;
      const v4 = parseIPv4(text, groupStart, length);
      if (v4 < 0) return false;
      out[groupIndex * 2] = v4 >>> 24;
      out[groupIndex * 2 + 1] = (v4 >>> 16) & 0xff;
      out[groupIndex * 2 + 2] = (v4 >>> 8) & 0xff;
      out[groupIndex * 2 + 3] = v4 & 0xff;
      groupIndex += 2;
      i = length;
      break;
    }
    if (digits === 0 || digits > 4) return false;
    out[groupIndex * 2] = value >>> 8;
    out[groupIndex * 2 + 1] = value & 0xff;
    groupIndex++;
    if (i === length) break;
    if (text.charCodeAt(i) !== CODE_COLON) return false;
    i++;
    if (i < length && text.charCodeAt(i) === CODE_COLON) {
      if (gapAt >= 0) return false;
      gapAt = groupIndex;
      i++;
    } else if (i === length) {
      return false;
    }
  }
  if (gapAt < 0) return groupIndex === 8;
  if (groupIndex === 8) return false;
  const tailGroups = groupIndex - gapAt;
  const shift = 8 - groupIndex;
  for (let g = gapAt + tailGroups - 1; g >= gapAt; g--) {
    out[(g + shift) * 2] = out[g * 2] ?? 0;
    out[(g + shift) * 2 + 1] = out[g * 2 + 1] ?? 0;
  }
  for (let g = gapAt; g < gapAt + shift; g++) {
    out[g * 2] = 0;
    out[g * 2 + 1] = 0;
  }
  return true;
}

/** A network in the 128-bit IPv6 space; IPv4 networks sit at `::/96` (IPv4-compatible form). */
export interface Network {
  /** 16 bytes, host bits cleared. */
  bytes: Uint8Array;
  /** 0..128, counted in the 128-bit space (an IPv4 /24 is 120). */
  prefixLength: number;
  /** Whether the text was an IPv4 CIDR. */
  ipv4: boolean;
  /** Whether host bits were set in the text and had to be cleared. */
  hadHostBits: boolean;
}

/** Parses `a.b.c.d/n` or `x::y/n`; undefined when the text is not a CIDR block. */
export function parseCidr(text: string): Network | undefined {
  const slash = text.indexOf('/');
  if (slash <= 0 || slash === text.length - 1) return undefined;
  const lengthText = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lengthText)) return undefined;
  const length = Number(lengthText);
  const address = text.slice(0, slash);
  const bytes = new Uint8Array(16);
  let ipv4 = false;
  let prefixLength: number;
  if (address.includes(':')) {
    if (length > 128 || !parseIPv6Into(address, bytes)) return undefined;
    prefixLength = length;
  } else {
    const v4 = parseIPv4(address);
    if (v4 < 0 || length > 32) return undefined;
    bytes[12] = v4 >>> 24;
    bytes[13] = (v4 >>> 16) & 0xff;
    bytes[14] = (v4 >>> 8) & 0xff;
    bytes[15] = v4 & 0xff;
    ipv4 = true;
    prefixLength = length + 96;
  }
  const hadHostBits = clearHostBits(bytes, prefixLength);
  return { bytes, prefixLength, ipv4, hadHostBits };
}

/** Zeroes every bit after `prefixLength`; reports whether any was set. */
function clearHostBits(bytes: Uint8Array, prefixLength: number): boolean {
  let changed = false;
  for (let byteIndex = 0; byteIndex < 16; byteIndex++) {
    const keep = Math.min(8, Math.max(0, prefixLength - byteIndex * 8));
    const mask = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    const current = bytes[byteIndex] ?? 0;
    if ((current & mask) !== current) {
      changed = true;
      bytes[byteIndex] = current & mask;
    }
  }
  return changed;
}

/** Text form of a network, IPv4 networks (at ::/96) printed as a.b.c.d/n. */
export function formatNetwork(bytes: Uint8Array, prefixLength: number): string {
  let v4Compatible = prefixLength >= 96;
  for (let i = 0; i < 12 && v4Compatible; i++) if (bytes[i] !== 0) v4Compatible = false;
  if (v4Compatible) {
    return `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}/${prefixLength - 96}`;
  }
  const groups: string[] = [];
  for (let g = 0; g < 8; g++) groups.push((((bytes[g * 2] ?? 0) << 8) | (bytes[g * 2 + 1] ?? 0)).toString(16));
  // Compress the longest run of zero groups (RFC 5952) so the text matches common tools.
  let bestStart = -1;
  let bestLength = 1;
  for (let g = 0; g < 8; ) {
    if (groups[g] !== '0') {
      g++;
      continue;
    }
    let end = g;
    while (end < 8 && groups[end] === '0') end++;
    if (end - g > bestLength) {
      bestStart = g;
      bestLength = end - g;
    }
    g = end;
  }
  const text =
    bestStart < 0
      ? groups.join(':')
      : `${groups.slice(0, bestStart).join(':')}::${groups.slice(bestStart + bestLength).join(':')}`;
  return `${text}/${prefixLength}`;
}
