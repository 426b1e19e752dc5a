import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
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

  const ecKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  it.each([
    ['missing S3 credentials', { type: 's3', region: 'eu-west-1' }, 'buckets[0].signing.access_key_id_file: no credentials'],
    ['an expiry past 7 days', { type: 's3', region: 'eu-west-1', expires_s: 604_801 }, 'buckets[0].signing.expires_s: expected at most 604800 seconds'],
    ['an EC key for CloudFront', { type: 'cloudfront', key_pair_id: 'K2JCJMDEHXQW5F', key_file: 'bad/ec.pem' }, 'ec.pem holds an ec key; expected an RSA private key'],
    ['a user credential instead of a service account', { type: 'gcs', key_file: 'bad/user.json' }, 'user.json holds a authorized_user credential; signing needs a service_account key'],
    ['an Azure key that is not base64', { type: 'azure', account: 'acct', key_file: 'bad/azure-key' }, 'azure-key is not a base64 account key'],
  ])('%s: start-up stops with exit 78 naming the field', (_case, signing, message) => {
    files.write('bad/ec.pem', ecKey);
    files.write('bad/user.json', JSON.stringify({ type: 'authorized_user', client_id: 'x', client_secret: 'y', refresh_token: 'z' }));
    files.write('bad/azure-key', 'not base64 at all!\n');
    const url = signing.type === 'azure' ? 'https://acct.blob.core.windows.net/c' : 'https://blobs.example.com/b';
    const config = writeConfig(join(files.dir, 'bad.yaml'), { origin: { url: 'http://origin.invalid' }, buckets: [{ name: 'private', url, signing }] });
    const run = runBinary(['serve', '--config', config], { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '', AWS_SESSION_TOKEN: '' });
    expect(run.status, run.stderr).toBe(78);
    expect(run.stderr).toContain(message);
    expect(run.stderr).toMatch(/buckets\[0\]\.signing\.(key_file|access_key_id_file|expires_s): /);
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
