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
/** registry.k8s.io's twenty Artifact Registry regions: S2r's origin replicas (issue 15). */
export const REPLICA_REGIONS = [
  'asia-east1', 'asia-northeast1', 'asia-northeast2', 'asia-south1', 'australia-southeast1', 'europe-north1',
  'europe-southwest1', 'europe-west1', 'europe-west2', 'europe-west4', 'europe-west8', 'europe-west9',
  'southamerica-west1', 'us-central1', 'us-east1', 'us-east4', 'us-east5', 'us-south1', 'us-west1', 'us-west2',
];
/** The replica nearest AWS eu-west-3 (Paris): where S2r's client must be sent. */
export const S2R_REPLICA = 'gcp-europe-west9';

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

/** A Google Cloud load balancer address: the proxy in front of registry.k8s.io's servers. */
export const LOAD_BALANCER = '35.191.0.1';
/**
 * How many X-Forwarded-For entries from the right registry-edge counts to reach the client:
 * the load balancer appends `<client>, <its own address>`, which is also the one layout
 * archeio understands (it always takes the second entry from the right).
 */
export const TRUSTED_HOPS = 2;

/**
 * The X-Forwarded-For value a Google Cloud load balancer sends for CLIENT.
 * @param {string} client
 */
export function forwardedFor(client) {
  return `${client}, ${LOAD_BALANCER}`;
}

/** A network registry-edge's `networks` rule sends to its own bucket in S3n (TEST-NET-2). */
export const NETWORK_RULE = '198.51.100.0/24';
export const NETWORK_CLIENT = '198.51.100.20';
export const NETWORK_BUCKET = 'onprem';
/** S3s: the same rule's bucket made private, every redirect SigV4-signed. */
export const SIGNED_BUCKET = 'onprem-signed';
export const SIGNED_REGION = 'eu-west-1';
/**
 * AWS regions archeio sends to its DEFAULT_AWS_BASE_URL (its own region table has no bucket for
 * them): the only bucket URL archeio lets a bench point at loopback, so its S3 client is from one.
 */
export const ARCHEIO_DEFAULT_REGIONS = ['us-gov-west-1', 'us-gov-east-1', 'GLOBAL'];

/** @typedef {{ method: string, path: string, headers: Record<string, string> }} BenchRequest */
/**
 * expect: how to recognise a right answer (status, and where Location must point: 'origin',
 * 'bucket:NAME', 'any-bucket', 'bucket-except:NAME').
 * config: which registry-edge configuration the scenario runs against (see benchConfig).
 * openLoop: also measured at a fixed rate. archeio: the requests archeio gets instead (it has
 * no such rule, or needs a client it can route to loopback), or why it sits the scenario out.
 * @typedef {{ status: number, location?: string, signed?: boolean }} Expectation
 * @typedef {{ request: BenchRequest, expect: Expectation }} CheckedRequest
 * @typedef {'base' | 'networks' | 'signed' | 'nearest' | 'replicas'} ConfigVariant
 * @typedef {{ requests: CheckedRequest[], note: string } | { skip: string }} ArcheioPlan
 * @typedef {{ id: string, title: string, describe: string, requests: CheckedRequest[], rotate: boolean, warmsCache: boolean, config: ConfigVariant, openLoop: boolean, archeio: ArcheioPlan }} Scenario
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
 * @returns {{ scenarios: Scenario[], presentDigests: Set<string>, s3Client: string | undefined, geoClient: string, archeioClient: { ip: string, region: string } | undefined, clientKinds: Record<string, number> }}
 */
