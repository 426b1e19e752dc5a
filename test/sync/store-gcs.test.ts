/**
 * The gcs store through @google-cloud/storage against recorded request expectations (see
 * support/gcs-expectations.ts: no local GCS server exists to run), named as such: this shows
 * which requests the client sends and that a failing body never completes an upload.
 */
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gcsStoreSchema } from '../../src/config/sync.js';
import { openStore } from '../../src/sync/stores/index.js';
import type { BlobStore } from '../../src/sync/stores/types.js';
import { GcsExpectations } from './support/gcs-expectations.js';
import { KEY, blob, checkStoreContract } from './support/store-cases.js';

let gcs: GcsExpectations;
let store: BlobStore;

beforeAll(async () => {
  gcs = await new GcsExpectations().start();
  store = await openStore(v.parse(gcsStoreSchema('/'), { type: 'gcs', bucket: 'blobs', endpoint: gcs.url, project: 'p', resumable_threshold_mib: 1 }), {});
});

afterAll(async () => {
  await gcs?.stop();
});

describe('gcs store (recorded request expectations)', () => {
  it('uploads a small blob in one multipart request and a failing one never becomes an object', async () => {
    const mark = gcs.requests.length;
    await checkStoreContract(store, blob('gcs small', 200_000), blob('gcs small bad', 150_000));
    const uploads = gcs.requests.slice(mark).filter((request) => request.target.startsWith('/upload/'));
    expect(uploads.some((request) => request.target.includes('uploadType=multipart'))).toBe(true);
    expect(uploads.some((request) => request.target.includes('uploadType=resumable'))).toBe(false);
    expect(gcs.requests.every((request) => request.headers.authorization === undefined)).toBe(true);
  });

  it('uploads a large blob as a resumable session, finalised only by its last byte', async () => {
    const mark = gcs.requests.length;
    const good = blob('gcs large', 2_500_000);
    await checkStoreContract(store, good, blob('gcs large bad', 2_100_000));
    const uploads = gcs.requests.slice(mark).filter((request) => request.target.startsWith('/upload/'));
    expect(uploads.some((request) => request.target.includes('uploadType=resumable'))).toBe(true);
    expect(gcs.objects.get(KEY(good.digest))?.length).toBe(good.size);
    expect(await store.stat(KEY(`sha256:${'3'.repeat(64)}`))).toBeUndefined();
  });
});
