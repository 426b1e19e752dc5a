import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gcsVerifier } from '../support/bucket-verifiers.js';
import { runBinary } from '../support/cli.js';
import { get } from '../support/harness.js';
import { send, startPrivateBucket, type PrivateBucket } from '../support/private-bucket.js';
import { startServe, writeConfig, type Served } from '../support/serve.js';
import { GCS_HMAC, SIGNED_AT_MS, tempDir } from '../signing/fixtures.js';

/**
 * Expiry with both clocks injected (the front door's signing clock and the bucket's): a URL past
 * its lifetime is refused by the bucket, and asking the front door again gives a fresh one the
 * bucket accepts. Also: a signing block that cannot sign stops start-up with exit 78, naming it.
 */

const EXPIRES_S = 60;
const files = tempDir('registry-edge-expiry-');
const blob = randomBytes(777);
const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
let clockMs = SIGNED_AT_MS;
let bucket: PrivateBucket;
let served: Served;

beforeAll(async () => {
  files.write(`blobs/containers/images/${digest}`, blob);
  files.write('hmac/id', GCS_HMAC.accessId);
  files.write('hmac/secret', GCS_HMAC.secret);
  bucket = await startPrivateBucket({ dir: files.dir, verifier: gcsVerifier({ kind: 'hmac', ...GCS_HMAC }), now: () => clockMs });
  const config = writeConfig(join(files.dir, 'edge.yaml'), {
    origin: { url: 'http://origin.invalid' },
    default_bucket: 'gcs-private',
    buckets: [
      {
        name: 'gcs-private',
        url: `${bucket.url}/blobs`,
        signing: { type: 'gcs', hmac_access_id_file: 'hmac/id', hmac_secret_file: 'hmac/secret', expires_s: EXPIRES_S },
      },
    ],
  });
  served = await startServe(config, 'info', { clocks: { wallClock: () => clockMs } });
});

afterAll(async () => {
  await served?.stop();
  await bucket?.close();
});

async function location(): Promise<string> {
  const answer = await get(served.url, `/v2/pause/blobs/${digest}`);
  expect(answer.status).toBe(307);
  return String(answer.headers.location);
}

describe('signed URLs expire, the front door signs again', () => {
  it('a URL past its expiry is refused; the next redirect is fresh and accepted', async () => {
    const first = await location();
    expect((await send(bucket, 'GET', first)).status).toBe(200);
    clockMs += (EXPIRES_S + 1) * 1000;
    const stale = await send(bucket, 'GET', first);
    expect(stale.status).toBe(403);
    expect(stale.reason).toMatch(/expired/);
    const fresh = await location();
    expect(fresh).not.toBe(first);
    const fetched = await send(bucket, 'GET', fresh);
    expect(fetched.status).toBe(200);
    expect(fetched.body.equals(blob)).toBe(true);
  });
});

describe('a signing block that cannot sign', () => {
  it('on reload: refused, the old signer keeps serving; credentials are read again', async () => {
    files.write('hmac/secret', '');
    const report = await served.handle.reload('test');
    expect(report.ok).toBe(false);
    expect(JSON.stringify(report)).toContain('buckets[0].signing.hmac_secret_file');
    const fetched = await send(bucket, 'GET', await location());
    expect(fetched.status).toBe(200);
    files.write('hmac/secret', GCS_HMAC.secret);
    expect((await served.handle.reload('test')).ok).toBe(true);
  });

  it('stops start-up with exit 78 naming the field', () => {
    const config = writeConfig(join(files.dir, 'broken.yaml'), {
      origin: { url: 'http://origin.invalid' },
      buckets: [{ name: 'cdn', url: 'https://cdn.example.com', signing: { type: 'cloudfront', key_pair_id: 'K2JCJMDEHXQW5F', key_file: 'missing.pem' } }],
    });
    const run = runBinary(['serve', '--config', config]);
    expect(run.status).toBe(78);
    expect(run.stderr).toContain(`buckets[0].signing.key_file: cannot read ${join(files.dir, 'missing.pem')}`);
  });
});
