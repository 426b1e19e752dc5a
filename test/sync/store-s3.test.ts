/**
 * The s3 store against s3rver (a local S3 API server from npm, run in-process) behind a
 * recording proxy. s3rver does not verify SigV4 signatures nor `x-amz-checksum-sha256`, so
 * the test asserts what reaches the wire: the checksum S3 would verify, multipart with
 * per-part checksums, and an abort instead of a completion when the bytes are wrong.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { S3Store, sha256ChecksumHeader } from '../../src/sync/stores/s3.js';
import { openStore } from '../../src/sync/stores/index.js';
import { s3StoreSchema } from '../../src/config/sync.js';
import * as v from 'valibot';
import { startRecordingProxy, type RecordingProxy } from './support/recording-proxy.js';
import { KEY, blob, checkStoreContract, guarded } from './support/store-cases.js';
import { image } from './fixtures.js';
import { settingsFor, sync, tempDir } from './support/run.js';
import { ScriptedRegistry } from './support/scripted-registry.js';

let dir: string;
let server: { close(): Promise<void> };
let proxy: RecordingProxy;
let keyFiles: { id: string; secret: string };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'registry-edge-s3-'));
  const s3rver = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{ name: 'blobs', configs: [] }] });
  const address = (await s3rver.run()) as { port: number };
  server = s3rver;
  proxy = await startRecordingProxy(`http://127.0.0.1:${address.port}`);
  keyFiles = { id: join(dir, 'id'), secret: join(dir, 'secret') };
  await writeFile(keyFiles.id, 'S3RVER\n');
  await writeFile(keyFiles.secret, 'S3RVER\n');
});

afterAll(async () => {
  await proxy?.close();
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

function config(extra: Record<string, unknown> = {}) {
  return v.parse(s3StoreSchema('/'), {
    type: 's3', bucket: 'blobs', endpoint: proxy.url, path_style: true,
    access_key_id_file: keyFiles.id, secret_access_key_file: keyFiles.secret, multipart_threshold_mib: 5, part_size_mib: 5, ...extra,
  });
}

describe('s3 store (s3rver)', () => {
  it('puts small blobs in one PUT carrying the digest as x-amz-checksum-sha256', async () => {
    const store = await S3Store.create(config());
    const good = blob('s3 small', 100_000);
    const bad = blob('s3 small bad', 100_000);
    await checkStoreContract(store, good, bad, true);
    const put = proxy.requests.find((request) => request.method === 'PUT' && decodeURIComponent(request.target).includes(good.digest));
    expect(put?.headers['x-amz-checksum-sha256']).toBe(Buffer.from(good.digest.slice(7), 'hex').toString('base64'));
    expect(put?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=S3RVER\//);
    expect(sha256ChecksumHeader('sha512:00')).toBeUndefined();
    // s3rver keeps the truncated body of an aborted PUT (S3 refuses a body shorter than its
    // Content-Length, and one whose SHA-256 differs from the header): the store deletes it too.
    const aborted = proxy.requests.find((request) => request.method === 'PUT' && decodeURIComponent(request.target).includes(bad.digest));
    expect(aborted?.headers['content-length']).toBe(String(bad.size));
    expect(aborted?.headers['x-amz-checksum-sha256']).toBe(sha256ChecksumHeader(bad.digest));
    expect(proxy.requests.some((request) => request.method === 'DELETE' && decodeURIComponent(request.target).includes(bad.digest))).toBe(true);
  });

  it('puts large blobs in checksummed parts and aborts the upload when the bytes are wrong', async () => {
    const store = (await openStore(config(), {})) as S3Store;
    const good = blob('s3 large', 6 * 1024 * 1024 + 123);
    const bad = blob('s3 large bad', 6 * 1024 * 1024 + 77);
    const mark = proxy.requests.length;
    await checkStoreContract(store, good, bad);
    const requests = proxy.requests.slice(mark);
    const parts = requests.filter((request) => request.method === 'PUT' && request.target.includes('partNumber='));
    expect(parts.length).toBeGreaterThanOrEqual(2);
    expect(parts.every((request) => typeof request.headers['x-amz-checksum-sha256'] === 'string')).toBe(true);
    const badTargets = requests.filter((request) => decodeURIComponent(request.target).includes(bad.digest));
    expect(badTargets.some((request) => request.method === 'DELETE' && request.target.includes('uploadId='))).toBe(true);
    expect(badTargets.some((request) => request.method === 'POST' && request.target.includes('uploadId='))).toBe(false);
  });

  it('reads missing objects as absent and refuses unreadable credential files by name', async () => {
    const store = await S3Store.create(config());
    expect(await store.stat(KEY('sha256:' + '0'.repeat(64)))).toBeUndefined();
    await expect(S3Store.create(config({ access_key_id_file: join(dir, 'missing') }))).rejects.toThrow(/store.access_key_id_file: cannot read/);
    const withToken = await S3Store.create(config({ session_token_file: keyFiles.id }));
    const small = blob('s3 token', 10);
    await withToken.put(KEY(small.digest), guarded(small.bytes, small.digest), small);
    expect(proxy.requests.at(-1)?.headers['x-amz-security-token']).toBe('S3RVER');
  });

  it('is filled by runSync from an origin, skipping on the second run what the listing shows', async () => {
    const origin = await new ScriptedRegistry().start();
    const temp = await tempDir();
    try {
      const built = image('s3');
      origin.push('library/app', 'v1', built);
      const settings = settingsFor(origin.url, temp.dir, { repositories: ['library/app'] });
      settings.buckets = [{ name: 'eu', url: 'https://blobs.example', store: config() }];
      const first = await sync(settings);
      expect(first.code, first.stdout.text).toBe(0);
      const store = await S3Store.create(config());
      for (const digest of built.blobDigests) expect(await store.stat(KEY(digest))).toBe(built.blobs.get(digest)?.length);
      const second = await sync(settings);
      expect(second.stdout.events().at(-1)).toMatchObject({ event: 'summary', ok: true, buckets: [{ bucket: 'eu', copied: 0, skipped: built.blobDigests.length }] });
    } finally {
      await origin.stop();
      await temp.remove();
    }
  });
});
