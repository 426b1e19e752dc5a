import { describe, expect, it } from 'vitest';
import { azureSigner, cloudFrontSigner, gcsSigner, redactSecrets, s3Signer } from '../../src/signing/index.js';
import { AWS, AZURE_KEY, GCS_HMAC, rsaPair, SIGNED_AT_MS } from './fixtures.js';

const pair = rsaPair('redact');
const signed = {
  s3: s3Signer({ region: 'eu-west-1', expiresS: 600, credentials: AWS }).presignGet('https://b.s3.eu-west-1.amazonaws.com/blobs/sha256:ab', SIGNED_AT_MS),
  cloudfront: cloudFrontSigner({ keyPairId: 'K2JCJMDEHXQW5F', privateKey: pair.privateKey, expiresS: 600, hash: 'sha1' }).presignGet('https://d1.cloudfront.net/blobs/sha256:ab', SIGNED_AT_MS),
  gcs: gcsSigner({ expiresS: 600, credentials: { kind: 'hmac', ...GCS_HMAC } }).presignGet('https://storage.googleapis.com/b/blobs/sha256:ab', SIGNED_AT_MS),
  azure: azureSigner({ account: 'acct', accountKey: Buffer.from(AZURE_KEY, 'base64'), expiresS: 600, allowHttp: false }).presignGet('https://acct.blob.core.windows.net/c/blobs/sha256:ab', SIGNED_AT_MS),
};

describe('redactSecrets', () => {
  it.each([
    ['s3', 'https://b.s3.eu-west-1.amazonaws.com/blobs/sha256%3Aab?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Content-Sha256=UNSIGNED-PAYLOAD&X-Amz-Credential=REDACTED&X-Amz-Date=20240501T123456Z&X-Amz-Expires=600&X-Amz-Security-Token=REDACTED&X-Amz-Signature=REDACTED&X-Amz-SignedHeaders=host'],
    ['cloudfront', `https://d1.cloudfront.net/blobs/sha256%3Aab?Expires=${SIGNED_AT_MS / 1000 + 600}&Key-Pair-Id=K2JCJMDEHXQW5F&Signature=REDACTED`],
    ['gcs', 'https://storage.googleapis.com/b/blobs/sha256%3Aab?X-Goog-Algorithm=GOOG4-HMAC-SHA256&X-Goog-Credential=REDACTED&X-Goog-Date=20240501T123456Z&X-Goog-Expires=600&X-Goog-SignedHeaders=host&X-Goog-Signature=REDACTED'],
    ['azure', 'https://acct.blob.core.windows.net/c/blobs/sha256%3Aab?sv=2022-11-02&spr=https&se=2024-05-01T12%3A44%3A56Z&sr=b&sp=r&sig=REDACTED'],
  ] as const)('%s: keeps host, path and harmless parameters, drops signature, credential and token', (type, expected) => {
    const out = redactSecrets(signed[type]);
    expect(out).toBe(expected);
    expect(out).not.toContain(AWS.accessKeyId);
    expect(out).not.toContain(GCS_HMAC.accessId);
  });

  it('finds URLs inside any text and ignores case', () => {
    const message = `HEAD ${signed.s3.replace('X-Amz-Signature', 'x-amz-signature')} failed: 403; retry "${signed.azure}"`;
    const out = redactSecrets(message);
    expect(out).toMatch(/^HEAD https:\/\/b\.s3\.eu-west-1\.amazonaws\.com\/blobs\/sha256%3Aab\?/);
    expect(out).toContain('x-amz-signature=REDACTED&');
    expect(out).toContain('sig=REDACTED"');
    expect(out).toContain('failed: 403; retry');
    expect(out).not.toMatch(/[0-9a-f]{64}/);
  });

  it('covers CloudFront custom policies and the V2 schemes', () => {
    expect(redactSecrets('https://d/k?Policy=eyJ&Signature=abc&Key-Pair-Id=K1')).toBe('https://d/k?Policy=REDACTED&Signature=REDACTED&Key-Pair-Id=K1');
    expect(redactSecrets('https://s/k?AWSAccessKeyId=AKIA&Expires=1&Signature=x')).toBe('https://s/k?AWSAccessKeyId=REDACTED&Expires=1&Signature=REDACTED');
    expect(redactSecrets('https://g/k?GoogleAccessId=a%40b&Signature=x')).toBe('https://g/k?GoogleAccessId=REDACTED&Signature=REDACTED');
  });

  it('leaves text without secrets as it was', () => {
    for (const text of ['https://b.s3.amazonaws.com/k', 'https://b/k?signed=1&sigma=2', 'no url here', 'a=b']) expect(redactSecrets(text)).toBe(text);
  });
});
