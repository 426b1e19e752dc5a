import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cloudFrontVerifier, s3Verifier } from '../support/bucket-verifiers.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CLI, runBinary, spawnServe, type Spawned } from '../support/cli.js';
import { get } from '../support/harness.js';
import { until } from '../support/wait.js';
import { send, startPrivateBucket, type PrivateBucket } from '../support/private-bucket.js';
import { scrape, value, writeConfig } from '../support/serve.js';
import { AWS, rsaPair, tempDir } from '../signing/fixtures.js';
import { SIGNED_URL_MAX_BYTES, SIGNED_URL_MAX_ENTRIES } from '../../src/signing/index.js';

/**
 * The built server in front of private buckets that refuse anything unsigned: a redirect is
 * followed by a real GET, which the bucket (verifying with the AWS SDK's own code, or the
 * CloudFront public key) accepts with the right bytes; wrong credentials send clients to the
 * origin, visibly; no signature ever reaches a log line or /debug/route.
 */

const key = rsaPair('edge-cloudfront');
const files = tempDir('registry-edge-private-');
const blob = randomBytes(3000);
const digest = `sha256:${createHash('sha256').update(blob).digest('hex')}`;
const credentials = { accessKeyId: AWS.accessKeyId, secretAccessKey: AWS.secretAccessKey };
const ORIGIN = 'http://origin.invalid';

let s3: PrivateBucket;
let cdn: PrivateBucket;
let edge: Spawned;
let admin: string;
let configFile: string;

/** Asks the front door for the blob as a client in `network` (the proxy in front adds X-Forwarded-For). */
function ask(clientIp: string) {
  return get(`http://127.0.0.1:${edge.port}`, `/v2/pause/blobs/${digest}`, { headers: { 'X-Forwarded-For': clientIp } });
}

function signatureOf(location: string): string[] {
  const q = new URL(location).searchParams;
  return ['X-Amz-Signature', 'X-Amz-Credential', 'Signature'].flatMap((name) => q.getAll(name));
}

