// Address arithmetic for the bench's client-IP picking. IPv4 values are plain numbers
// (0..2^32-1) and IPv6 values are BigInts, so a prefix check is one subtraction/compare.

/** @typedef {{ family: 4, base: number, bits: number } | { family: 6, base: bigint, bits: number }} Cidr */

/** @param {string} text @returns {number | undefined} */
export function parseIPv4(text) {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/** @param {number} value @returns {string} */
export function formatIPv4(value) {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

/** @param {string} text @returns {bigint | undefined} */
export function parseIPv6(text) {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  let value = 0n;
  for (const group of groups) {
    if (!/^[0-9a-f]{1,4}$/i.test(group)) return undefined;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  return value;
}

/** Full, uncompressed form: the bench only needs something a server can parse back. */
/** @param {bigint} value @returns {string} */
export function formatIPv6(value) {
  const groups = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) {
    groups.push(((value >> shift) & 0xffffn).toString(16));
  }
  return groups.join(':');
}

/** @param {string} text @returns {Cidr | undefined} */
export function parseCidr(text) {
  const [address, bitsText] = text.split('/');
  if (address === undefined || bitsText === undefined || !/^\d+$/.test(bitsText)) return undefined;
  const bits = Number(bitsText);
  if (address.includes(':')) {
    const base = parseIPv6(address);
    if (base === undefined || bits > 128) return undefined;
    return { family: 6, base, bits };
  }
  const base = parseIPv4(address);
  if (base === undefined || bits > 32) return undefined;
  return { family: 4, base, bits };
}

/** An address parsed once, for checking against many prefixes. @param {string} ip */
export function parseAddress(ip) {
  if (ip.includes(':')) {
    const value = parseIPv6(ip);
    return value === undefined ? undefined : /** @type {const} */ ({ family: 6, value });
  }
  const value = parseIPv4(ip);
  return value === undefined ? undefined : /** @type {const} */ ({ family: 4, value });
}

/** @param {Cidr} cidr @param {ReturnType<typeof parseAddress>} address */
export function cidrContainsAddress(cidr, address) {
  if (!address || address.family !== cidr.family) return false;
  if (cidr.family === 4 && address.family === 4) {
    const size = 2 ** (32 - cidr.bits);
    const start = Math.floor(cidr.base / size) * size;
    return address.value >= start && address.value < start + size;
  }
  if (cidr.family === 6 && address.family === 6) {
    const hostBits = BigInt(128 - cidr.bits);
    return address.value >> hostBits === cidr.base >> hostBits;
  }
  return false;
}

/** @param {Cidr} cidr @param {string} ip */
export function cidrContains(cidr, ip) {
  return cidrContainsAddress(cidr, parseAddress(ip));
}

/**
 * An address inside the prefix, away from its network address (some servers treat `.0`
 * specially) but still inside /31 and /32 prefixes.
 * @param {Cidr} cidr @param {number} offset
 */
export function addressInside(cidr, offset) {
  if (cidr.family === 4) {
    const size = 2 ** (32 - cidr.bits);
    return formatIPv4(cidr.base + (offset % size));
  }
  const size = 1n << BigInt(128 - cidr.bits);
  return formatIPv6(cidr.base + (BigInt(offset) % size));
}
