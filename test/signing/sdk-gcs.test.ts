import dns from 'node:dns';
import net from 'node:net';
import { Storage } from '@google-cloud/storage';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { gcsSigner } from '../../src/signing/index.js';
import { GCS_EMAIL, objectUrl, rsaPair, SIGNED_AT_MS, SPECIAL_KEYS } from './fixtures.js';

/**
 * Byte-for-byte agreement with @google-cloud/storage's V4 signer (`getSignedUrl`, action read)
 * for a service-account key. The SDK signs with the real clock, so `Date` is fixed; it is
 * given the key itself, a project and a universe so that it has nothing to look up, and every
 * socket and DNS lookup is watched to prove it looked up nothing. The SDK cannot sign with
 * HMAC keys; those are checked by the private bucket's independent verifier.
 */

type Style = 'path' | 'virtual' | 'cname';
const BUCKET = 'registry-edge-blobs';
const CNAME = 'https://blobs.example.com';

function origin(style: Style): string {
  if (style === 'virtual') return `https://${BUCKET}.storage.googleapis.com`;
  return style === 'cname' ? CNAME : `https://storage.googleapis.com/${BUCKET}`;
}

describe('GCS V4 signed URLs agree with @google-cloud/storage', () => {
  const connects = vi.spyOn(net.Socket.prototype, 'connect');
  const lookups = vi.spyOn(dns, 'lookup');
  const pair = rsaPair('gcs');
  const storage = new Storage({
    projectId: 'example-project',
    universeDomain: 'googleapis.com',
    credentials: { type: 'service_account', client_email: GCS_EMAIL, private_key: pair.privatePem },
  } as ConstructorParameters<typeof Storage>[0]);
  const ours = gcsSigner({ expiresS: 600, credentials: { kind: 'service-account', clientEmail: GCS_EMAIL, privateKey: pair.privateKey } });

  beforeAll(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(SIGNED_AT_MS);
  });
  afterAll(() => {
    vi.useRealTimers();
    connects.mockRestore();
    lookups.mockRestore();
  });

  const cases = (['path', 'virtual', 'cname'] as const).flatMap((style) => SPECIAL_KEYS.map((key) => ({ style, key })));

  it.each(cases)('$style $key', async ({ style, key }) => {
    const file = storage.bucket(BUCKET).file(key);
    const options = { version: 'v4' as const, expires: SIGNED_AT_MS + 600_000, virtualHostedStyle: style === 'virtual', ...(style === 'cname' ? { cname: CNAME } : {}) };
    const [sdkGet] = await file.getSignedUrl({ ...options, action: 'read' });
    // The SDK's URLSigner signs any method; its public API only offers GET for reading.
    const signer = (file as unknown as { signer: { getSignedUrl(cfg: Record<string, unknown>): Promise<string> } }).signer;
    const sdkHead = await signer.getSignedUrl({ ...options, method: 'HEAD', extensionHeaders: {}, queryParams: {} });
    const url = objectUrl(origin(style), key);
    expect(ours.presignGet(url, SIGNED_AT_MS)).toBe(sdkGet);
    expect(ours.signedHead(url, SIGNED_AT_MS).url).toBe(sdkHead);
  });

  it('the SDK opened no socket and looked up no name while signing', () => {
    expect(connects).not.toHaveBeenCalled();
    expect(lookups).not.toHaveBeenCalled();
  });

  it('names the V4 parameters; an HMAC key signs GOOG4-HMAC-SHA256 with its access id', () => {
    const hmac = gcsSigner({ expiresS: 3600, credentials: { kind: 'hmac', accessId: 'GOOG1ACCESS', secret: 's3cr3t' } });
    const q = new URL(hmac.presignGet('https://storage.googleapis.com/b/blobs/sha256:ab', SIGNED_AT_MS)).searchParams;
    expect([...q.keys()]).toEqual(['X-Goog-Algorithm', 'X-Goog-Credential', 'X-Goog-Date', 'X-Goog-Expires', 'X-Goog-SignedHeaders', 'X-Goog-Signature']);
    expect(q.get('X-Goog-Algorithm')).toBe('GOOG4-HMAC-SHA256');
    expect(q.get('X-Goog-Credential')).toBe('GOOG1ACCESS/20240501/auto/storage/goog4_request');
    expect(q.get('X-Goog-Expires')).toBe('3600');
    expect(q.get('X-Goog-Signature')).toMatch(/^[0-9a-f]{64}$/);
  });
});
