// What the bench asks of a server: the request lists for S1-S5, the bench configuration
// handed to registry-edge, and what a correct registry-edge answer looks like. Pure: no I/O.
import { createHash } from 'node:crypto';
import { pickRegionAddress, nonCloudAddresses, seededRandom } from './feed.js';

export const BLOB_KEY = '/containers/images/{digest}';
/** The AWS region whose bucket S3 and S4 exercise. */
export const S3_REGION = 'eu-west-3';
/**
 * Regions that get a bucket, as registry.k8s.io gives most AWS regions their own; the rest
 * of AWS falls back to the default bucket, which keeps S5's mix honest.
 */
export const BUCKET_REGIONS = [
  'af-south-1', 'ap-east-1', 'ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3', 'ap-south-1',
  'ap-south-2', 'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3', 'ap-southeast-4',
  'ca-central-1', 'eu-central-1', 'eu-central-2', 'eu-north-1', 'eu-south-1', 'eu-south-2',
  'eu-west-1', 'eu-west-2', 'eu-west-3', 'il-central-1', 'me-central-1', 'mx-central-1',
  'sa-east-1', 'us-east-1', 'us-east-2', 'us-west-1', 'us-west-2',
];
export const DEFAULT_BUCKET = 'default';

const USER_AGENT = 'containerd/v2.0.4';
const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** A stable fake sha256 digest for a name. @param {string} name */
export function digestOf(name) {
  return `sha256:${createHash('sha256').update(name).digest('hex')}`;
}

/**
 * The X-Forwarded-For value one trusted proxy in front of the server sends for CLIENT: it
 * appends the address it saw, so with `client_ip.trusted_hops: 1` the rightmost entry is the
 * client. The entry to its left is what a client may write itself and must be ignored.
 * @param {string} client
 */
export function forwardedFor(client) {
  return `203.0.113.7, ${client}`;
}

/** @typedef {{ method: string, path: string, headers: Record<string, string> }} BenchRequest */
/**
 * expect: how to recognise a right registry-edge answer (status, and where Location must
 * point: 'origin', 'bucket:NAME', 'any-bucket', or 'origin-or-bucket').
 * @typedef {{ status: number, location?: string }} Expectation
 * @typedef {{ request: BenchRequest, expect: Expectation }} CheckedRequest
 * @typedef {{ id: string, title: string, describe: string, requests: CheckedRequest[], rotate: boolean, warmsCache: boolean }} Scenario
 */

/** @param {string} path @param {string} [client] @param {Record<string, string>} [extra] @returns {BenchRequest} */
function get(path, client, extra = {}) {
  /** @type {Record<string, string>} */
  const headers = { 'user-agent': USER_AGENT, ...extra };
  if (client) headers['x-forwarded-for'] = forwardedFor(client);
  return { method: 'GET', path, headers };
}

const IMAGES = [
  ['pause', '3.10'], ['kube-apiserver', 'v1.33.2'], ['kube-controller-manager', 'v1.33.2'],
  ['kube-scheduler', 'v1.33.2'], ['kube-proxy', 'v1.33.2'], ['etcd', '3.5.21-0'],
  ['coredns/coredns', 'v1.12.0'], ['metrics-server/metrics-server', 'v0.7.2'],
  ['ingress-nginx/controller', 'v1.12.1'], ['sig-storage/csi-provisioner', 'v5.2.0'],
  ['kube-state-metrics/kube-state-metrics', 'v2.15.0'], ['cluster-autoscaler', 'v1.33.0'],
];

/**
 * Client addresses for S5 by kind. AWS clients come from regions with and without a bucket,
 * GCP clients are routed to the origin by rule, the rest are ordinary ISP addresses.
 * @param {import('./feed.js').RangeEntry[]} entries
 */
