import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { describe, expect, it } from 'vitest';
import { s3Signer, type S3Credentials } from '../../src/signing/index.js';
import { AWS, objectUrl, SIGNED_AT_MS, SPECIAL_KEYS } from './fixtures.js';

/**
 * Byte-for-byte agreement with the AWS SDK v3 presigner. Two SDK features add parameters that
 * are not part of presigning: response checksums (`x-amz-checksum-mode=ENABLED`, off here
 * with `WHEN_REQUIRED`) and the operation name `x-id=GetObject`, which a build-step
 * middleware drops before the SDK signs, so the comparison is with the SDK's own signature
 * over the same request.
 */

interface Case {
  region: string;
  bucket: string;
  style: 'virtual' | 'path';
  endpoint?: string;
  token: boolean;
  key: string;
}

function client(c: Case): S3Client {
  const credentials: S3Credentials = { accessKeyId: AWS.accessKeyId, secretAccessKey: AWS.secretAccessKey };
  if (c.token) credentials.sessionToken = AWS.sessionToken;
  const s3 = new S3Client({ region: c.region, credentials, forcePathStyle: c.style === 'path', requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', ...(c.endpoint ? { endpoint: c.endpoint } : {}) });
  s3.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { query: Record<string, unknown> };
      delete request.query['x-id'];
      return next(args);
    },
    { step: 'build', name: 'dropOperationParams' },
  );
  return s3;
}

function bucketOrigin(c: Case): string {
  if (c.endpoint) return `${c.endpoint}/${c.bucket}`;
  return c.style === 'path' ? `https://s3.${c.region}.amazonaws.com/${c.bucket}` : `https://${c.bucket}.s3.${c.region}.amazonaws.com`;
}

const cases: Case[] = [];
for (const region of ['us-east-1', 'eu-west-1', 'ap-southeast-2', 'sa-east-1']) {
  for (const style of ['virtual', 'path'] as const) {
    for (const token of [false, true]) cases.push({ region, bucket: 'registry-edge-blobs', style, token, key: 'containers/images/sha256:' + 'b'.repeat(64) });
  }
}
for (const key of SPECIAL_KEYS) cases.push({ region: 'eu-central-1', bucket: 'my.dotted.bucket', style: 'path', token: true, key });
for (const key of SPECIAL_KEYS) cases.push({ region: 'us-west-2', bucket: 'plain-bucket', style: 'virtual', token: false, key });
// S3-compatible stores: MinIO on a port, Cloudflare R2 with region `auto`.
cases.push({ region: 'us-east-1', bucket: 'minio-bucket', style: 'path', endpoint: 'http://127.0.0.1:9000', token: false, key: 'blobs/sha256:1234' });
cases.push({ region: 'auto', bucket: 'r2-bucket', style: 'path', endpoint: 'https://0123456789abcdef.r2.cloudflarestorage.com', token: true, key: 'blobs/sha256:1234' });

describe('S3 presigned URLs agree with @aws-sdk/s3-request-presigner', () => {
  it.each(cases)('$region $style token=$token key=$key', async (c) => {
    const creds: S3Credentials = { accessKeyId: AWS.accessKeyId, secretAccessKey: AWS.secretAccessKey };
    if (c.token) creds.sessionToken = AWS.sessionToken;
    const ours = s3Signer({ region: c.region, expiresS: 600, credentials: creds });
    const url = objectUrl(bucketOrigin(c), c.key);
    const s3 = client(c);
    const options = { expiresIn: 600, signingDate: new Date(SIGNED_AT_MS) };
    const sdkGet = await getSignedUrl(s3, new GetObjectCommand({ Bucket: c.bucket, Key: c.key }), options);
    const sdkHead = await getSignedUrl(s3, new HeadObjectCommand({ Bucket: c.bucket, Key: c.key }), options);
    expect(ours.presignGet(url, SIGNED_AT_MS)).toBe(sdkGet);
    expect(ours.signedHead(url, SIGNED_AT_MS)).toEqual({ url: sdkHead });
  });

  it('signs the same URL for an object URL with a raw colon and its encoded spelling', () => {
    const signer = s3Signer({ region: 'us-east-1', expiresS: 600, credentials: AWS });
    const raw = signer.presignGet('https://b.s3.us-east-1.amazonaws.com/blobs/sha256:abc', SIGNED_AT_MS);
    expect(signer.presignGet(new URL('https://b.s3.us-east-1.amazonaws.com/blobs/sha256%3Aabc'), SIGNED_AT_MS)).toBe(raw);
    expect(raw).toContain('/blobs/sha256%3Aabc?');
  });

  it('names every SigV4 query parameter, the token only with temporary credentials', () => {
    const permanent = s3Signer({ region: 'eu-west-1', expiresS: 900, credentials: { accessKeyId: AWS.accessKeyId, secretAccessKey: AWS.secretAccessKey } });
    const temporary = s3Signer({ region: 'eu-west-1', expiresS: 900, credentials: AWS });
    const a = new URL(permanent.presignGet('https://b.s3.eu-west-1.amazonaws.com/k', SIGNED_AT_MS)).searchParams;
    const b = new URL(temporary.presignGet('https://b.s3.eu-west-1.amazonaws.com/k', SIGNED_AT_MS)).searchParams;
    expect(a.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(a.get('X-Amz-Credential')).toBe(`${AWS.accessKeyId}/20240501/eu-west-1/s3/aws4_request`);
    expect(a.get('X-Amz-Date')).toBe('20240501T123456Z');
    expect(a.get('X-Amz-Expires')).toBe('900');
    expect(a.get('X-Amz-SignedHeaders')).toBe('host');
    expect(a.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);
    expect(a.has('X-Amz-Security-Token')).toBe(false);
    expect(b.get('X-Amz-Security-Token')).toBe(AWS.sessionToken);
  });

  it('refuses an object URL with a query: the key template can never produce one', () => {
    const signer = s3Signer({ region: 'us-east-1', expiresS: 600, credentials: AWS });
    expect(() => signer.presignGet('https://b.s3.amazonaws.com/k?x=1', SIGNED_AT_MS)).toThrow(/query/);
  });
});
