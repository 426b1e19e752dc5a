import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeadClient } from '../../src/blobs/head.js';
import {
  azureSigner,
  cloudFrontSigner,
  gcsSigner,
  s3Signer,
  SignedUrlCache,
  type BlobSigner,
} from '../../src/signing/index.js';
import { azureVerifier, cloudFrontVerifier, gcsVerifier, s3Verifier } from '../support/bucket-verifiers.js';
import { send, startPrivateBucket, type PrivateBucket, type RequestVerifier } from '../support/private-bucket.js';
import { AWS, AZURE_ACCOUNT, AZURE_KEY, GCS_EMAIL, GCS_HMAC, rsaPair, SIGNED_AT_MS, tempDir } from './fixtures.js';

/**
 * Every signer against a bucket that refuses what its provider would refuse: real HTTP on
 * loopback, real files, and a verifier that is not src/signing (SDK code, or the public key).
 */

const EXPIRES_S = 600;
const key = rsaPair('bucket');
const otherKey = rsaPair('bucket-other');
const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;
const files = tempDir();
const blobs = [randomBytes(4096), randomBytes(1000), randomBytes(1)];
let clockMs = SIGNED_AT_MS;

interface Kind {
  name: string;
  signer: BlobSigner;
  verifier: RequestVerifier;
  /** Base URL of the bucket for a server on `origin`; files live under `prefix`. */
  base(origin: string): string;
  prefix: string;
  /** Signs the method too, so a HEAD URL does not work for GET. */
  methodSigned: boolean;
  wrong: { signer: BlobSigner; reason: string };
}

const awsTemp = { ...AWS };
const awsPermanent = { accessKeyId: AWS.accessKeyId, secretAccessKey: AWS.secretAccessKey };
const azureKey = Buffer.from(AZURE_KEY, 'base64');
const gcsRsa = { kind: 'service-account' as const, clientEmail: GCS_EMAIL, privateKey: key.privateKey };