export function buildScenarios({ entries }) {
  const s3Client = pickRegionAddress(entries, 'aws', S3_REGION) ?? undefined;
  const s3Ip = s3Client ?? '192.0.2.1';
  // An ordinary ISP address (in no cloud feed): only geography can place it.
  const geoClient = nonCloudAddresses(entries, 1, 20260801, 0)[0] ?? '81.56.0.1';
  const archeioRegion = ARCHEIO_DEFAULT_REGIONS.find((region) => pickRegionAddress(entries, 'aws', region));
  const archeioClient = archeioRegion ? { ip: /** @type {string} */ (pickRegionAddress(entries, 'aws', archeioRegion)), region: archeioRegion } : undefined;
  const presentDigests = new Set();
  const s3Digest = digestOf('bench/s3/layer');
  const s4Digest = digestOf('bench/s4/missing-everywhere');
  presentDigests.add(s3Digest);
  const blob = (/** @type {string} */ digest, /** @type {string} */ client) => get(`/v2/pause/blobs/${digest}`, client);
  /** @type {ArcheioPlan} */
  const archeioBlob = archeioClient
    ? { requests: [{ request: blob(s3Digest, archeioClient.ip), expect: { status: 307, location: `bucket:${DEFAULT_BUCKET}` } }], note: `client in AWS ${archeioClient.region}, which archeio sends to DEFAULT_AWS_BASE_URL (its other bucket hosts are fixed AWS names the bench cannot reach)` }
    : { skip: `no AWS address in ${ARCHEIO_DEFAULT_REGIONS.join('/')} in the feed` };
  const manifest = { request: get('/v2/pause/manifests/3.9', undefined, { accept: MANIFEST_ACCEPT }), expect: { status: 307, location: 'origin' } };
  const ping = { request: get('/v2/'), expect: { status: 200 } };
  // S2c and S2r: the same manifest request from a located client, without and with replicas.
  const clientManifest = get('/v2/pause/manifests/3.9', s3Ip, { accept: MANIFEST_ACCEPT });

  /** @type {Scenario[]} */
  const scenarios = [
    { id: 'S1', title: 'ping', describe: 'GET /v2/', requests: [ping], rotate: false, warmsCache: false, config: 'base', openLoop: false, archeio: { requests: [ping], note: 'same request' } },
    { id: 'S2', title: 'manifest redirect', describe: 'GET /v2/pause/manifests/3.9 → origin', requests: [manifest], rotate: false, warmsCache: false, config: 'base', openLoop: true, archeio: { requests: [manifest], note: 'same request' } },
    {
      id: 'S2c',
      title: 'manifest redirect, located client',
      describe: `GET /v2/pause/manifests/3.9 from an AWS ${S3_REGION} address (X-Forwarded-For), no origin replicas → origin`,
      requests: [{ request: clientManifest, expect: { status: 307, location: 'origin' } }],
      rotate: false,
      warmsCache: false,
      config: 'base',
      openLoop: false,
      archeio: { requests: [{ request: clientManifest, expect: { status: 307, location: 'origin' } }], note: 'same request' },
    },
    {
      id: 'S2r',
      title: 'manifest redirect, twenty replicas',
      describe: `the S2c request with the twenty registry.k8s.io regions as \`origin.mirrors\` and \`routing.origins: nearest\` → the ${S2R_REPLICA} replica`,
      requests: [{ request: clientManifest, expect: { status: 307, location: `replica:${S2R_REPLICA}` } }],
      rotate: false,
      warmsCache: false,
      config: 'replicas',
      openLoop: false,
      archeio: { skip: 'archeio has one origin per process' },
    },
    {
      id: 'S3',
      title: 'blob via provider region',
      describe: `GET blob from an AWS ${S3_REGION} address (X-Forwarded-For), existence cache warm → ${S3_REGION} bucket`,
      requests: [{ request: blob(s3Digest, s3Ip), expect: { status: 307, location: `bucket:aws-${S3_REGION}` } }],
      rotate: false,
      warmsCache: true,
      config: 'base',
      openLoop: true,
      archeio: archeioBlob,
    },
    {
      id: 'S3n',
      title: 'blob via networks',
      describe: `GET blob from ${NETWORK_CLIENT}, which a \`networks: [${NETWORK_RULE}]\` rule sends to bucket ${NETWORK_BUCKET}`,
      requests: [{ request: blob(s3Digest, NETWORK_CLIENT), expect: { status: 307, location: `bucket:${NETWORK_BUCKET}` } }],
      rotate: false,
      warmsCache: true,
      config: 'networks',
      openLoop: true,
      archeio: { skip: 'archeio has no networks rule' },
    },
    {
      id: 'S3s',
      title: 'signed blob via networks',
      describe: `S3n with bucket ${SIGNED_BUCKET} private: \`signing: { type: s3 }\`, so every redirect is a SigV4 presigned URL (reused within its signing window) and the existence HEAD is signed`,
      requests: [{ request: blob(s3Digest, NETWORK_CLIENT), expect: { status: 307, location: `bucket:${SIGNED_BUCKET}`, signed: true } }],
      rotate: false,
      warmsCache: true,
      config: 'signed',
      openLoop: false,
      archeio: { skip: 'archeio cannot sign redirects' },
    },
    {
      id: 'S3g',
      title: 'blob via geography',
      describe: `GET blob from ${geoClient} (an ISP address in no cloud feed), \`routing.others: nearest\` with the compact city file → the nearest bucket`,
      requests: [{ request: blob(s3Digest, geoClient), expect: { status: 307, location: `bucket-except:${DEFAULT_BUCKET}` } }],
      rotate: false,
      warmsCache: true,
      config: 'nearest',
      openLoop: true,
      archeio: { skip: 'archeio does not geolocate: clients in no cloud get its default URL' },
    },
    {
      id: 'S4',
      title: 'blob missing in bucket',
      describe: 'same client as S3, blob the bucket lacks (404), negative cache warm → origin',
      requests: [{ request: blob(s4Digest, s3Ip), expect: { status: 307, location: 'origin' } }],
      rotate: false,
      warmsCache: true,
      config: 'base',
      openLoop: false,
      archeio: archeioClient
        ? { requests: [{ request: blob(s4Digest, archeioClient.ip), expect: { status: 307, location: 'origin' } }], note: `client in AWS ${archeioClient.region}; archeio keeps no negative cache, so every request HEADs the bucket` }
        : archeioBlob,
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
    config: 'base',
    openLoop: false,
    archeio: { skip: 'archeio would HEAD its fixed AWS bucket hosts for most of these clients, which the bench cannot reach' },
  });
  return { scenarios, presentDigests, s3Client, geoClient, archeioClient, clientKinds };
}

