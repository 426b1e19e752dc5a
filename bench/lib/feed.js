// Cloud IP-range feeds as the bench needs them: the real AWS/GCP feeds from ../shared/ranges
// when present, otherwise a synthetic AWS-format feed of the same size, so the geo database
// the server loads (and its lookup depth) stays comparable between machines.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseCidr, cidrContains, addressInside, formatIPv4, formatIPv6, parseIPv4 } from './ip.js';

export const AWS_FEED_FILE = 'aws-ip-ranges.json';
export const GCP_FEED_FILE = 'gcp-cloud.json';

/** @typedef {import('./ip.js').Cidr} Cidr */
/** @typedef {{ text: string, cidr: Cidr, provider: string, region: string }} RangeEntry */

/** @param {any} feed @returns {RangeEntry[]} */
export function normalizeAwsFeed(feed) {
  /** @type {RangeEntry[]} */
  const entries = [];
  const add = (/** @type {unknown} */ text, /** @type {unknown} */ region) => {
    if (typeof text !== 'string' || typeof region !== 'string') return;
    const cidr = parseCidr(text);
    if (cidr) entries.push({ text, cidr, provider: 'aws', region });
  };
  for (const p of feed?.prefixes ?? []) add(p.ip_prefix, p.region);
  for (const p of feed?.ipv6_prefixes ?? []) add(p.ipv6_prefix, p.region);
  return entries;
}

/** @param {any} feed @returns {RangeEntry[]} */
export function normalizeGcpFeed(feed) {
  /** @type {RangeEntry[]} */
  const entries = [];
  for (const p of feed?.prefixes ?? []) {
    const text = p.ipv4Prefix ?? p.ipv6Prefix;
    if (typeof text !== 'string' || typeof p.scope !== 'string') continue;
    const cidr = parseCidr(text);
    if (cidr) entries.push({ text, cidr, provider: 'gcp', region: p.scope });
  }
  return entries;
}

/** True when DIR holds both feeds `geo update --from DIR` reads. @param {string} dir */
export function feedDirComplete(dir) {
  return existsSync(join(dir, AWS_FEED_FILE)) && existsSync(join(dir, GCP_FEED_FILE));
}

/** @param {string} dir @returns {RangeEntry[]} */
export function readFeedDir(dir) {
  const aws = JSON.parse(readFileSync(join(dir, AWS_FEED_FILE), 'utf8'));
  const gcp = JSON.parse(readFileSync(join(dir, GCP_FEED_FILE), 'utf8'));
  return [...normalizeAwsFeed(aws), ...normalizeGcpFeed(gcp)];
}

/** Small deterministic PRNG (mulberry32) so synthetic feeds and mixes repeat exactly. @param {number} seed */
export function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const SYNTHETIC_AWS_REGIONS = [
  'af-south-1', 'ap-east-1', 'ap-east-2', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3',
  'ap-south-1', 'ap-south-2', 'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3', 'ap-southeast-4',
  'ap-southeast-5', 'ap-southeast-7', 'ca-central-1', 'ca-west-1', 'cn-north-1', 'cn-northwest-1',
  'eu-central-1', 'eu-central-2', 'eu-north-1', 'eu-south-1', 'eu-south-2', 'eu-west-1', 'eu-west-2',
  'eu-west-3', 'il-central-1', 'me-central-1', 'me-south-1', 'mx-central-1', 'sa-east-1',
  'us-east-1', 'us-east-2', 'us-gov-east-1', 'us-gov-west-1', 'us-west-1', 'us-west-2', 'GLOBAL',
];
const SYNTHETIC_SERVICES = ['AMAZON', 'EC2', 'S3', 'ROUTE53_RESOLVER', 'API_GATEWAY', 'CLOUDFRONT'];
const SYNTHETIC_GCP_SCOPES = [
  'us-central1', 'us-east1', 'us-east4', 'us-west1', 'europe-west1', 'europe-west3', 'europe-west9',
  'asia-east1', 'asia-northeast1', 'asia-south1', 'australia-southeast1', 'southamerica-east1',
];
/** Prefix lengths weighted roughly like the real AWS IPv4 feed (many /24 and /32, few /16). */
const V4_LENGTH_WEIGHTS = [
  [16, 5], [17, 2], [18, 2], [19, 1], [20, 2], [21, 3], [22, 7], [23, 7], [24, 28], [25, 3],
  [26, 5], [27, 3], [28, 4], [29, 5], [30, 2], [31, 5], [32, 12],
];