beforeAll(async () => {
  files.write(`registry-blobs/containers/images/${digest}`, blob);
  files.write(`cdn/containers/images/${digest}`, blob);
  s3 = await startPrivateBucket({ dir: files.dir, verifier: s3Verifier({ region: 'eu-west-1', credentials }) });
  cdn = await startPrivateBucket({ dir: files.dir, verifier: cloudFrontVerifier({ keyPairId: 'K2JCJMDEHXQW5F', publicKey: key.publicKey }) });
  // Relative credential paths: they belong to the configuration file's folder.
  files.write('secrets/id', `${AWS.accessKeyId}\n`);
  files.write('secrets/secret', `${AWS.secretAccessKey}\n`);
  files.write('secrets/wrong-secret', 'not-the-secret-key-at-all\n');
  files.write('secrets/cf.pem', key.privatePem);
  const config = writeConfig(join(files.dir, 'edge.yaml'), {
    origin: { url: ORIGIN },
    client_ip: { trusted_hops: 1 },
    log: { level: 'debug' },
    buckets: [
      {
        name: 's3-private',
        url: `${s3.url}/registry-blobs`,
        networks: ['10.1.0.0/16'],
        signing: { type: 's3', region: 'eu-west-1', access_key_id_file: 'secrets/id', secret_access_key_file: 'secrets/secret' },
      },
      {
        name: 'cdn-private',
        url: `${cdn.url}/cdn`,
        networks: ['10.2.0.0/16'],
        signing: { type: 'cloudfront', key_pair_id: 'K2JCJMDEHXQW5F', key_file: 'secrets/cf.pem' },
      },
      {
        name: 's3-wrong-key',
        url: `${s3.url}/registry-blobs`,
        networks: ['10.3.0.0/16'],
        signing: { type: 's3', region: 'eu-west-1', access_key_id_file: 'secrets/id', secret_access_key_file: 'secrets/wrong-secret' },
      },
    ],
  });
  configFile = config;
  // Run from another folder: the relative key files must still be found.
  edge = await spawnServe(['--config', config], { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' });
  const started = edge.lines.find((line) => line.msg === 'listening');
  admin = `http://127.0.0.1:${String((started as { admin_port?: number } | undefined)?.admin_port ?? '')}`;
}, 30_000);

afterAll(async () => {
  await edge?.stop();
  await s3?.close();
  await cdn?.close();
});

describe('private buckets through the built server', () => {
  it.each([
    ['s3', '10.1.2.3', () => s3],
    ['cloudfront (RSA)', '10.2.2.3', () => cdn],
  ])('%s: the redirect is signed, a real GET of it returns the blob, the unsigned URL is refused', async (_type, ip, bucketOf) => {
    const answer = await ask(ip);
    expect(answer.status).toBe(307);
    const location = String(answer.headers.location);
    const bucket = bucketOf();
    expect(location.startsWith(`${bucket.url}/`)).toBe(true);
    const fetched = await send(bucket, 'GET', location);
    expect(fetched.reason).toBeUndefined();
    expect(fetched.status).toBe(200);
    expect(fetched.body.equals(blob)).toBe(true);
    const unsigned = await send(bucket, 'GET', location.split('?')[0] as string);
    expect(unsigned.status).toBe(403);
    expect(unsigned.reason).toBe('unsigned');
    // The warm path hands out the same URL again within the signing window.
    expect(String((await ask(ip)).headers.location)).toBe(location);
  });

  it('the signed URLs are the cache signed_urls in the metrics and on the status page, bounded per private bucket', async () => {
    const samples = await scrape(admin);
    const figure = (name: string) => value(samples, `registry_edge_cache_${name}`, { cache: 'signed_urls' });
    // One blob signed by each of the two working buckets; three private buckets' bounds.
    expect(figure('entries')).toBe(2);
    expect(figure('max_entries')).toBe(3 * SIGNED_URL_MAX_ENTRIES);
    expect(figure('max_bytes')).toBe(3 * SIGNED_URL_MAX_BYTES);
    expect(figure('bytes')).toBeGreaterThan(2 * 2 * 500);
    expect(figure('bytes')).toBeLessThan(2 * 2 * 1500);
    const status = JSON.parse((await get(admin, '/debug/status')).body) as { caches: Array<{ name: string; entries: number | null; max_bytes: number | null }> };
    expect(status.caches.find((cache) => cache.name === 'signed_urls')).toMatchObject({ entries: 2, max_bytes: 3 * SIGNED_URL_MAX_BYTES });
  });

  it('wrong credentials: the request goes to the origin, the refusal is logged once and counted', async () => {
    const first = await ask('10.3.4.5');
    expect(first.status).toBe(307);
    expect(first.headers.location).toBe(`${ORIGIN}/v2/pause/blobs/${digest}`);
    const second = await ask('10.3.4.6');
    expect(second.headers.location).toBe(`${ORIGIN}/v2/pause/blobs/${digest}`);
    const refusals = () => edge.lines.filter((line) => line.bucket === 's3-wrong-key' && String(line.msg).includes('refused a signed existence check'));
    // The log line is written by another process: wait for it, then check it came only once.
    await until('the refusal log line', () => refusals().length > 0);
    const refused = refusals();
    expect(refused).toHaveLength(1);
    expect(String(refused[0]?.reason)).toContain('signature refused (403)');
    expect(String(refused[0]?.url)).toContain('X-Amz-Signature=REDACTED');
    const samples = await scrape(admin);
    expect(value(samples, 'registry_edge_signing_failures_total', { bucket: 's3-wrong-key' })).toBe(1);
    expect(value(samples, 'registry_edge_existence_checks_total', { bucket: 's3-wrong-key', result: 'signature_refused' })).toBe(1);
    // The refusal opened the breaker at once: the second request sent no HEAD, and nothing was
    // taken (or cached) as "absent".
    expect(s3.log.filter((entry) => entry.reason === 'signature mismatch')).toHaveLength(1);
    expect(value(samples, 'registry_edge_origin_fallbacks_total', { reason: 'bucket_unhealthy' })).toBe(1);
    expect(value(samples, 'registry_edge_origin_fallbacks_total', { reason: 'absent' })).toBe(0);
  });

  it('no signature or credential appears in any log line or in /debug/route', async () => {
    const signed = [String((await ask('10.1.9.9')).headers.location), String((await ask('10.2.9.9')).headers.location)];
    const secrets = [...signed.flatMap(signatureOf), AWS.secretAccessKey];
    expect(secrets.length).toBeGreaterThanOrEqual(3);
    const debug = await get(admin, `/debug/route?ip=10.1.9.9&path=${encodeURIComponent(`/v2/pause/blobs/${digest}`)}`);
    expect(debug.status).toBe(200);
    expect(JSON.parse(debug.body).location).toMatch(/X-Amz-Signature=REDACTED/);
    const text = [debug.body, ...edge.lines.map((line) => JSON.stringify(line))].join('\n');
    for (const secret of secrets) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(encodeURIComponent(secret));
    }
  });

  it('`explain` shows the signed Location redacted; `hosts` is the same as without signing', async () => {
    const noEnv = { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' };
    // Not spawnSync: explain HEADs the bucket, which this process serves.
    const explained = await promisify(execFile)(process.execPath, [CLI, 'explain', '--config', configFile, '--ip', '10.1.2.3', '--path', `/v2/pause/blobs/${digest}`], { env: { ...process.env, ...noEnv } });
    const answer = JSON.parse(explained.stdout) as { status: number; target: string; location: string };
    expect(answer).toMatchObject({ status: 307, target: 's3-private' });
    expect(answer.location).toMatch(/X-Amz-Signature=REDACTED/);
    expect(explained.stdout + explained.stderr).not.toContain(AWS.secretAccessKey);
    expect(explained.stdout).not.toMatch(/X-Amz-Signature=[0-9a-f]{64}/);

    const doc = parse(readFileSync(configFile, 'utf8')) as { buckets: Array<Record<string, unknown>> };
    const unsignedFile = join(files.dir, 'unsigned.yaml');
    writeFileSync(unsignedFile, stringify({ ...doc, buckets: doc.buckets.map(({ signing: _signing, ...bucket }) => bucket) }));
    const signedHosts = runBinary(['hosts', '--config', configFile], noEnv);
    expect(signedHosts.status, signedHosts.stderr).toBe(0);
    expect(signedHosts.stdout).toBe(runBinary(['hosts', '--config', unsignedFile]).stdout);
    expect(signedHosts.stdout.split('\n')).toContain(`127.0.0.1:${s3.port}`);
  });

  it('a second replica with the same configuration hands out the same signed URLs (CDN caches keep their hits)', async () => {
    const { admin: _admin, ...doc } = parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    const replicaConfig = writeConfig(join(files.dir, 'edge-replica.yaml'), doc);
    const replica = await spawnServe(['--config', replicaConfig], { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: '' });
    try {
      for (const ip of ['10.1.7.7', '10.2.7.7']) {
        const fromReplica = await get(`http://127.0.0.1:${replica.port}`, `/v2/pause/blobs/${digest}`, { headers: { 'X-Forwarded-For': ip } });
        expect(fromReplica.status).toBe(307);
        expect(String(fromReplica.headers.location)).toBe(String((await ask(ip)).headers.location));
        expect(String(fromReplica.headers.location)).toMatch(/Signature=/);
      }
    } finally {
      await replica.stop();
    }
  });
});