/**
 * The registry-edge configuration the bench runs. Every bucket is a path on the local bucket
 * server; the origin is that server too, so nothing can leave loopback even if a redirect were
 * followed. VARIANT adds what one scenario needs on top of the registry.k8s.io-like base:
 * `networks` a bucket for NETWORK_RULE, `nearest` geography for clients in no cloud (and the
 * city file it needs), `signed` the networks bucket made private (S3 SigV4; credentials from
 * SIGNING_FILES, which the caller writes). LOG_LEVEL: `info` writes one line per request (the default users run),
 * `silent` none, so the difference between the two is the log line's own cost.
 * @param {{ bucketUrl: string, rangesFile: string, port: number, variant?: ConfigVariant, locationsFile?: string, logLevel?: string, signingFiles?: { accessKeyId: string, secretAccessKey: string }, events?: boolean }} input
 */
export function benchConfig({ bucketUrl, rangesFile, port, variant = 'base', locationsFile, logLevel = 'info', signingFiles, events = false }) {
  const buckets = [
    ...BUCKET_REGIONS.map((region) => ({ name: `aws-${region}`, url: `${bucketUrl}/aws-${region}`, provider: 'aws', regions: [region] })),
    { name: DEFAULT_BUCKET, url: `${bucketUrl}/${DEFAULT_BUCKET}` },
  ];
  if (variant === 'networks') buckets.unshift({ name: NETWORK_BUCKET, url: `${bucketUrl}/${NETWORK_BUCKET}`, networks: [NETWORK_RULE] });
  if (variant === 'signed') {
    if (!signingFiles) throw new Error('the signed variant needs credential files');
    buckets.unshift({
      name: SIGNED_BUCKET,
      url: `${bucketUrl}/${SIGNED_BUCKET}`,
      networks: [NETWORK_RULE],
      signing: { type: 's3', region: SIGNED_REGION, access_key_id_file: signingFiles.accessKeyId, secret_access_key_file: signingFiles.secretAccessKey },
    });
  }
  if (variant === 'nearest' && !locationsFile) throw new Error('the nearest variant needs the compact city file');
  // Each replica is a path on the bucket server, which answers their `/v2/` probes with 200.
  const mirrors = REPLICA_REGIONS.map((region) => ({ url: `${bucketUrl}/gcp-${region}`, provider: 'gcp', regions: [region] }));
  return {
    // Idle keep-alive connections survive between rounds, as with the two baselines.
    listen: { host: '127.0.0.1', port, keep_alive_timeout_ms: 60_000 },
    origin: variant === 'replicas' ? { url: bucketUrl, path: '', mirrors } : { url: bucketUrl, path: '' },
    signatures: { url: '' },
    client_ip: { trusted_hops: TRUSTED_HOPS },
    geo: variant === 'nearest' || (variant === 'replicas' && locationsFile) ? { ranges: rangesFile, locations: [locationsFile] } : { ranges: rangesFile },
    ...(variant === 'nearest' ? { routing: { others: 'nearest' } } : {}),
    ...(variant === 'replicas' ? { routing: { origins: 'nearest' } } : {}),
    blobs: {
      key: BLOB_KEY,
      // Long negative TTL: S4 must stay "negative cache warm" across all its rounds.
      check: { timeout_ms: 5000, ttl_s: 21600, negative_ttl_s: 3600, max_entries: 100000 },
    },
    providers: { gcp: 'origin' },
    buckets,
    default_bucket: DEFAULT_BUCKET,
    // events: issue 16's per-pull event on every manifest request line (the edge-events layer).
    log: events ? { level: logLevel, events: { manifests: true } } : { level: logLevel },
    // Off: the bench measures the public listener, and the fixed default port may be taken.
    admin: { host: '127.0.0.1', port: 0 },
  };
}

/**
 * Whether an answer is the one expected; returns a reason when not.
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
  if (expect.signed === true && !location.includes('X-Amz-Signature=')) return `Location ${location || '(none)'} is not signed`;
  if (expect.location === 'origin' && !isOrigin) return `Location ${location || '(none)'}, expected the origin`;
  if (expect.location === 'any-bucket' && !bucketName) return `Location ${location || '(none)'}, expected a bucket`;
  if (expect.location.startsWith('bucket-except:') && (!bucketName || bucketName === expect.location.slice('bucket-except:'.length))) {
    return `Location ${location || '(none)'}, expected a bucket other than ${expect.location.slice('bucket-except:'.length)}`;
  }
  if (expect.location.startsWith('replica:') && !location.startsWith(`${bucketUrl}/${expect.location.slice('replica:'.length)}/v2/`)) {
    return `Location ${location || '(none)'}, expected the origin replica ${expect.location.slice('replica:'.length)}`;
  }
  if (expect.location.startsWith('bucket:') && bucketName !== expect.location.slice('bucket:'.length)) {
    return `Location ${location || '(none)'}, expected bucket ${expect.location.slice('bucket:'.length)}`;
  }
  return undefined;
}