export function mixClients(entries) {
  /** @type {{ ip: string, kind: string }[]} */
  const clients = [];
  const awsRegions = [...new Set(entries.filter((e) => e.provider === 'aws').map((e) => e.region))].sort();
  const gcpRegions = [...new Set(entries.filter((e) => e.provider === 'gcp').map((e) => e.region))].sort();
  awsRegions.filter((region) => region !== 'GLOBAL').forEach((region, index) => {
    const v4 = pickRegionAddress(entries, 'aws', region, { family: 4 });
    if (v4) clients.push({ ip: v4, kind: BUCKET_REGIONS.includes(region) ? 'aws-bucket-region' : 'aws-other-region' });
    // Some dual-stack clients: about one region in three also pulls over IPv6.
    const v6 = index % 3 === 0 ? pickRegionAddress(entries, 'aws', region, { family: 6 }) : undefined;
    if (v6) clients.push({ ip: v6, kind: 'aws-ipv6' });
  });
  for (const region of gcpRegions.slice(0, 16)) {
    const v4 = pickRegionAddress(entries, 'gcp', region, { family: 4 });
    if (v4) clients.push({ ip: v4, kind: 'gcp' });
  }
  const cloudCount = clients.length;
  for (const ip of nonCloudAddresses(entries, Math.max(24, Math.round(cloudCount * 0.6)), 7)) {
    clients.push({ ip, kind: 'non-cloud' });
  }
  return clients;
}

/**
 * @param {{ entries: import('./feed.js').RangeEntry[] }} input
 * @returns {{ scenarios: Scenario[], presentDigests: Set<string>, s3Client: string | undefined, clientKinds: Record<string, number> }}
 */
export function buildScenarios({ entries }) {
  const s3Client = pickRegionAddress(entries, 'aws', S3_REGION) ?? undefined;
  const presentDigests = new Set();
  const s3Digest = digestOf('bench/s3/layer');
  const s4Digest = digestOf('bench/s4/missing-everywhere');
  presentDigests.add(s3Digest);

  /** @type {Scenario[]} */
  const scenarios = [
    {
      id: 'S1',
      title: 'ping',
      describe: 'GET /v2/',
      requests: [{ request: get('/v2/'), expect: { status: 200 } }],
      rotate: false,
      warmsCache: false,
    },
    {
      id: 'S2',
      title: 'manifest redirect',
      describe: 'GET /v2/pause/manifests/3.9 → origin',
      requests: [
        {
          request: get('/v2/pause/manifests/3.9', undefined, { accept: MANIFEST_ACCEPT }),
          expect: { status: 307, location: 'origin' },
        },
      ],
      rotate: false,
      warmsCache: false,
    },
    {
      id: 'S3',
      title: 'blob, cloud client',
      describe: `GET blob from an AWS ${S3_REGION} address (X-Forwarded-For), existence cache warm → ${S3_REGION} bucket`,
      requests: [
        {
          request: get(`/v2/pause/blobs/${s3Digest}`, s3Client ?? '192.0.2.1'),
          expect: { status: 307, location: `bucket:aws-${S3_REGION}` },
        },
      ],
      rotate: false,
      warmsCache: true,
    },
    {
      id: 'S4',
      title: 'blob missing in bucket',
      describe: `same client, blob the bucket lacks (404), negative cache warm → origin`,
      requests: [
        {
          request: get(`/v2/pause/blobs/${s4Digest}`, s3Client ?? '192.0.2.1'),
          expect: { status: 307, location: 'origin' },
        },
      ],
      rotate: false,
      warmsCache: true,
    },
  ];

  const clients = mixClients(entries);
  /** @type {Record<string, number>} */
  const clientKinds = {};
  for (const c of clients) clientKinds[c.kind] = (clientKinds[c.kind] ?? 0) + 1;
  const random = seededRandom(42);
  /** @type {CheckedRequest[]} */
  const pulls = [];
  // Each pull is one client fetching one image, in the order a runtime does it.
  for (let i = 0; i < Math.max(clients.length, 64); i += 1) {
    const client = clients[i % clients.length];
    const [name, tag] = IMAGES[Math.floor(random() * IMAGES.length)] ?? ['pause', '3.10'];
    if (!client) break;
    const blobExpect = client.kind === 'gcp'
      ? { status: 307, location: 'origin' }
      : { status: 307, location: 'any-bucket' };
    pulls.push({ request: get(`/v2/${name}/manifests/${tag}`, client.ip, { accept: MANIFEST_ACCEPT }), expect: { status: 307, location: 'origin' } });
    pulls.push({ request: get(`/v2/${name}/manifests/${digestOf(`${name}:${tag}/amd64`)}`, client.ip, { accept: MANIFEST_ACCEPT }), expect: { status: 307, location: 'origin' } });
    const blobs = [digestOf(`${name}:${tag}/config`)];
    for (let layer = 0; layer < 5; layer += 1) blobs.push(digestOf(`${name}:${tag}/layer${layer}`));
    for (const digest of blobs) {
      presentDigests.add(digest);
      pulls.push({ request: get(`/v2/${name}/blobs/${digest}`, client.ip), expect: blobExpect });
    }
  }
  scenarios.push({
    id: 'S5',
    title: 'pull mix',
    describe: `${pulls.length / 8} pulls (manifest list, manifest, config, 5 layers) from ${clients.length} clients: ${Object.entries(clientKinds).map(([k, n]) => `${n} ${k}`).join(', ')}`,
    requests: pulls,
    rotate: true,
    warmsCache: true,
  });
  return { scenarios, presentDigests, s3Client, clientKinds };
}