const kinds: Kind[] = [
  {
    name: 's3 path-style',
    signer: s3Signer({ region: 'eu-west-1', expiresS: EXPIRES_S, credentials: awsPermanent }),
    verifier: s3Verifier({ region: 'eu-west-1', credentials: awsPermanent }),
    base: (origin) => `${origin}/registry-blobs`,
    prefix: 'registry-blobs',
    methodSigned: true,
    wrong: { signer: s3Signer({ region: 'us-east-1', expiresS: EXPIRES_S, credentials: awsPermanent }), reason: 'wrong region: signed for us-east-1, the bucket is in eu-west-1' },
  },
  {
    name: 's3 virtual-hosted, session token',
    signer: s3Signer({ region: 'eu-west-1', expiresS: EXPIRES_S, credentials: awsTemp }),
    verifier: s3Verifier({ region: 'eu-west-1', credentials: awsTemp }),
    // Sent to loopback with this Host header, as a client would send it to S3.
    base: () => 'http://registry-blobs.s3.eu-west-1.amazonaws.com',
    prefix: '',
    methodSigned: true,
    wrong: { signer: s3Signer({ region: 'eu-west-1', expiresS: EXPIRES_S, credentials: { ...awsTemp, sessionToken: 'stale' } }), reason: 'bad security token' },
  },
  ...(['sha1', 'sha256'] as const).map((hash) => ({
    name: `cloudfront ${hash}`,
    signer: cloudFrontSigner({ keyPairId: 'K2JCJMDEHXQW5F', privateKey: key.privateKey, expiresS: EXPIRES_S, hash }),
    verifier: cloudFrontVerifier({ keyPairId: 'K2JCJMDEHXQW5F', publicKey: key.publicKey }),
    base: (origin: string) => `${origin}/cdn`,
    prefix: 'cdn',
    methodSigned: false,
    wrong: { signer: cloudFrontSigner({ keyPairId: 'K2JCJMDEHXQW5F', privateKey: otherKey.privateKey, expiresS: EXPIRES_S, hash }), reason: 'signature mismatch' },
  })),
  {
    name: 'gcs RSA',
    signer: gcsSigner({ expiresS: EXPIRES_S, credentials: gcsRsa }),
    verifier: gcsVerifier({ kind: 'rsa', clientEmail: GCS_EMAIL, publicKey: key.publicKey }),
    base: (origin) => `${origin}/gcs-bucket`,
    prefix: 'gcs-bucket',
    methodSigned: true,
    wrong: { signer: gcsSigner({ expiresS: EXPIRES_S, credentials: { ...gcsRsa, privateKey: otherKey.privateKey } }), reason: 'signature mismatch' },
  },
  {
    name: 'gcs HMAC',
    signer: gcsSigner({ expiresS: EXPIRES_S, credentials: { kind: 'hmac', ...GCS_HMAC } }),
    verifier: gcsVerifier({ kind: 'hmac', ...GCS_HMAC }),
    base: (origin) => `${origin}/gcs-bucket`,
    prefix: 'gcs-bucket',
    methodSigned: true,
    wrong: { signer: gcsSigner({ expiresS: EXPIRES_S, credentials: { kind: 'hmac', accessId: GCS_HMAC.accessId, secret: 'rotated' } }), reason: 'signature mismatch' },
  },
  {
    name: 'azure',
    signer: azureSigner({ account: AZURE_ACCOUNT, accountKey: azureKey, expiresS: EXPIRES_S, allowHttp: true }),
    verifier: azureVerifier({ account: AZURE_ACCOUNT, accountKey: AZURE_KEY }),
    base: (origin) => `${origin}/${AZURE_ACCOUNT}/registry-blobs`,
    prefix: `${AZURE_ACCOUNT}/registry-blobs`,
    methodSigned: false,
    wrong: { signer: azureSigner({ account: AZURE_ACCOUNT, accountKey: randomBytes(64), expiresS: EXPIRES_S, allowHttp: true }), reason: 'signature mismatch' },
  },
];

