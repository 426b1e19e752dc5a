// Memory-amplification inputs (issue 22), one per request-path cache or memo: each is the input
// that fills its cache fastest, with the longest keys it remembers and a new key every request.
// Shared by the hostile suite (test/hostile/memory.test.ts, which asserts the retained heap per
// input) and the soak (`npm run soak -- --amplify`, which mixes them all for minutes).
// All of them assume `client_ip.trusted_hops: 1`: the last X-Forwarded-For entry is the client.

/** @typedef {{ path: string, headers?: Record<string, string> }} AmplifierRequest */
/**
 * @typedef {object} Amplifier
 * @property {string} name
 * @property {string} fills what it is the fastest input for
 * @property {string[]} caches every `cache` label it reaches (its growth is bounded by their sum)
 * @property {string[]} filled the caches it fills to at least a quarter (the rest it only touches)
 * @property {number} requests enough to fill them past their bounds
 * @property {number} [extraBoundBytes] bytes of what it fills that no cache_max_bytes names (documented in docs/security.md)
 * @property {(bucketUrl: string) => Record<string, unknown>} config what the edge needs for the input to reach the cache
 * @property {boolean} [holdsEveryBlob] the bucket must answer every HEAD with 200 (a signed URL is kept only for a present blob)
 * @property {Record<string, string>} [env] environment the edge needs (test credentials for a signing bucket)
 * @property {(i: number) => AmplifierRequest} next request `i`
 */

const DIGEST = `sha256:${'a'.repeat(64)}`;
const hex = (n, width) => (n >>> 0).toString(16).padStart(width, '0').slice(-width);

