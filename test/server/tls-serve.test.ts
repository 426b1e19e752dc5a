/**
 * `registry-edge serve` with `listen.tls`, run as the built binary (run "npm run build" first):
 * the pair is checked at start (exit 78), presented with HTTP/2 and HTTP/1.1, rotated under a
 * client loop without a failed request, and a bad new pair is refused while the old one serves.
 */
import { X509Certificate } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect as http2Connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runBinary, spawnServe, type Spawned } from '../support/cli.js';
import { get } from '../support/harness.js';
import { SecretMount } from '../support/secret-mount.js';
import { parseMetrics, value, writeConfig } from '../support/serve.js';
import { TestCa, type Issued } from '../support/test-ca.js';
import { clientLoop, httpsGet } from '../support/tls-door.js';
import { freePortSync } from '../support/ports.js';

let ca: TestCa;
let caPem: Buffer;
let pairs: Issued[];
let scratch: string;
const started: Spawned[] = [];

beforeAll(async () => {
  ca = await TestCa.create('ec');
  caPem = await readFile(ca.root.cert);
  pairs = await Promise.all([ca.issue('first'), ca.issue('second')]);
  scratch = await mkdtemp(join(tmpdir(), 'registry-edge-tls-serve-'));
});

afterEach(async () => {
  for (const edge of started.splice(0)) await edge.stop('SIGKILL');
});

afterAll(async () => {
  await ca?.close();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

const fingerprint = async (issued: Issued): Promise<string> => new X509Certificate(await readFile(issued.leaf)).fingerprint256;

async function mountIn(name: string, issued: Issued): Promise<SecretMount> {
  const mount = new SecretMount(join(scratch, name));
  await mkdir(mount.dir, { recursive: true });
  await mount.update({ cert: issued.cert, key: issued.key });
  return mount;
}

function tlsConfig(name: string, tls: Record<string, unknown>, adminPort: number): string {
  return writeConfig(join(scratch, `${name}.yaml`), {
    listen: { host: '127.0.0.1', port: 0, shutdown_timeout_ms: 1000, tls },
    admin: { host: '127.0.0.1', port: adminPort },
    origin: { url: 'https://origin.example' },
    buckets: [{ name: 'b', url: 'https://bucket.example' }],
    default_bucket: 'b',
  });
}

async function serveTls(name: string, tls: Record<string, unknown>): Promise<{ edge: Spawned; url: string; admin: string }> {
  const adminPort = freePortSync();
  const edge = await spawnServe(['--config', tlsConfig(name, tls, adminPort)]);
  started.push(edge);
  return { edge, url: `https://127.0.0.1:${edge.port}`, admin: `http://127.0.0.1:${adminPort}` };
}

function h2Status(url: string, path: string): Promise<{ status: number; location: string | undefined }> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(url, { ca: caPem });
    session.on('error', reject);
    const stream = session.request({ ':path': path });
    stream.on('response', (headers) => {
      resolve({ status: Number(headers[':status']), location: headers.location as string | undefined });
      session.close();
    });
    stream.on('error', reject);
    stream.resume();
    stream.end();
  });
}

