/**
 * Real clients pull through registry-edge from PRIVATE buckets: loopback servers that verify
 * every request's signature as the provider does (test/support/bucket-verifiers.ts: the AWS
 * SDK's own SigV4 code, the CloudFront canned policy and the GCS V4 RSA string-to-sign checked
 * with the public key, the Azure SAS string-to-sign from Microsoft's documentation) and answer 403 to anything unsigned,
 * expired or tampered with. The blobs are the ones the e2e origin serves; the pull can only
 * succeed through the signed redirects (and signed existence HEADs) of the built server.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryBlobRequest, targetPath, type AccessRecord } from '../support/e2e/access-log.js';
import { APP_REPO } from '../support/e2e/fixtures.js';
import { startFrontDoor, type FrontDoor, type FrontDoorBucket } from '../support/e2e/front-door.js';
import { BLOB_KEY_PREFIX } from '../support/e2e/nginx-bucket.js';
import { Podman, podmanUnavailableReason } from '../support/e2e/podman.js';
import { pulledDigest, storedBlobDigest } from '../support/e2e/pulled-layout.js';
import { describeFailure } from '../support/e2e/skopeo.js';
import { createWorld, recordsSince, repositoryBlobs, type World } from '../support/e2e/world.js';
import { azureVerifier, cloudFrontVerifier, gcsVerifier, s3Verifier } from '../support/bucket-verifiers.js';
import { send, startPrivateBucket, type BucketLogEntry, type PrivateBucket, type RequestVerifier } from '../support/private-bucket.js';
import { freePort } from '../support/ports.js';
import { parseMetrics, value } from '../support/serve.js';
import { until } from '../support/wait.js';
import { AWS, AZURE_ACCOUNT, AZURE_KEY, GCS_EMAIL } from '../signing/fixtures.js';

const LOOPBACK = ['127.0.0.0/8', '::1/128'];
const EXPIRES_S = 600;
const gcsKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const cloudFrontKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const KEY_PAIR_ID = 'K2JCJMDEHXQW5F';
const awsKeys = { accessKeyId: AWS.accessKeyId, secretAccessKey: AWS.secretAccessKey };

interface Kind {
  name: 's3' | 'cloudfront' | 'gcs' | 'azure';
  verifier: RequestVerifier;
  /** Path of the bucket on its server: the bucket URL is `<server>/<prefix>`. */
  prefix: string;
  /** The signing block, with credential files relative to the config's folder. */
  signing: Record<string, unknown>;
  /** Signs the method, so a GET URL is refused for HEAD. */
  methodSigned: boolean;
}

const KINDS: Kind[] = [
  {
    name: 's3',
    verifier: s3Verifier({ region: 'eu-west-1', credentials: awsKeys }),
    prefix: 'registry-blobs',
    signing: { type: 's3', region: 'eu-west-1', expires_s: EXPIRES_S, access_key_id_file: 'secrets/aws-id', secret_access_key_file: 'secrets/aws-secret' },
    methodSigned: true,
  },
  {
    name: 'cloudfront',
    verifier: cloudFrontVerifier({ keyPairId: KEY_PAIR_ID, publicKey: cloudFrontKey.publicKey }),
    prefix: 'cdn',
    signing: { type: 'cloudfront', key_pair_id: KEY_PAIR_ID, key_file: 'secrets/cloudfront.pem', expires_s: EXPIRES_S },
    methodSigned: false,
  },
  {
    name: 'gcs',
    verifier: gcsVerifier({ kind: 'rsa', clientEmail: GCS_EMAIL, publicKey: gcsKey.publicKey }),
    prefix: 'gcs-registry-blobs',
    signing: { type: 'gcs', expires_s: EXPIRES_S, key_file: 'secrets/service-account.json' },
    methodSigned: true,
  },
  {
    name: 'azure',
    verifier: azureVerifier({ account: AZURE_ACCOUNT, accountKey: AZURE_KEY }),
    prefix: `${AZURE_ACCOUNT}/registry-blobs`,
    // The local server speaks plain HTTP, as Azurite does; Azure itself gets an HTTPS-only SAS.
    signing: { type: 'azure', account: AZURE_ACCOUNT, key_file: 'secrets/azure-key', allow_http: true, expires_s: EXPIRES_S },
    methodSigned: false,
  },
];

