// The bench reads and writes addresses with registry-edge's own IP module (built into dist/
// by `npm run build`, which every bench script runs first), so a prefix means to the bench
// exactly what it means to the server. Only the arithmetic of picking an address inside a
// prefix lives here.
import { NetworkSet, parseCidr } from '../../dist/src/net/cidr.js';
import { formatAddress, ipFamily, parseIPv4 } from '../../dist/src/net/ip.js';

export { parseCidr, parseIPv4 };

/** @typedef {import('../../src/net/cidr.js').Cidr} Cidr */

/** @param {bigint} value @returns {Uint8Array} 16 bytes, big-endian */
function bytesOf(value) {
  const bytes = new Uint8Array(16);
  for (let i = 15; i >= 0; i -= 1) {
    bytes[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return bytes;
}

/** @param {Uint8Array} bytes @returns {bigint} */
function valueOf(bytes) {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

/** @param {number} value a 32-bit IPv4 address @returns {string} */
export function formatIPv4(value) {
  return formatAddress(bytesOf(BigInt(value)), 'ipv4');
}

/** @param {bigint} value a 128-bit IPv6 address @returns {string} */
export function formatIPv6(value) {
  return formatAddress(bytesOf(value), 'ipv6');
}

/** @type {WeakMap<Cidr, NetworkSet>} */
const sets = new WeakMap();

/** @param {Cidr} cidr @param {string} ip */
export function cidrContains(cidr, ip) {
  const family = ipFamily(ip);
  if (family === undefined) return false;
  let set = sets.get(cidr);
  if (!set) {
    set = new NetworkSet([cidr]);
    sets.set(cidr, set);
  }
  return set.contains(ip, family);
}

/**
 * An address inside the prefix, away from its network address (some servers treat `.0`
 * specially) but still inside /31 and /32 prefixes.
 * @param {Cidr} cidr @param {number} offset
 */
export function addressInside(cidr, offset) {
  const size = 1n << BigInt(128 - cidr.prefixLength);
  return formatAddress(bytesOf(valueOf(cidr.bytes) + (BigInt(offset) % size)), cidr.family);
}
