/**
 * How sync meets an origin that is busy, flaky, corrupt, protected or unusual: the retries it
 * schedules (read from the injected sleep, never waited for), the failures it names, the
 * credentials it sends, the manifest types it walks.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { image, multiPlatform } from '../sync/fixtures.js';
import { sha256 } from '../sync/support/scripted-registry.js';
import { perTest, settingsFor, storeContents, sync } from '../sync/support/run.js';

const context = perTest();

const built = image('1.0');
const layer = built.blobDigests[2] ?? '';
const layerBytes = built.blobs.get(layer) as Buffer;

function app(extra: Parameters<typeof settingsFor>[2] = {}) {
  context.origin.push('library/app', '1.0', built);
  return settingsFor(context.origin.url, context.temp.dir, { repositories: ['library/app'], ...extra });
}

describe('a busy or flaky origin', () => {
  it('waits as long as Retry-After says on 429, backs off on 503, and retries a reset mid-body', async () => {
    const settings = app();
    context.origin.faults.push(
      { match: /GET .*\/tags\/list/, times: 1, respond: (response) => response.writeHead(429, { 'retry-after': '7' }).end() },
      { match: /GET .*\/manifests\//, times: 2, respond: (response) => response.writeHead(503).end() },
      { match: new RegExp(`GET .*/blobs/${layer}`), times: 1, respond: (response) => {
        response.writeHead(200, { 'content-length': layerBytes.length });
        response.write(layerBytes.subarray(0, 1000), () => response.destroy());
      } },
    );
    const ran = await sync(settings);
    expect(ran.code, ran.stdout.text).toBe(0);
    expect(ran.sleeps[0]).toBe(7000);
    // Full jitter with random() = 0.5: half of 250 ms, then half of 500 ms.
    expect(ran.sleeps.slice(1, 3)).toEqual([125, 250]);
    const retries = ran.stdout.events().filter((event) => event.event === 'retry');
    expect(retries.some((event) => event.digest === layer)).toBe(true);
    expect([...(await storeContents(context.temp.dir)).values()].every(Boolean)).toBe(true);
  });

  it('gives up after sync.retries and names what failed', async () => {
    const settings = app({ retries: 1 });
    context.origin.faults.push({ match: /GET .*\/blobs\//, times: 100, respond: (response) => response.writeHead(500).end() });
    const ran = await sync(settings);
    expect(ran.code).toBe(1);
    const failed = ran.stdout.events().filter((event) => event.event === 'failed');
    expect(failed.map((event) => event.digest).sort()).toEqual([...built.blobDigests].sort());
    expect(String(failed[0]?.error)).toContain('origin answered 500');
    expect(ran.stdout.events().at(-1)).toMatchObject({ event: 'summary', ok: false, buckets: [{ failed: built.blobDigests.length }] });
  });

  it('never puts corrupt bytes at a key: a flipped byte, a short body and an overlong body all fail', async () => {
    const settings = app({ retries: 0 });
    const flipped = Buffer.from(layerBytes);
    flipped[500] = (flipped[500] ?? 0) ^ 1;
    const config = built.blobDigests[0] ?? '';
    const other = built.blobDigests[1] ?? '';
    context.origin.faults.push(
      { match: new RegExp(`GET .*/blobs/${layer}`), times: 1, respond: (response) => response.writeHead(200, { 'content-length': flipped.length }).end(flipped) },
      { match: new RegExp(`GET .*/blobs/${config}`), times: 1, respond: (response) => response.writeHead(200).end('{}') },
      { match: new RegExp(`GET .*/blobs/${other}`), times: 1, respond: (response) => response.writeHead(200).end(Buffer.concat([built.blobs.get(other) as Buffer, Buffer.from('x')])) },
    );
    const ran = await sync(settings);
    expect(ran.code).toBe(1);
    const errors = new Map(ran.stdout.events().filter((event) => event.event === 'failed').map((event) => [event.digest, String(event.error)]));
    expect(errors.get(layer)).toMatch(/hash to sha256:/);
    expect(errors.get(config)).toMatch(/sent 2 bytes/);
    expect(errors.get(other)).toMatch(/more than/);
    expect([...(await storeContents(context.temp.dir)).keys()]).toEqual([]);
  });
});

describe('an origin behind authentication', () => {
  it('sends Basic credentials from sync.auth, and says when none are configured', async () => {
    context.origin.auth = { kind: 'basic', user: 'u', password: 'p w' };
    const anonymous = await sync(app());
    expect(anonymous.code).toBe(1);
    expect(anonymous.stdout.text).toContain('asks for a user and password (Basic)');
    await writeFile(join(context.temp.dir, 'password'), 'p w\n');
    const ran = await sync(app({ auth: { username: 'u', password_file: join(context.temp.dir, 'password'), docker_config: '' } }));
    expect(ran.code, ran.stdout.text).toBe(0);
  });

  it('fetches a bearer token for each scope with the credentials of $DOCKER_CONFIG/config.json', async () => {
    context.origin.auth = { kind: 'bearer', user: 'u', password: 'secret' };
    const folder = join(context.temp.dir, 'docker');
    await mkdir(folder);
    const host = new URL(context.origin.url).host;
    await writeFile(join(folder, 'config.json'), JSON.stringify({ auths: { [`http://${host}/v1/`]: { auth: Buffer.from('u:secret').toString('base64') } } }));
    const ran = await sync(app(), {}, { env: { DOCKER_CONFIG: folder } });
    expect(ran.code, ran.stdout.text).toBe(0);
    const tokenRequests = context.origin.log.filter((request) => request.path.startsWith('/token'));
    expect(tokenRequests.length).toBeGreaterThan(0);
    expect(tokenRequests[0]?.authorization).toBe(`Basic ${Buffer.from('u:secret').toString('base64')}`);
    expect(context.origin.log.filter((request) => request.path.includes('/blobs/')).every((request) => request.authorization?.startsWith('Bearer '))).toBe(true);
  });

  it('reports a token endpoint that refuses the credentials', async () => {
    context.origin.auth = { kind: 'bearer', user: 'u', password: 'secret' };
    const ran = await sync(app());
    expect(ran.code).toBe(1);
    expect(ran.stdout.text).toMatch(/token endpoint .*\/token answered 401/);
  });
});