let world: World;
/** Added to the buckets' clock: lets a test look at a URL from after its expiry. */
let bucketClockSkewMs = 0;
const buckets = new Map<Kind['name'], PrivateBucket>();
const doors = new Map<Kind['name'] | 'wrong-s3', FrontDoor>();
let sentinel = 0;
let wrongDoorAdmin = 0;

function bucketOf(name: Kind['name']): PrivateBucket {
  const bucket = buckets.get(name);
  if (bucket === undefined) throw new Error(`no ${name} bucket`);
  return bucket;
}

function doorOf(name: Kind['name'] | 'wrong-s3'): FrontDoor {
  const door = doors.get(name);
  if (door === undefined) throw new Error(`no ${name} door`);
  return door;
}

function blobSize(digest: string): number {
  const bytes = repositoryBlobs(world.fixtures, APP_REPO).get(digest);
  if (bytes === undefined) throw new Error(`unknown blob ${digest}`);
  return bytes.length;
}

function imageBlobs(tag: string): string[] {
  const image = world.fixtures.app.get(tag);
  if (image === undefined) throw new Error(`no fixture ${APP_REPO}:${tag}`);
  return image.blobDigests;
}

/** A bucket serves the e2e blobs through `<prefix>` → bucket A's folder (filled from the origin). */
async function startBucket(kind: Kind): Promise<PrivateBucket> {
  const dir = join(world.dir, 'private', kind.name);
  const link = join(dir, kind.prefix);
  await mkdir(dirname(link), { recursive: true });
  await symlink(world.bucketA.rootDir, link);
  const bucket = await startPrivateBucket({ dir, verifier: kind.verifier, now: () => Date.now() + bucketClockSkewMs });
  world.onClose(() => bucket.close());
  return bucket;
}

async function writeSecrets(dir: string): Promise<void> {
  const secrets: Array<[string, string]> = [
    ['aws-id', `${AWS.accessKeyId}\n`],
    ['aws-secret', `${AWS.secretAccessKey}\n`],
    ['aws-wrong-secret', 'not-the-secret-access-key\n'],
    ['azure-key', `${AZURE_KEY}\n`],
    ['cloudfront.pem', cloudFrontKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()],
    ['service-account.json', JSON.stringify({
      type: 'service_account',
      project_id: 'example-project',
      client_email: GCS_EMAIL,
      private_key: gcsKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    })],
  ];
  await mkdir(join(dir, 'secrets'), { recursive: true });
  for (const [name, text] of secrets) await writeFile(join(dir, 'secrets', name), text, { mode: 0o600 });
}

async function startDoor(label: string, bucket: FrontDoorBucket, adminPort?: number): Promise<FrontDoor> {
  const door = await startFrontDoor(label, world.dir, {
    ...(adminPort === undefined ? {} : { adminPort }),
    originUrl: world.origin.url,
    rangesFile: join(world.dir, 'no-cloud-ranges.mmdb'),
    buckets: [{ ...bucket, networks: LOOPBACK }],
    // No default: a blob the private bucket will not give goes to the origin.
    defaultBucket: '',
  });
  world.onClose(() => door.process.stop());
  return door;
}

/** Runs `action`; returns what the origin and the bucket logged meanwhile. */
async function observe<T>(bucket: PrivateBucket, action: () => Promise<T>): Promise<{ result: T; origin: AccessRecord[]; bucket: BucketLogEntry[] }> {
  const originMark = world.origin.records().length;
  const bucketMark = bucket.log.length;
  const result = await action();
  sentinel += 1;
  const origin = await recordsSince(originMark, () => world.origin.records(), `${world.origin.url}/v2/?private-sentinel=${sentinel}`);
  return { result, origin, bucket: bucket.log.slice(bucketMark) };
}

function objectDigest(entry: BucketLogEntry): string {
  return decodeURIComponent(entry.path.slice(entry.path.lastIndexOf('/') + 1));
}