describe('serve with listen.tls (built binary)', () => {
  it('a missing key or a key of another certificate exits 78 naming the field and file, in serve and check-config', async () => {
    const missing = tlsConfig('missing', { cert: pairs[0]?.cert, key: join(scratch, 'nope.key') }, freePortSync());
    for (const args of [['serve', '--config', missing], ['check-config', missing]]) {
      const result = runBinary(args);
      expect(result.status).toBe(78);
      expect(result.stderr).toContain(`listen.tls.key: ${join(scratch, 'nope.key')} does not exist`);
    }
    const mismatched = tlsConfig('mismatched', { cert: pairs[0]?.cert, key: pairs[1]?.key }, freePortSync());
    const result = runBinary(['serve', '--config', mismatched]);
    expect(result.status).toBe(78);
    expect(result.stderr).toContain(`listen.tls.key: ${pairs[1]?.key} is not the key of the certificate in ${pairs[0]?.cert}`);
  });

  it('answers HTTP/2 and HTTP/1.1 with the same redirect, names the certificate in the listening line, exports TLS metrics', async () => {
    const { edge, url, admin } = await serveTls('both', { cert: pairs[0]?.cert, key: pairs[0]?.key, watch: false });
    const listening = edge.lines.find((line) => line.msg === 'listening');
    expect(listening?.tls).toMatchObject({ cert: pairs[0]?.cert, fingerprint256: await fingerprint(pairs[0] as Issued), mutual_tls: false });
    const path = `/v2/app/blobs/sha256:${'a'.repeat(64)}`;
    const h2 = await h2Status(url, path);
    const h1 = await httpsGet(`${url}${path}`, { ca: caPem });
    expect(h2.status).toBe(307);
    expect(h1.status).toBe(307);
    expect(h2.location).toBe(h1.location);
    expect(h2.location).toMatch(/^https:\/\//);
    const samples = parseMetrics((await get(admin, '/metrics')).body);
    expect(value(samples, 'registry_edge_tls_handshakes_total', { protocol: 'h2' })).toBeGreaterThanOrEqual(1);
    // node's https client offers no ALPN: counted as protocol "none", served HTTP/1.1.
    expect(value(samples, 'registry_edge_tls_handshakes_total', { protocol: 'none' })).toBeGreaterThanOrEqual(1);
    expect(value(samples, 'registry_edge_tls_certificate_expiry_seconds')).toBeGreaterThan(86_400);
  });

  it('rotation under a client loop: zero failed requests, new connections present the new certificate', async () => {
    const mount = await mountIn('rotate', pairs[0] as Issued);
    const { edge, url } = await serveTls('rotate', { cert: mount.cert, key: mount.key, watch_debounce_ms: 50 });
    const [first, second] = [await fingerprint(pairs[0] as Issued), await fingerprint(pairs[1] as Issued)];
    const loop = clientLoop(url, caPem);
    try {
      await expect.poll(() => loop.requests, { timeout: 10_000 }).toBeGreaterThan(20);
      expect([...loop.seen]).toEqual([first]);
      await mount.update({ cert: (pairs[1] as Issued).cert, key: (pairs[1] as Issued).key });
      await expect.poll(() => loop.seen.has(second), { timeout: 10_000 }).toBe(true);
      const afterSwap = loop.requests;
      await expect.poll(() => loop.requests, { timeout: 10_000 }).toBeGreaterThan(afterSwap + 20);
    } finally {
      await loop.stop();
    }
    expect(loop.failures).toEqual([]);
    expect((await httpsGet(`${url}/v2/`, { ca: caPem })).fingerprint).toBe(second);
    expect(edge.lines.filter((line) => line.msg === 'tls certificate loaded').map((line) => line.trigger)).toEqual(['file']);
  }, 60_000);

  it('SIGHUP and POST /reload with a bad new pair: logged, reported, the old pair keeps serving; a good one is taken', async () => {
    const mount = await mountIn('bad', pairs[0] as Issued);
    const { edge, url, admin } = await serveTls('bad', { cert: mount.cert, key: mount.key, watch: false });
    const first = await fingerprint(pairs[0] as Issued);
    await mount.update({ cert: (pairs[1] as Issued).cert, key: (pairs[0] as Issued).key });
    edge.child.kill('SIGHUP');
    await expect.poll(() => edge.lines.some((line) => line.msg === 'tls certificate refused; the previous one keeps serving'), { timeout: 10_000 }).toBe(true);
    const refused = edge.lines.find((line) => line.msg === 'tls certificate refused; the previous one keeps serving');
    expect(refused).toMatchObject({ trigger: 'signal', field: 'listen.tls.key', file: mount.key, serving: first });
    const report = JSON.parse((await get(admin, '/reload', { method: 'POST' })).body) as { ok: boolean; tls: { ok: boolean; error: string; fingerprint256: string } };
    expect(report.tls).toMatchObject({ ok: false, fingerprint256: first });
    expect(report.tls.error).toContain(`listen.tls.key: ${mount.key} is not the key`);
    expect((await httpsGet(`${url}/v2/`, { ca: caPem })).fingerprint).toBe(first);

    await mount.update({ cert: (pairs[1] as Issued).cert, key: (pairs[1] as Issued).key });
    const good = JSON.parse((await get(admin, '/reload', { method: 'POST' })).body) as { ok: boolean; tls: { ok: boolean; changed: boolean; fingerprint256: string } };
    const second = await fingerprint(pairs[1] as Issued);
    expect(good).toMatchObject({ ok: true, tls: { ok: true, changed: true, fingerprint256: second } });
    expect((await httpsGet(`${url}/v2/`, { ca: caPem })).fingerprint).toBe(second);
  }, 60_000);
});
