/**
 * The front door learns what was synced: a server is running on the same configuration file,
 * `registry-edge sync` fills the bucket's store and rewrites `blobs.inventory`, and the server
 * redirects every synced blob to the bucket without one existence HEAD and without a SIGHUP.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../src/main.js';
import { startBucket, type BucketServer } from '../support/buckets.js';
import { get } from '../support/harness.js';
import { startServe, writeConfig, type Served } from '../support/serve.js';
import { until } from '../support/wait.js';
import { image } from './fixtures.js';
import { Capture, perTest } from './support/run.js';

const context = perTest();
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('a running serve and sync', () => {
  it('redirects the synced blobs to the bucket with zero existence HEADs once sync rewrote the inventory', async () => {
    const built = image('1.0');
    context.origin.push('library/app', '1.0', built);
    // The bucket answers 404 to everything: a HEAD, had one been sent, would send clients to the origin.
    const bucket: BucketServer = await startBucket([]);
    cleanups.push(() => bucket.close());
    const dir = context.temp.dir;
    const file = writeConfig(join(dir, 'edge.yaml'), {
      origin: { url: context.origin.url },
      blobs: { inventory: 'inventory.json' },
      buckets: [{ name: 'local', url: bucket.url, networks: ['127.0.0.0/8'], store: { type: 'dir', path: 'store' } }],
      sync: { repositories: ['library/app'], origin_rps: 0 },
    });
    // An inventory that names nothing yet: the server starts before anything is synced.
    await writeFile(join(dir, 'inventory.json'), '{}');
    const edge: Served = await startServe(file);
    cleanups.push(() => edge.stop());

    const io = { stdout: new Capture(), stderr: new Capture(), env: {} };
    expect(await run(['sync', '--config', file], io), io.stderr.text).toEqual({ code: 0 });
    await until('the reload the inventory rewrite triggers', () => edge.logs.messages('reloaded').some((line) => line.reason === 'data file changed'));
    expect(edge.logs.messages('data file changed; reloading')[0]).toMatchObject({ files: [join(dir, 'inventory.json')] });

    for (const digest of built.blobDigests) {
      const response = await get(edge.url, `/v2/library/app/blobs/${digest}`);
      expect(response.status).toBe(307);
      expect(response.headers.location).toBe(`${bucket.url}/containers/images/${digest}`);
    }
    expect(bucket.heads()).toBe(0);
    expect(edge.logs.messages('reload failed; the running configuration stays')).toEqual([]);
  });
});