/** Every blob came whole from the bucket, none from the origin, and the bucket refused nothing. */
function expectBlobsFromBucket(seen: { origin: AccessRecord[]; bucket: BucketLogEntry[] }, blobs: string[]): void {
  expect(seen.bucket.filter((entry) => entry.status !== 200), 'the bucket refused none of the edge\'s signed requests').toEqual([]);
  expect(seen.origin.filter((record) => registryBlobRequest(record) !== undefined), 'the origin must not serve any blob').toEqual([]);
  for (const digest of blobs) {
    const gets = seen.bucket.filter((entry) => entry.method === 'GET' && objectDigest(entry) === digest);
    expect(gets.length, `signed GETs of ${digest}`).toBeGreaterThanOrEqual(1);
    for (const get of gets) expect(get.bytes, `bytes of ${digest}`).toBe(blobSize(digest));
  }
  // The existence checker is on: its HEADs were signed too, and accepted.
  expect(seen.bucket.some((entry) => entry.method === 'HEAD' && entry.status === 200)).toBe(true);
}

beforeAll(async () => {
  world = await createWorld();
  await mkdir(join(world.dir, 'pulls'), { recursive: true });
  await writeSecrets(world.dir);
  for (const kind of KINDS) buckets.set(kind.name, await startBucket(kind));
  for (const kind of KINDS) {
    doors.set(kind.name, await startDoor(`private-${kind.name}`, { name: `${kind.name}-private`, url: `${bucketOf(kind.name).url}/${kind.prefix}`, signing: kind.signing }));
  }
  const s3 = KINDS[0] as Kind;
  doors.set('wrong-s3', await startDoor('private-wrong-s3', {
    name: 's3-wrong-key',
    url: `${bucketOf('s3').url}/${s3.prefix}`,
    signing: { ...s3.signing, secret_access_key_file: 'secrets/aws-wrong-secret' },
  }, wrongDoorAdmin = await freePort()));
});

afterAll(async () => {
  await world?.close();
});

describe.each(KINDS)('the $name bucket is really private', (kind) => {
  it('refuses the unsigned object URL, GET and HEAD, and a tampered or expired signed URL', async () => {
    const bucket = bucketOf(kind.name);
    const digest = world.fixtures.bigLayerDigest;
    const objectUrl = `${bucket.url}/${kind.prefix}${BLOB_KEY_PREFIX}${digest}`;
    for (const method of ['GET', 'HEAD'] as const) {
      const unsigned = await send(bucket, method, objectUrl);
      expect([unsigned.status, unsigned.reason], `unsigned ${method}`).toEqual([403, 'unsigned']);
    }
    const answer = await fetch(`${doorOf(kind.name).url}/v2/${APP_REPO}/blobs/${digest}`, { redirect: 'manual' });
    expect(answer.status).toBe(307);
    const location = answer.headers.get('location') ?? '';
    expect(location.startsWith(`${bucket.url}/${kind.prefix}${BLOB_KEY_PREFIX}`)).toBe(true);
    expect(decodeURIComponent(new URL(location).pathname)).toBe(`/${kind.prefix}${BLOB_KEY_PREFIX}${digest}`);
    const signed = await send(bucket, 'GET', location);
    expect(signed.status).toBe(200);
    expect(signed.body.length).toBe(blobSize(digest));

    const other = imageBlobs('1.0')[0] ?? '';
    const swapped = location.replace(digest.slice('sha256:'.length), other.slice('sha256:'.length));
    expect(swapped).not.toBe(location);
    expect((await send(bucket, 'GET', swapped)).status).toBe(403);
    if (kind.methodSigned) expect((await send(bucket, 'HEAD', location)).reason).toBe('signature mismatch');

    bucketClockSkewMs = (EXPIRES_S + 1) * 1000;
    try {
      const late = await send(bucket, 'GET', location);
      expect([late.status, late.reason]).toEqual([403, 'expired']);
    } finally {
      bucketClockSkewMs = 0;
    }
  });
});

