import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAP_ENTRY_BYTES, stringBytes } from '../../src/cache-figures.js';
import { s3Signer, SIGNED_URL_MAX_BYTES, SIGNED_URL_MAX_ENTRIES, SignedUrlCache, signingWindowMs, windowStart, type BlobSigner } from '../../src/signing/index.js';
import { AWS, SIGNED_AT_MS } from './fixtures.js';

const BASE = 'https://b.s3.eu-west-1.amazonaws.com/containers/images/';
const digest = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;

/** A real S3 signer that counts how often it is asked to sign. */
function countingSigner(expiresS = 600): BlobSigner & { calls: number } {
  const inner = s3Signer({ region: 'eu-west-1', expiresS, credentials: AWS });
  const counted = {
    ...inner,
    calls: 0,
    presignGet(url: string | URL, at: number) {
      counted.calls++;
      return inner.presignGet(url, at);
    },
  };
  return counted;
}

function cacheOf(signer: BlobSigner, maxBytes?: number): SignedUrlCache {
  return new SignedUrlCache({ signer, objectUrl: (d) => BASE + d, maxBytes });
}

/** When a signed S3 URL stops working, from its own parameters. */
function expiresAtMs(url: string): number {
  const q = new URL(url).searchParams;
  const t = q.get('X-Amz-Date') as string;
  const signedAt = Date.UTC(+t.slice(0, 4), +t.slice(4, 6) - 1, +t.slice(6, 8), +t.slice(9, 11), +t.slice(11, 13), +t.slice(13, 15));
  return signedAt + Number(q.get('X-Amz-Expires')) * 1000;
}

describe('signing windows', () => {
  it('are half the lifetime in whole seconds', () => {
    expect(signingWindowMs(600)).toBe(300_000);
    expect(signingWindowMs(61)).toBe(30_000);
    expect(windowStart(SIGNED_AT_MS, 300_000)).toBe(Date.UTC(2024, 4, 1, 12, 30, 0));
  });
});

describe('SignedUrlCache', () => {
  it('signs a digest once per window and hands out the same URL until the window ends', () => {
    const signer = countingSigner();
    const cache = cacheOf(signer);
    const start = windowStart(SIGNED_AT_MS, 300_000);
    const first = cache.get(digest(1), start + 1);
    expect(cache.get(digest(1), start + 299_999)).toBe(first);
    expect(signer.calls).toBe(1);
    expect(new URL(first).searchParams.get('X-Amz-Date')).toBe('20240501T123000Z');
    const next = cache.get(digest(1), start + 300_000);
    expect(next).not.toBe(first);
    expect(new URL(next).searchParams.get('X-Amz-Date')).toBe('20240501T123500Z');
    expect(signer.calls).toBe(2);
  });

  it('never hands out a URL with less than half its lifetime left', () => {
    fc.assert(
      fc.property(fc.integer({ min: 60, max: 604_800 }), fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }), (expiresS, nowMs) => {
        const url = cacheOf(s3Signer({ region: 'eu-west-1', expiresS, credentials: AWS })).get(digest(7), nowMs);
        expect(expiresAtMs(url) - nowMs).toBeGreaterThanOrEqual((expiresS * 1000) / 2);
        expect(expiresAtMs(url) - nowMs).toBeLessThanOrEqual(expiresS * 1000);
      }),
      { numRuns: 200 },
    );
  });

  it('gives every replica the same URL for the same blob in the same window', () => {
    const start = windowStart(SIGNED_AT_MS, 300_000);
    const replicaA = cacheOf(s3Signer({ region: 'eu-west-1', expiresS: 600, credentials: AWS }));
    const replicaB = cacheOf(s3Signer({ region: 'eu-west-1', expiresS: 600, credentials: AWS }));
    expect(replicaA.get(digest(3), start + 5_000)).toBe(replicaB.get(digest(3), start + 250_000));
  });

  it('starts a new window when the clock steps back', () => {
    const signer = countingSigner();
    const cache = cacheOf(signer);
    const url = cache.get(digest(1), SIGNED_AT_MS);
    expect(cache.get(digest(1), SIGNED_AT_MS - 600_000)).not.toBe(url);
    expect(signer.calls).toBe(2);
  });

  it('stays within its byte bound, starting over when the next URL would pass it', () => {
    const signer = countingSigner();
    const probe = cacheOf(signer);
    probe.get(digest(0), SIGNED_AT_MS);
    const oneEntry = probe.figures().bytes;
    // Charged as the other memos charge: the Map slot and both strings at two bytes a character.
    expect(oneEntry).toBe(MAP_ENTRY_BYTES + stringBytes(digest(0)) + stringBytes(probe.get(digest(0), SIGNED_AT_MS)));
    const cache = cacheOf(signer, oneEntry * 10);
    for (let i = 0; i < 25; i++) cache.get(digest(i), SIGNED_AT_MS);
    expect(cache.figures()).toEqual({ entries: 5, bytes: oneEntry * 5, maxEntries: SIGNED_URL_MAX_ENTRIES, maxBytes: oneEntry * 10 });
    const calls = signer.calls;
    cache.get(digest(24), SIGNED_AT_MS);
    expect(signer.calls).toBe(calls);
    const resigned = cache.get(digest(0), SIGNED_AT_MS);
    expect(signer.calls).toBe(calls + 1);
    expect(resigned).toContain(`/containers/images/sha256%3A${'0'.repeat(64)}?`);
  });

  it('stays within its entry bound', () => {
    const cache = new SignedUrlCache({ signer: countingSigner(), objectUrl: (d) => BASE + d, maxEntries: 3 });
    for (let i = 0; i < 7; i++) cache.get(digest(i), SIGNED_AT_MS);
    expect(cache.figures()).toMatchObject({ entries: 1, maxEntries: 3, maxBytes: SIGNED_URL_MAX_BYTES });
  });

  it('still answers when one URL is larger than the whole bound, without keeping it', () => {
    const cache = cacheOf(countingSigner(), 100);
    expect(cache.get(digest(1), SIGNED_AT_MS)).toContain('X-Amz-Signature=');
    expect(cache.figures()).toMatchObject({ entries: 0, bytes: 0 });
  });

  it('clear() empties it', () => {
    const cache = cacheOf(countingSigner());
    cache.get(digest(1), SIGNED_AT_MS);
    cache.clear();
    expect(cache.figures()).toMatchObject({ entries: 0, bytes: 0 });
  });
});