for (const kind of kinds) {
  blobs.forEach((bytes, i) => files.write(`${kind.prefix}/containers/images/${digest(i)}`.replace(/^\//, ''), bytes));
}

describe.each(kinds)('private bucket: $name', (kind) => {
  let bucket: PrivateBucket;
  let base: string;
  const url = (n: number) => `${base}/containers/images/${digest(n)}`;

  beforeAll(async () => {
    bucket = await startPrivateBucket({ verifier: kind.verifier, dir: files.dir, now: () => clockMs });
    base = kind.base(bucket.url);
  });
  afterAll(() => bucket.close());

  it('serves the blob for a signed GET and answers a signed HEAD with its size', async () => {
    clockMs = SIGNED_AT_MS + 1_000;
    const get = await send(bucket, 'GET', kind.signer.presignGet(url(0), SIGNED_AT_MS));
    expect(get.status).toBe(200);
    expect(get.body.equals(blobs[0] as Buffer)).toBe(true);
    const head = await send(bucket, 'HEAD', kind.signer.signedHead(url(1), SIGNED_AT_MS).url);
    expect([head.status, head.headers['content-length'], head.body.length]).toEqual([200, '1000', 0]);
  });

  it('refuses an unsigned request, GET and HEAD', async () => {
    for (const method of ['GET', 'HEAD'] as const) {
      const reply = await send(bucket, method, url(0));
      expect([reply.status, reply.reason]).toEqual([403, 'unsigned']);
    }
  });

  it('refuses an expired URL; asking again gives a fresh one that works', async () => {
    const cache = new SignedUrlCache({ signer: kind.signer, objectUrl: (d) => `${base}/containers/images/${d}`, maxBytes: 1 << 20 });
    const first = cache.get(digest(2), SIGNED_AT_MS);
    clockMs = SIGNED_AT_MS + (EXPIRES_S + 1) * 1000;
    const late = await send(bucket, 'GET', first);
    expect([late.status, late.reason]).toEqual([403, 'expired']);
    const again = cache.get(digest(2), clockMs);
    expect(again).not.toBe(first);
    const fresh = await send(bucket, 'GET', again);
    expect(fresh.status).toBe(200);
    expect(fresh.body.equals(blobs[2] as Buffer)).toBe(true);
  });

  it('refuses a URL whose path or signature was changed', async () => {
    clockMs = SIGNED_AT_MS + 1_000;
    const signed = kind.signer.presignGet(url(0), SIGNED_AT_MS);
    const otherBlob = signed.replace(digest(0).slice(7), digest(1).slice(7));
    const swapped = await send(bucket, 'GET', otherBlob);
    expect([swapped.status, swapped.reason]).toEqual([403, 'signature mismatch']);
    const flipped = signed.replace(/((?:Signature|sig)=)(.)/, (_m, name: string, c: string) => name + (c === 'A' ? 'B' : 'A'));
    expect(flipped).not.toBe(signed);
    expect((await send(bucket, 'HEAD', flipped)).status).toBe(403);
  });

  it('refuses a URL signed with the wrong credentials or region', async () => {
    clockMs = SIGNED_AT_MS + 1_000;
    const reply = await send(bucket, 'GET', kind.wrong.signer.presignGet(url(0), SIGNED_AT_MS));
    expect([reply.status, reply.reason]).toEqual([403, kind.wrong.reason]);
  });

  it('answers 404 for a correctly signed URL of a blob it does not hold', async () => {
    clockMs = SIGNED_AT_MS + 1_000;
    expect((await send(bucket, 'HEAD', kind.signer.signedHead(url(9), SIGNED_AT_MS).url)).status).toBe(404);
  });

  it.runIf(kind.methodSigned)('refuses a HEAD URL used for GET: the method is signed', async () => {
    clockMs = SIGNED_AT_MS + 1_000;
    const reply = await send(bucket, 'GET', kind.signer.signedHead(url(0), SIGNED_AT_MS).url);
    expect([reply.status, reply.reason]).toEqual([403, 'signature mismatch']);
  });

  it.runIf(kind.base('http://127.0.0.1').startsWith('http://127.0.0.1'))('the existence checker finds a blob with a signed HEAD and not without', async () => {
    clockMs = Date.now();
    const client = new HeadClient({ timeoutMs: 2_000, maxSockets: 2 });
    try {
      expect(await client.head(kind.signer.signedHead(url(1), Date.now()).url)).toEqual({ outcome: 'present', status: 200 });
      expect((await client.head(url(1))).status).toBe(403);
    } finally {
      client.close();
    }
  });
});

describe('private bucket: azure HTTPS-only SAS', () => {
  it('is refused over plain HTTP, as Azure refuses it', async () => {
    const bucket = await startPrivateBucket({ verifier: azureVerifier({ account: AZURE_ACCOUNT, accountKey: AZURE_KEY }), dir: files.dir, now: () => SIGNED_AT_MS });
    try {
      const httpsOnly = azureSigner({ account: AZURE_ACCOUNT, accountKey: azureKey, expiresS: EXPIRES_S, allowHttp: false });
      const reply = await send(bucket, 'GET', httpsOnly.presignGet(`${bucket.url}/${AZURE_ACCOUNT}/registry-blobs/containers/images/${digest(0)}`, SIGNED_AT_MS));
      expect([reply.status, reply.reason]).toEqual([403, 'HTTPS only']);
      expect(bucket.log).toEqual([{ method: 'GET', path: `/${AZURE_ACCOUNT}/registry-blobs/containers/images/${encodeURIComponent(digest(0))}`, status: 403, bytes: 0, reason: 'HTTPS only' }]);
    } finally {
      await bucket.close();
    }
  });
});