describe('manifest types', () => {
  it('walks Docker lists and manifests, skips and reports foreign layers, refuses schema 1', async () => {
    const config = Buffer.from('{"architecture":"amd64","os":"windows"}');
    const local = Buffer.from('local layer bytes');
    const foreignDigest = sha256(Buffer.from('foreign'));
    const manifest = context.origin.pushManifest('win/app', undefined, {
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: sha256(config), size: config.length },
      layers: [
        { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: foreignDigest, size: 7, urls: ['https://example.invalid/l'] },
        { mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: sha256(local), size: local.length },
      ],
    }, [config, local]);
    context.origin.pushManifest('win/app', 'ltsc', {
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
      manifests: [{ mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: manifest, size: 1, platform: { os: 'windows', architecture: 'amd64' } }],
    });
    context.origin.pushManifest('win/app', 'old', { schemaVersion: 1, name: 'win/app', fsLayers: [] });
    const ran = await sync(settingsFor(context.origin.url, context.temp.dir, { repositories: ['win/app'] }));
    expect(ran.code).toBe(1);
    expect(ran.stdout.events().find((event) => event.event === 'foreign')).toMatchObject({ digest: foreignDigest });
    expect(ran.stdout.events().find((event) => event.event === 'problem')?.error).toMatch(/schema 1/);
    expect([...(await storeContents(context.temp.dir)).keys()].sort()).toEqual([sha256(config), sha256(local)].sort());
  });

  it('with referrers, copies cosign tags and what the referrers API lists', async () => {
    const tool = multiPlatform('signed');
    context.origin.push('tools/multi', 'v1', tool.index);
    const signature = image('sig');
    context.origin.push('tools/multi', `${tool.index.descriptor.digest.replace(':', '-')}.sig`, signature);
    const sbom = image('sbom');
    context.origin.push('tools/multi', 'unrelated-tag', sbom);
    context.origin.referrersApi = true;
    context.origin.referrers.set(tool.index.descriptor.digest, Buffer.from(JSON.stringify({
      schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [sbom.descriptor],
    })));
    const ran = await sync(settingsFor(context.origin.url, context.temp.dir, { repositories: ['tools/multi'], tags: '^v1$', referrers: true }));
    expect(ran.code, ran.stdout.text).toBe(0);
    const held = new Set((await storeContents(context.temp.dir)).keys());
    for (const digest of [...signature.blobDigests, ...sbom.blobDigests, ...tool.index.blobDigests]) expect(held.has(digest)).toBe(true);
  });
});