describe.each(KINDS)('skopeo pulls from the private $name bucket through signed redirects', (kind) => {
  it('gets the image: manifest from the origin, every blob byte from the private bucket', async () => {
    const tag = '1.0';
    const out = join(world.dir, 'pulls', `private-${kind.name}`);
    const door = doorOf(kind.name);
    const seen = await observe(bucketOf(kind.name), () => world.skopeo.pull(`${door.host}/${APP_REPO}:${tag}`, out, tag));
    expect(seen.result.code, describeFailure('skopeo copy', seen.result)).toBe(0);
    expect(await pulledDigest(out, tag)).toBe(world.fixtures.app.get(tag)?.descriptor.digest);
    for (const digest of imageBlobs(tag)) expect(await storedBlobDigest(out, digest)).toBe(digest);
    expect(seen.origin.some((record) => record.method === 'GET' && record.status === 200 && targetPath(record) === `/v2/${APP_REPO}/manifests/${tag}`)).toBe(true);
    expectBlobsFromBucket(seen, imageBlobs(tag));
  });
});

const podmanSkipReason = podmanUnavailableReason();
if (podmanSkipReason !== undefined) console.warn(`[e2e] skipping the private-bucket podman pulls: ${podmanSkipReason}`);

describe.each(KINDS)('podman pulls from the private $name bucket', (kind) => {
  it.skipIf(podmanSkipReason !== undefined)('podman pull (vfs) gets the image, every blob from the private bucket', async () => {
    const tag = '1.1';
    // podman refuses a runroot path over 50 characters.
    const podman = await Podman.create(join(world.dir, `pp-${kind.name.slice(0, 3)}`), world.skopeo.policyFile, world.skopeo.env);
    const seen = await observe(bucketOf(kind.name), () => podman.pull(`${doorOf(kind.name).host}/${APP_REPO}:${tag}`));
    expect(seen.result.code, describeFailure('podman pull', seen.result)).toBe(0);
    expect(seen.result.stdout.trim().split('\n').pop()).toBe((imageBlobs(tag)[0] ?? '').slice('sha256:'.length));
    expectBlobsFromBucket(seen, imageBlobs(tag));
  });
});

describe('wrong credentials', () => {
  it('the pull still succeeds, every blob from the origin; the refusal is in the log and the metrics', async () => {
    const tag = '1.2';
    const door = doorOf('wrong-s3');
    const out = join(world.dir, 'pulls', 'private-wrong-s3');
    const seen = await observe(bucketOf('s3'), () => world.skopeo.pull(`${door.host}/${APP_REPO}:${tag}`, out, tag));
    expect(seen.result.code, describeFailure('skopeo copy', seen.result)).toBe(0);
    expect(await pulledDigest(out, tag)).toBe(world.fixtures.app.get(tag)?.descriptor.digest);

    expect(seen.bucket.filter((entry) => entry.method === 'GET'), 'no blob from the bucket').toEqual([]);
    expect(seen.bucket.length, 'a refused HEAD or more').toBeGreaterThan(0);
    expect(seen.bucket.every((entry) => entry.status === 403 && entry.reason === 'signature mismatch')).toBe(true);
    const originBlobs = new Set(seen.origin.filter((record) => record.method === 'GET' && record.status === 200).map((record) => registryBlobRequest(record)?.digest));
    for (const digest of imageBlobs(tag)) expect(originBlobs, `origin GET of ${digest}`).toContain(digest);

    const refusal = () => door.process.stdoutLines.find((line) => line.includes('refused a signed existence check'));
    await until('the refusal log line', () => refusal() !== undefined);
    const logged = JSON.parse(refusal() ?? '{}') as { bucket?: string; url?: string; reason?: string };
    expect(logged.bucket).toBe('s3-wrong-key');
    expect(logged.reason).toContain('signature refused (403)');
    expect(logged.url).toContain('X-Amz-Signature=REDACTED');

    const metrics = parseMetrics(await (await fetch(`http://127.0.0.1:${wrongDoorAdmin}/metrics`)).text());
    expect(value(metrics, 'registry_edge_signing_failures_total', { bucket: 's3-wrong-key' })).toBeGreaterThanOrEqual(1);
    expect(value(metrics, 'registry_edge_existence_checks_total', { bucket: 's3-wrong-key', result: 'signature_refused' })).toBeGreaterThanOrEqual(1);
  });
});