/**
 * The registry-edge configuration the bench runs. Every bucket is a path on the local
 * bucket server; the origin is that server too, so nothing can leave loopback even if a
 * redirect were followed. Info logs are off: they would measure pino, not routing.
 * @param {{ bucketUrl: string, rangesFile: string, port: number }} input
 */
export function benchConfig({ bucketUrl, rangesFile, port }) {
  return {
    listen: { host: '127.0.0.1', port },
    origin: { url: bucketUrl, path: '' },
    signatures: { url: '' },
    client_ip: { trusted_hops: 1 },
    geo: { ranges: rangesFile },
    blobs: {
      key: BLOB_KEY,
      // Long negative TTL: S4 must stay "negative cache warm" across all its rounds.
      check: { timeout_ms: 5000, ttl_s: 21600, negative_ttl_s: 3600, max_entries: 100000 },
    },
    providers: { gcp: 'origin' },
    buckets: [
      ...BUCKET_REGIONS.map((region) => ({
        name: `aws-${region}`,
        url: `${bucketUrl}/aws-${region}`,
        provider: 'aws',
        regions: [region],
      })),
      { name: DEFAULT_BUCKET, url: `${bucketUrl}/${DEFAULT_BUCKET}` },
    ],
    default_bucket: DEFAULT_BUCKET,
    log: { level: 'warn' },
    // Off: the bench measures the public listener, and the fixed default port may be taken.
    admin: { host: '127.0.0.1', port: 0 },
  };
}

/**
 * Whether an answer is the one registry-edge should give; returns a reason when not.
 * @param {Expectation} expect @param {{ status: number, location: string | undefined }} answer
 * @param {string} bucketUrl the local bucket server (also the origin)
 */
export function judgeAnswer(expect, answer, bucketUrl) {
  if (answer.status !== expect.status) return `status ${answer.status}, expected ${expect.status}`;
  if (!expect.location) return undefined;
  const location = answer.location ?? '';
  const isOrigin = location.startsWith(`${bucketUrl}/v2/`);
  const bucketName = location.startsWith(`${bucketUrl}/`) && !isOrigin
    ? location.slice(bucketUrl.length + 1).split('/')[0]
    : undefined;
  if (expect.location === 'origin' && !isOrigin) return `Location ${location || '(none)'}, expected the origin`;
  if (expect.location === 'any-bucket' && !bucketName) return `Location ${location || '(none)'}, expected a bucket`;
  if (expect.location.startsWith('bucket:') && bucketName !== expect.location.slice('bucket:'.length)) {
    return `Location ${location || '(none)'}, expected bucket ${expect.location.slice('bucket:'.length)}`;
  }
  return undefined;
}
