import { getSignedUrl } from '@aws-sdk/cloudfront-signer';
import { describe, expect, it } from 'vitest';
import { cloudFrontSigner } from '../../src/signing/index.js';
import { objectUrl, rsaPair, SIGNED_AT_MS, SPECIAL_KEYS } from './fixtures.js';

/** Byte-for-byte agreement with @aws-sdk/cloudfront-signer, canned policy, both hashes. */

const KEY_PAIR_ID = 'K2JCJMDEHXQW5F';
const hosts = ['https://d111111abcdef8.cloudfront.net', 'https://blobs.example.com/registry', 'http://127.0.0.1:8443'];

describe('CloudFront signed URLs agree with @aws-sdk/cloudfront-signer', () => {
  const pair = rsaPair('cloudfront');
  const cases = (['sha1', 'sha256'] as const).flatMap((hash) => hosts.flatMap((host) => SPECIAL_KEYS.map((key) => ({ hash, host, key }))));

  it.each(cases)('$hash $host $key', ({ hash, host, key }) => {
    const ours = cloudFrontSigner({ keyPairId: KEY_PAIR_ID, privateKey: pair.privateKey, expiresS: 600, hash });
    const url = objectUrl(host, key);
    const sdk = getSignedUrl({
      url,
      keyPairId: KEY_PAIR_ID,
      privateKey: pair.privatePem,
      dateLessThan: new Date(SIGNED_AT_MS + 600_000).toISOString(),
      ...(hash === 'sha256' ? { algorithm: 'SHA256' as const } : {}),
    });
    expect(ours.presignGet(url, SIGNED_AT_MS)).toBe(sdk);
    expect(ours.signedHead(new URL(url), SIGNED_AT_MS).url).toBe(sdk);
  });

  it('hands out Expires, Key-Pair-Id and a URL-safe Signature, and no policy', () => {
    const ours = cloudFrontSigner({ keyPairId: KEY_PAIR_ID, privateKey: pair.privateKey, expiresS: 900, hash: 'sha1' });
    const signed = new URL(ours.presignGet('https://d111111abcdef8.cloudfront.net/blobs/sha256:ab', SIGNED_AT_MS));
    expect([...signed.searchParams.keys()]).toEqual(['Expires', 'Key-Pair-Id', 'Signature']);
    expect(signed.searchParams.get('Expires')).toBe(String(SIGNED_AT_MS / 1000 + 900));
    expect(signed.searchParams.get('Signature')).toMatch(/^[A-Za-z0-9\-_~]+$/);
  });

  it('refuses an object URL without a path or with a query', () => {
    const ours = cloudFrontSigner({ keyPairId: KEY_PAIR_ID, privateKey: pair.privateKey, expiresS: 900, hash: 'sha1' });
    expect(() => ours.presignGet('https://d111111abcdef8.cloudfront.net', SIGNED_AT_MS)).toThrow(/path/);
    expect(() => ours.presignGet('https://d111111abcdef8.cloudfront.net/k?a=b', SIGNED_AT_MS)).toThrow(/query/);
  });
});