/** @param {() => number} random @param {number[][]} weights */
function weightedPick(random, weights) {
  const total = weights.reduce((sum, [, weight]) => sum + (weight ?? 0), 0);
  let roll = random() * total;
  for (const [value, weight] of weights) {
    roll -= weight ?? 0;
    if (roll < 0) return value ?? 0;
  }
  return weights[weights.length - 1]?.[0] ?? 0;
}

/**
 * A synthetic pair of feeds in the published AWS and GCP formats. Prefixes are laid out
 * back to back (never overlapping) from 13.0.0.0 and 2600:1f00::, so every region owns
 * unambiguous addresses; every region gets at least one /20 first so it can be picked.
 * @param {{ ipv4?: number, ipv6?: number, gcp?: number, seed?: number }} [sizes]
 */
export function syntheticFeeds(sizes = {}) {
  const { ipv4 = 10_500, ipv6 = 5_900, gcp = 1_050, seed = 20260729 } = sizes;
  const random = seededRandom(seed);
  const regionAt = (/** @type {number} */ i) =>
    SYNTHETIC_AWS_REGIONS[i % SYNTHETIC_AWS_REGIONS.length] ?? 'us-east-1';
  const pick = (/** @type {string[]} */ list) => list[Math.floor(random() * list.length)] ?? list[0] ?? '';

  const prefixes = [];
  let next4 = parseIPv4('13.0.0.0');
  for (let i = 0; i < ipv4; i += 1) {
    const bits = i < SYNTHETIC_AWS_REGIONS.length ? 20 : weightedPick(random, V4_LENGTH_WEIGHTS);
    const size = 2 ** (32 - bits);
    next4 = Math.ceil(next4 / size) * size;
    const region = i < SYNTHETIC_AWS_REGIONS.length ? regionAt(i) : pick(SYNTHETIC_AWS_REGIONS);
    prefixes.push({
      ip_prefix: `${formatIPv4(next4)}/${bits}`,
      region,
      service: pick(SYNTHETIC_SERVICES),
      network_border_group: region,
    });
    next4 += size;
  }
  const ipv6Prefixes = [];
  let next6 = 0x26001f00n << 96n;
  for (let i = 0; i < ipv6; i += 1) {
    const bits = [40, 44, 48, 56, 64][Math.floor(random() * 5)] ?? 48;
    const size = 1n << BigInt(128 - bits);
    next6 = ((next6 + size - 1n) / size) * size;
    const region = i < SYNTHETIC_AWS_REGIONS.length ? regionAt(i) : pick(SYNTHETIC_AWS_REGIONS);
    ipv6Prefixes.push({
      ipv6_prefix: `${formatIPv6(next6)}/${bits}`,
      region,
      service: pick(SYNTHETIC_SERVICES),
      network_border_group: region,
    });
    next6 += size;
  }
  const gcpPrefixes = [];
  let nextGcp = parseIPv4('34.0.0.0');
  for (let i = 0; i < gcp; i += 1) {
    const bits = 18 + Math.floor(random() * 7);
    const size = 2 ** (32 - bits);
    nextGcp = Math.ceil(nextGcp / size) * size;
    const scope = SYNTHETIC_GCP_SCOPES[i % SYNTHETIC_GCP_SCOPES.length] ?? 'us-central1';
    gcpPrefixes.push({ ipv4Prefix: `${formatIPv4(nextGcp)}/${bits}`, service: 'Google Cloud', scope });
    nextGcp += size;
  }
  return {
    aws: { syncToken: '0', createDate: '2026-01-01-00-00-00', prefixes, ipv6_prefixes: ipv6Prefixes },
    gcp: { syncToken: '0', creationTime: '2026-01-01T00:00:00', prefixes: gcpPrefixes },
  };
}

