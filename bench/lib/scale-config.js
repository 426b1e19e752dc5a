// The configurations of the scaling family (bench/scale.js), pure: N networks (mixed IPv4 and
// IPv6, nested prefixes) spread over B buckets, and inventory documents of D digests in one
// list or in per-bucket lists. The bench client's network is the last one of the last bucket,
// nested in a shorter one of the first bucket: the worst place for a per-bucket walk, and a
// longest-prefix decision.
import { createHash } from 'node:crypto';
import { seededRandom } from './feed.js';

export const SCALE_CLIENT = '198.51.100.20';
export const CLIENT_NETWORK = '198.51.100.0/24';
/** Shorter, in the first bucket: loses to CLIENT_NETWORK by prefix length. */
export const CLIENT_SUPERNET = '198.51.0.0/16';
export const SCALE_DIGEST = `sha256:${createHash('sha256').update('registry-edge scale bench').digest('hex')}`;

/** @param {number} value */
const ipv4 = (value) => `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;

/**
 * COUNT distinct networks: 70% IPv4 inside 10.0.0.0/8 at /16, /20, /24, /28 or /32 (so many
 * nest), 30% IPv6 inside 2001:db8::/32 at /48 or /64 (a /64 often inside a /48 listed too).
 * @param {number} count @param {number} seed
 */
export function syntheticNetworks(count, seed = 19) {
  const random = seededRandom(seed);
  const seen = new Set();
  /** @type {string[]} */
  const out = [];
  while (out.length < count) {
    let text;
    if (random() < 0.7) {
      const length = [16, 20, 24, 28, 32][Math.floor(random() * 5)] ?? 24;
      const mask = length === 0 ? 0 : (0xffffffff << (32 - length)) >>> 0;
      const value = ((0x0a000000 | Math.floor(random() * 0x1000000)) & mask) >>> 0;
      text = `${ipv4(value)}/${length}`;
    } else {
      const site = Math.floor(random() * 512).toString(16);
      text = random() < 0.4 ? `2001:db8:${site}::/48` : `2001:db8:${site}:${Math.floor(random() * 0x10000).toString(16)}::/64`;
    }
    if (seen.has(text)) continue;
    seen.add(text);
    out.push(text);
  }
  return out;
}

/**
 * Buckets holding NETWORKS networks between them, round-robin, with the client's two networks
 * counted in: the /16 first in bucket 0, the /24 last in the last bucket.
 * @param {{ networks: number, buckets: number, bucketUrl: string }} shape
 */
export function scaleBuckets({ networks, buckets, bucketUrl }) {
  const lists = Array.from({ length: buckets }, () => /** @type {string[]} */ ([]));
  const extra = networks >= 2 ? [CLIENT_SUPERNET] : [];
  const filler = syntheticNetworks(Math.max(0, networks - 1 - extra.length));
  lists[0]?.push(...extra);
  filler.forEach((network, i) => lists[i % buckets]?.push(network));
  lists[buckets - 1]?.push(CLIENT_NETWORK);
  return lists.map((list, i) => ({ name: `b${i}`, url: `${bucketUrl}/b${i}`, networks: list }));
}

/** @param {number} count @param {number} seed */
export function syntheticDigests(count, seed = 7) {
  const random = seededRandom(seed);
  const out = new Array(count);
  for (let i = 0; i < count; i++) {
    let hex = '';
    for (let w = 0; w < 8; w++) hex += Math.floor(random() * 0x100000000).toString(16).padStart(8, '0');
    out[i] = `sha256:${hex}`;
  }
  return out;
}

/**
 * The inventory document sync writes (an object of lists, one space of indent), with DIGESTS
 * in one `*` list or split over LISTS bucket lists; the bench digest is in every bucket.
 * @param {string[]} digests @param {number} lists
 */
export function inventoryDocument(digests, lists) {
  /** @type {Record<string, string[]>} */
  // No spread: a million arguments overflow the stack.
  const document = { '*': lists <= 1 ? [SCALE_DIGEST].concat(digests) : [SCALE_DIGEST] };
  if (lists > 1) digests.forEach((digest, i) => (document[`b${i % lists}`] ??= []).push(digest));
  return `${JSON.stringify(document, null, 1)}\n`;
}

/**
 * One serve configuration of the family.
 * @param {{ bucketUrl: string, buckets: any[], inventory?: string, adminPort?: number }} parts
 */
export function scaleConfig({ bucketUrl, buckets, inventory, adminPort }) {
  return {
    listen: { host: '127.0.0.1', port: 0, keep_alive_timeout_ms: 60_000 },
    origin: { url: bucketUrl, path: '' },
    client_ip: { trusted_hops: 1 },
    geo: { ranges: '/nonexistent/cloud-ranges.mmdb' },
    blobs: { key: '/containers/images/{digest}', inventory: inventory ?? '', check: { timeout_ms: 5000, ttl_s: 21600, negative_ttl_s: 3600 } },
    buckets,
    default_bucket: `${bucketUrl}/default`,
    log: { level: 'silent' },
    admin: { host: '127.0.0.1', port: adminPort ?? 0 },
  };
}