/** A distinct 10.x.y.z for each i below 2^24. @param {number} i */
export const privateClient = (i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

/**
 * A distinct public IPv4 address for each i, spread over the whole space (first octets 1-223
 * outside 10, 127 and 169.254/172.16/192.168), so geolocation places them all over the world.
 * @param {number} i
 */
export function worldClient(i) {
  const spread = Math.imul(i + 1, 2654435761) >>> 0;
  let first = 1 + (spread % 223);
  if (first === 10 || first === 127 || first === 169 || first === 172 || first === 192) first += 1;
  return `${first}.${(spread >>> 8) & 255}.${(spread >>> 16) & 255}.${i & 255}`;
}

/** The longest IPv6 text form (39 characters), a distinct /64 for each i. @param {number} i */
export function longestIPv6(i) {
  const spread = Math.imul(i + 1, 2654435761) >>> 0;
  return `2a0${1 + (i % 9)}:${hex(0x8000 | spread, 4)}:${hex(0x8000 | (spread >>> 16), 4)}:${hex(0x8000 | i, 4)}:${hex(0x8000 | (i >>> 4), 4)}:abcd:ef01:2345`;
}

/** An X-Forwarded-For value of exactly `length` characters, distinct for each i, ending in `client`. */
export function paddedChain(i, client, length) {
  const head = `${i.toString(16)}.`;
  return `${head}${'x'.repeat(Math.max(0, length - head.length - client.length - 2))}, ${client}`;
}

const CHAIN_PADDING = Array.from({ length: 1000 }, (_, k) => `10.${k & 255}.0.${(k >> 8) & 255}`).join(', ');
/** ~14 KB, distinct for each i, the client's own entry last. @param {number} i */
export const chain14k = (i) => `${i.toString(16)}, ${CHAIN_PADDING}, ${privateClient(i)}`;

/** sha512 digests are the longest existence keys. @param {number} i */
export function sha512Digest(i) {
  const seed = hex(Math.imul(i + 1, 2654435761), 8) + hex(i, 8);
  return `sha512:${seed.repeat(8)}`;
}

/** A 255-character repository name (classify's limit), distinct for each i. @param {number} i */
export function longestRepo(i) {
  const head = `r${i.toString(36)}/`;
  return `${head}${'n'.repeat(255 - head.length)}`;
}

/**
 * The longest request target classify reads (4,096 characters) for a digest: a query pads it,
 * so a digest remembered as a view on the target would keep 4 KB alive instead of 135 bytes.
 * @param {string} digest
 */
export const paddedTarget = (digest) => {
  const path = `/v2/lab/blobs/${digest}?pad=`;
  return path + 'q'.repeat(4096 - path.length);
};

/** Test credentials for an S3-style signing bucket: the local bucket checks only that a signature is there. */
export const SIGNING_ENV = { AWS_ACCESS_KEY_ID: 'AKIDSOAKTEST', AWS_SECRET_ACCESS_KEY: 'soak-test-secret-not-a-real-key' };
/** Clients of the signing bucket (192.168/16 networks), so no other bucket's inputs reach it. */
export const SIGNED_CLIENT = '192.168.1.2';
export const SIGNED_NETWORK = '192.168.0.0/16';

/** Buckets near and far, so clients placed by geography get candidate lists per 0.1° cell. @param {string} url */
const geoBuckets = (url) => [
  { name: 'lab', url, networks: ['10.0.0.0/8', '127.0.0.0/8'] },
  { name: 'paris', url, provider: 'aws', regions: ['eu-west-3'] },
  { name: 'virginia', url, provider: 'aws', regions: ['us-east-1'] },
  { name: 'tokyo', url, provider: 'aws', regions: ['ap-northeast-1'] },
];

/** Per MMDB record the locator's reader may keep decoded (10,000 of them), with its mapped location. */
export const GEO_RECORD_BYTES = 600;
export const GEO_RECORDS = 10_000;
/** A repository series: its name, its Map slots and one counter cell per route kind. */
export const REPO_SERIES_BYTES = 24 + 2 * 255 + 3 * 48 + 4 * 160;
export const REPO_SERIES = 1000;

/** @type {Amplifier[]} */
export const AMPLIFIERS = [
  {
    name: 'distinct 256-character X-Forwarded-For values',
    fills: 'forwarded_for: the longest header it remembers, a new one every request',
    caches: ['forwarded_for', 'recent_clients', 'rate_limit'],
    filled: ['forwarded_for'],
    requests: 15_000,
    config: () => ({}),
    next: (i) => ({ path: `/v2/lab/blobs/${DIGEST}`, headers: { 'X-Forwarded-For': paddedChain(i, privateClient(i), 256) } }),
  },
  {
    name: 'distinct public IPv4 clients all over the world',
    fills: 'recent_clients, candidates (a list per 0.1° cell) and the city database records the locator decodes',
    caches: ['forwarded_for', 'recent_clients', 'candidates', 'rate_limit'],
    filled: ['recent_clients', 'candidates'],
    requests: 15_000,
    extraBoundBytes: GEO_RECORDS * GEO_RECORD_BYTES,
    config: (url) => ({ routing: { others: 'nearest' }, blobs: { candidates: 2, check: { max_inflight: 256 } }, buckets: geoBuckets(url) }),
    next: (i) => ({ path: `/v2/lab/blobs/${DIGEST}`, headers: { 'X-Forwarded-For': worldClient(i) } }),
  },
  {
    name: 'distinct IPv6 clients in the longest text form, each in its own /64',
    fills: 'rate_limit (the longest key, a /64 each) and recent_clients (39-character addresses)',
    caches: ['forwarded_for', 'recent_clients', 'rate_limit'],
    filled: ['recent_clients', 'rate_limit'],
    requests: 15_000,
    config: () => ({}),
    next: (i) => ({ path: `/v2/lab/blobs/${DIGEST}`, headers: { 'X-Forwarded-For': longestIPv6(i) } }),
  },
  {
    name: 'distinct sha512 digests',
    fills: 'existence: the longest digest keys, a new one every request',
    caches: ['existence'],
    filled: ['existence'],
    requests: 15_000,
    config: () => ({}),
    next: (i) => ({ path: `/v2/lab/blobs/${sha512Digest(i)}`, headers: { 'X-Forwarded-For': '10.1.2.3' } }),
  },
  {
    name: 'distinct sha512 digests against a signing bucket that holds every blob, in the longest request targets',
    fills: 'signed_urls: a signed S3 URL per digest, with the longest digest keys; existence alongside',
    caches: ['signed_urls', 'existence'],
    filled: ['signed_urls'],
    requests: 15_000,
    holdsEveryBlob: true,
    env: SIGNING_ENV,
    config: (url) => ({ buckets: [{ name: 'lab', url, networks: [SIGNED_NETWORK, '10.0.0.0/8', '127.0.0.0/8'], signing: { type: 's3', region: 'us-east-1' } }] }),
    next: (i) => ({ path: paddedTarget(sha512Digest(i)), headers: { 'X-Forwarded-For': SIGNED_CLIENT } }),
  },
  {
    name: 'distinct 255-character repository names with metrics.repos',
    fills: 'the per-repository metric series (at most 1000, then _other)',
    caches: [],
    filled: [],
    requests: 3_000,
    extraBoundBytes: REPO_SERIES * REPO_SERIES_BYTES,
    config: () => ({ metrics: { repos: true } }),
    next: (i) => ({ path: `/v2/${longestRepo(i)}/manifests/latest`, headers: { 'X-Forwarded-For': '10.1.2.3' } }),
  },
];