/** Everything in the feeds that contains IP. @param {RangeEntry[]} entries @param {string} ip */
export function matchingEntries(entries, ip) {
  return entries.filter((entry) => cidrContains(entry.cidr, ip));
}

/**
 * An address of PROVIDER/REGION that no prefix of another provider or region also covers,
 * so any correct lookup must place it there. Large prefixes come first: they are the stable
 * ones (a /32 can vanish from the next feed). Returns undefined when the region is absent.
 * @param {RangeEntry[]} entries @param {string} provider @param {string} region
 * @param {{ family?: 4 | 6, skip?: number }} [options] skip: how many valid picks to pass over
 */
export function pickRegionAddress(entries, provider, region, options = {}) {
  const { family = 4, skip = 0 } = options;
  const candidates = entries
    .filter((e) => e.provider === provider && e.region === region && e.cidr.family === (family === 4 ? 'ipv4' : 'ipv6'))
    .filter((e) => e.cidr.prefix <= (family === 4 ? 24 : 64))
    .sort((a, b) => a.cidr.prefix - b.cidr.prefix || a.text.localeCompare(b.text));
  let passed = 0;
  for (const entry of candidates) {
    const ip = addressInside(entry.cidr, 77);
    const owners = matchingEntries(entries, ip);
    if (owners.every((o) => o.provider === provider && o.region === region)) {
      if (passed === skip) return ip;
      passed += 1;
    }
  }
  return undefined;
}

/** First octets of blocks that regional registries hand to ISPs (not clouds, not special-purpose). */
const ISP_V4_FIRST_OCTETS = [
  2, 5, 31, 37, 41, 46, 62, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93,
  94, 95, 102, 105, 109, 112, 113, 114, 115, 116, 117, 118, 119, 121, 122, 123, 124, 125, 151,
  154, 176, 177, 178, 179, 180, 181, 182, 183, 186, 187, 189, 190, 191, 196, 197, 200, 201, 212,
  213, 217, 218, 219, 220, 221, 222, 223,
];
const ISP_V6_PREFIXES = [0x2a01, 0x2a02, 0x2a00, 0x2001, 0x2400, 0x2403, 0x2800, 0x2804, 0x2c0f];

/**
 * Addresses outside every feed prefix, spread over the registries' ISP blocks so a city
 * database places them in many countries.
 * @param {RangeEntry[]} entries @param {number} count @param {number} seed @param {number} ipv6Share 0..1
 */
export function nonCloudAddresses(entries, count, seed, ipv6Share = 0.15) {
  const random = seededRandom(seed);
  const result = [];
  while (result.length < count) {
    let ip;
    if (random() < ipv6Share) {
      const head = ISP_V6_PREFIXES[Math.floor(random() * ISP_V6_PREFIXES.length)] ?? 0x2a01;
      const groups = [head];
      for (let i = 0; i < 3; i += 1) groups.push(Math.floor(random() * 0x10000));
      ip = `${groups.map((g) => g.toString(16)).join(':')}::${Math.floor(random() * 0xffff).toString(16)}`;
    } else {
      const first = ISP_V4_FIRST_OCTETS[Math.floor(random() * ISP_V4_FIRST_OCTETS.length)] ?? 81;
      ip = formatIPv4(first * 2 ** 24 + 1 + Math.floor(random() * (2 ** 24 - 2)));
    }
    if (matchingEntries(entries, ip).length === 0) result.push(ip);
  }
  return result;
}
