import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { azureVerifier, gcsVerifier } from '../support/bucket-verifiers.js';
import { spawnServe, type Spawned } from '../support/cli.js';
import { get } from '../support/harness.js';
import { send, startPrivateBucket, type PrivateBucket, type RequestVerifier } from '../support/private-bucket.js';
import { writeConfig } from '../support/serve.js';
import { until } from '../support/wait.js';
import { AZURE_ACCOUNT, GCS_EMAIL, rsaPair, tempDir } from '../signing/fixtures.js';

/**
 * GCS V4 RSA (a service-account JSON key) and Azure SAS through the built server: every
 * Location is accepted by a bucket that verifies as the provider documents (the RSA public key
 * of the service account; the SAS string-to-sign and the account key), the existence HEADs are
 * signed and accepted, and when the credentials are rotated in their files the bucket stops
 * accepting the old ones and the server, after SIGHUP or POST /reload, signs with the new ones.
 */

const files = tempDir('registry-edge-rotation-');
const ORIGIN = 'http://origin.invalid';
const blobs = Array.from({ length: 4 }, () => randomBytes(1500));
const digests = blobs.map((bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`);

/** A verifier whose key can be replaced: the provider's side of a credential rotation. */
function swappable(first: RequestVerifier): { verifier: RequestVerifier; use(next: RequestVerifier): void } {
  let current = first;
  return { verifier: (request, nowMs) => current(request, nowMs), use: (next) => (current = next) };
}

function serviceAccountJson(privatePem: string): string {
  return JSON.stringify({ type: 'service_account', project_id: 'example-project', client_email: GCS_EMAIL, private_key: privatePem });
}

const gcsKeys = [rsaPair('rotation-a'), rsaPair('rotation-b')];
const azureKeys = [randomBytes(64).toString('base64'), randomBytes(64).toString('base64')];
const gcsCheck = (publicKey: KeyObject): RequestVerifier => gcsVerifier({ kind: 'rsa', clientEmail: GCS_EMAIL, publicKey });
const azureCheck = (accountKey: string): RequestVerifier => azureVerifier({ account: AZURE_ACCOUNT, accountKey });
const gcsSide = swappable(gcsCheck(gcsKeys[0]!.publicKey));
const azureSide = swappable(azureCheck(azureKeys[0]!));

let gcs: PrivateBucket;
let azure: PrivateBucket;
let edge: Spawned;
let admin: string;

const KINDS = {
  gcs: { network: '10.1.0.1', bucket: () => gcs, prefix: 'gcs-blobs' },
  azure: { network: '10.2.0.1', bucket: () => azure, prefix: `${AZURE_ACCOUNT}/registry-blobs` },
};

async function ask(kind: keyof typeof KINDS, digest: string): Promise<string> {
  const answer = await get(`http://127.0.0.1:${edge.port}`, `/v2/pause/blobs/${digest}`, { headers: { 'X-Forwarded-For': KINDS[kind].network } });
  expect(answer.status).toBe(307);
  return String(answer.headers.location);
}

/** The bucket's log lines for one object since `mark`. */
function logged(kind: keyof typeof KINDS, digest: string, mark = 0) {
  return KINDS[kind].bucket().log.slice(mark).filter((entry) => decodeURIComponent(entry.path).endsWith(digest));
}

function reloads(): number {
  return edge.lines.filter((line) => line.msg === 'reloaded').length;
}

beforeAll(async () => {
  for (const prefix of [KINDS.gcs.prefix, KINDS.azure.prefix]) {
    blobs.forEach((bytes, i) => files.write(`${prefix}/containers/images/${digests[i]}`, bytes));
  }
  files.write('secrets/service-account.json', serviceAccountJson(gcsKeys[0]!.privatePem));
  files.write('secrets/azure-key', `${azureKeys[0]}\n`);
  gcs = await startPrivateBucket({ dir: files.dir, verifier: gcsSide.verifier });
  azure = await startPrivateBucket({ dir: files.dir, verifier: azureSide.verifier });
  const config = writeConfig(join(files.dir, 'edge.yaml'), {
    origin: { url: ORIGIN },
    client_ip: { trusted_hops: 1 },
    blobs: { key: '/containers/images/{digest}' },
    buckets: [
      { name: 'gcs-private', url: `${gcs.url}/${KINDS.gcs.prefix}`, networks: ['10.1.0.0/16'], signing: { type: 'gcs', key_file: 'secrets/service-account.json' } },
      {
        name: 'azure-private',
        url: `${azure.url}/${KINDS.azure.prefix}`,
        networks: ['10.2.0.0/16'],
        signing: { type: 'azure', account: AZURE_ACCOUNT, key_file: 'secrets/azure-key', allow_http: true },
      },
    ],
  });
  edge = await spawnServe(['--config', config], { GOOGLE_APPLICATION_CREDENTIALS: '', AZURE_STORAGE_KEY: '' });
  const started = edge.lines.find((line) => line.msg === 'listening') as { admin_port?: number } | undefined;
  admin = `http://127.0.0.1:${String(started?.admin_port ?? '')}`;
}, 30_000);

afterAll(async () => {
  await edge?.stop();
  await gcs?.close();
  await azure?.close();
});

describe.each(['gcs', 'azure'] as const)('%s through the built server', (kind) => {
  it('the existence HEAD is signed and accepted, the Location is accepted, the unsigned URL refused', async () => {
    const location = await ask(kind, digests[0]!);
    const bucket = KINDS[kind].bucket();
    expect(location.startsWith(`${bucket.url}/${KINDS[kind].prefix}/containers/images/`)).toBe(true);
    expect(logged(kind, digests[0]!).map((entry) => [entry.method, entry.status])).toEqual([['HEAD', 200]]);
    const fetched = await send(bucket, 'GET', location);
    expect(fetched.status).toBe(200);
    expect(fetched.body.equals(blobs[0]!)).toBe(true);
    const unsigned = await send(bucket, 'GET', location.split('?')[0]!);
    expect([unsigned.status, unsigned.reason]).toEqual([403, 'unsigned']);
  });
});

describe('credentials are read again on reload', () => {
  it.each([
    ['gcs', 'SIGHUP'],
    ['azure', 'POST /reload'],
  ] as const)('%s: after the key file changes and %s, the new key signs redirects and HEADs', async (kind, trigger) => {
    const before = await ask(kind, digests[1]!);
    const bucket = KINDS[kind].bucket();
    expect((await send(bucket, 'GET', before)).status).toBe(200);

    // The provider side rotates first: the old key is revoked, its URLs are refused.
    if (kind === 'gcs') gcsSide.use(gcsCheck(gcsKeys[1]!.publicKey));
    else azureSide.use(azureCheck(azureKeys[1]!));
    expect((await send(bucket, 'GET', before)).reason).toBe('signature mismatch');
    if (kind === 'gcs') files.write('secrets/service-account.json', serviceAccountJson(gcsKeys[1]!.privatePem));
    else files.write('secrets/azure-key', `${azureKeys[1]}\n`);

    const done = reloads();
    if (trigger === 'SIGHUP') edge.child.kill('SIGHUP');
    else expect(JSON.parse((await get(admin, '/reload', { method: 'POST' })).body)).toMatchObject({ ok: true });
    await until(`the ${trigger} reload`, () => reloads() > done);

    const after = await ask(kind, digests[1]!);
    expect(after).not.toBe(before);
    const fetched = await send(bucket, 'GET', after);
    expect(fetched.status).toBe(200);
    expect(fetched.body.equals(blobs[1]!)).toBe(true);
    // A blob never checked before: its HEAD goes out signed with the new key and is accepted.
    const fresh = digests[kind === 'gcs' ? 2 : 3]!;
    const mark = bucket.log.length;
    expect((await ask(kind, fresh)).startsWith(`${bucket.url}/`)).toBe(true);
    expect(logged(kind, fresh, mark).map((entry) => [entry.method, entry.status])).toEqual([['HEAD', 200]]);
  });
});
