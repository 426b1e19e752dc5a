/**
 * Real clients pull real images through the built registry-edge: the distribution registry
 * is the origin, nginx processes are the buckets, skopeo (and podman when installed) are the
 * clients. Every assertion is read from what those processes did: their access logs, exit
 * codes and the bytes they wrote to disk.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketObjectDigest, registryBlobRequest, targetPath, type AccessRecord } from '../support/e2e/access-log.js';
import { APP_REPO, APP_TAGS, BIG_LAYER_BYTES, TOOL_REPO, TOOL_TAG } from '../support/e2e/fixtures.js';
import { startFrontDoor, type FrontDoor } from '../support/e2e/front-door.js';
import { BLOB_KEY_PREFIX, type NginxBucket } from '../support/e2e/nginx-bucket.js';
import type { BuiltArtifact } from '../support/e2e/oci.js';
import { Podman, podmanUnavailableReason } from '../support/e2e/podman.js';
import { pulledDigest, storedBlobDigest } from '../support/e2e/pulled-layout.js';
import { describeFailure } from '../support/e2e/skopeo.js';
import { createWorld, recordsSince, repositoryBlobs, type World } from '../support/e2e/world.js';

const LOOPBACK = ['127.0.0.0/8', '::1/128'];

let world: World;
/** Loopback clients → bucket A, which holds everything. */
let mainDoor: FrontDoor;
/** Loopback clients → bucket B, which lacks one layer; no default bucket, so misses go to the origin. */
let partialDoor: FrontDoor;
/** Loopback clients → bucket C, whose copy of the big layer is corrupted. */
let corruptDoor: FrontDoor;
let sentinelCounter = 0;

function app(tag: string): BuiltArtifact {
  const artifact = world.fixtures.app.get(tag);
  if (!artifact) throw new Error(`no fixture for ${APP_REPO}:${tag}`);
  return artifact;
}

function blobSize(digest: string): number {
  for (const repository of [APP_REPO, TOOL_REPO]) {
    const bytes = repositoryBlobs(world.fixtures, repository).get(digest);
    if (bytes) return bytes.length;
  }
  throw new Error(`unknown blob ${digest}`);
}

/** Runs `action`, then returns what the origin and a bucket logged while it ran. */
async function observe<T>(bucket: NginxBucket, action: () => Promise<T>): Promise<{ result: T; origin: AccessRecord[]; bucket: AccessRecord[] }> {
  const originMark = world.origin.records().length;
  const bucketMark = (await bucket.records()).length;
  const result = await action();
  sentinelCounter += 1;
  const origin = await recordsSince(originMark, () => world.origin.records(), `${world.origin.url}/v2/?e2e-sentinel=${sentinelCounter}`);
  const bucketRecords = await recordsSince(bucketMark, () => bucket.records(), `${bucket.url}/__e2e_sentinel/${sentinelCounter}`);
  return { result, origin, bucket: bucketRecords };
}

function blobRequests(records: AccessRecord[]): AccessRecord[] {
  return records.filter((record) => registryBlobRequest(record) !== undefined);
}

function bucketGets(records: AccessRecord[], digest: string): AccessRecord[] {
  return records.filter((record) => record.method === 'GET' && bucketObjectDigest(record, BLOB_KEY_PREFIX) === digest);
}

function pullDir(name: string): string {
  return join(world.dir, 'pulls', name);
}

beforeAll(async () => {
  world = await createWorld();
  await mkdir(join(world.dir, 'pulls'), { recursive: true });
  const common = { originUrl: world.origin.url, rangesFile: join(world.dir, 'no-cloud-ranges.mmdb') };
  const doors = await Promise.all([
    startFrontDoor('main', world.dir, {
      ...common,
      buckets: [{ name: 'bucket-a', url: world.bucketA.url, networks: LOOPBACK }],
      defaultBucket: 'bucket-a',
    }),
    startFrontDoor('partial', world.dir, {
      ...common,
      buckets: [{ name: 'bucket-b', url: world.bucketB.url, networks: LOOPBACK }],
      defaultBucket: '',
    }),
    startFrontDoor('corrupt', world.dir, {
      ...common,
      buckets: [{ name: 'bucket-c', url: world.bucketC.url, networks: LOOPBACK }],
      defaultBucket: '',
    }),
  ].map((starting) => starting.then((door) => {
    world.onClose(() => door.process.stop());
    return door;
  })));
  [mainDoor, partialDoor, corruptDoor] = doors as [FrontDoor, FrontDoor, FrontDoor];
});

afterAll(async () => {
  await world?.close();
});

describe('fixtures on the origin registry', () => {
  it('the origin serves every pushed manifest under the digest computed locally', async () => {
    const references: Array<[string, string, BuiltArtifact]> = [
      ...APP_TAGS.map((tag): [string, string, BuiltArtifact] => [APP_REPO, tag, app(tag)]),
      [TOOL_REPO, TOOL_TAG, world.fixtures.tool.index],
    ];
    for (const [repository, tag, artifact] of references) {
      const response = await fetch(`${world.origin.url}/v2/${repository}/manifests/${tag}`, {
        method: 'HEAD',
        headers: { accept: artifact.descriptor.mediaType },
      });
      expect(response.status, `${repository}:${tag}`).toBe(200);
      expect(response.headers.get('docker-content-digest'), `${repository}:${tag}`).toBe(artifact.descriptor.digest);
    }
  });
});

describe('what the front door answers', () => {
  it('pings 200 and answers 307: manifests to the origin, blobs to the bucket object, bucket misses to the origin', async () => {
    const ping = await fetch(`${mainDoor.url}/v2/`);
    await ping.arrayBuffer();
    expect(ping.status).toBe(200);

    const manifest = await fetch(`${mainDoor.url}/v2/${APP_REPO}/manifests/1.0`, { redirect: 'manual' });
    expect(manifest.status).toBe(307);
    expect(manifest.headers.get('location')).toBe(`${world.origin.url}/v2/${APP_REPO}/manifests/1.0`);

    const digest = world.fixtures.bigLayerDigest;
    const blob = await fetch(`${mainDoor.url}/v2/${APP_REPO}/blobs/${digest}`, { redirect: 'manual' });
    expect(blob.status).toBe(307);
    expect(blob.headers.get('location')).toBe(`${world.bucketA.url}${BLOB_KEY_PREFIX}${digest}`);

    const missing = await fetch(`${partialDoor.url}/v2/${APP_REPO}/blobs/${world.missingFromB}`, { redirect: 'manual' });
    expect(missing.status).toBe(307);
    expect(missing.headers.get('location')).toBe(`${world.origin.url}/v2/${APP_REPO}/blobs/${world.missingFromB}`);
  });
});

describe('skopeo through registry-edge', () => {
  it('pulls a multi-layer image under a nested name: manifest from the origin, every blob byte from the bucket', async () => {
    const expected = app('1.0');
    const out = pullDir('main-app-1.0');
    const seen = await observe(world.bucketA, () => world.skopeo.pull(`${mainDoor.host}/${APP_REPO}:1.0`, out, '1.0'));
    expect(seen.result.code, describeFailure('skopeo copy', seen.result)).toBe(0);

    expect(await pulledDigest(out, '1.0')).toBe(expected.descriptor.digest);
    for (const digest of expected.blobDigests) expect(await storedBlobDigest(out, digest)).toBe(digest);

    const manifestGets = seen.origin.filter((record) => record.method === 'GET' && targetPath(record) === `/v2/${APP_REPO}/manifests/1.0`);
    expect(manifestGets.map((record) => record.status)).toContain(200);
    expect(blobRequests(seen.origin), 'the origin must not serve any blob').toEqual([]);

    for (const digest of expected.blobDigests) {
      const gets = bucketGets(seen.bucket, digest).filter((record) => record.status === 200);
      expect(gets.length, `bucket GETs of ${digest}`).toBeGreaterThanOrEqual(1);
      for (const get of gets) expect(get.bytes, `bytes of ${digest}`).toBe(blobSize(digest));
    }
    // The multi-MiB layer is the bulk of the image; it alone must have crossed from the bucket.
    expect(blobSize(world.fixtures.bigLayerDigest)).toBeGreaterThan(BIG_LAYER_BYTES);
  });

  it('pulls a multi-platform index with --all: index and both platform manifests from the origin, layers from the bucket', async () => {
    const { index, platforms } = world.fixtures.tool;
    const out = pullDir('main-tool');
    const seen = await observe(world.bucketA, () => world.skopeo.pull(`${mainDoor.host}/${TOOL_REPO}:${TOOL_TAG}`, out, TOOL_TAG, true));
    expect(seen.result.code, describeFailure('skopeo copy --all', seen.result)).toBe(0);

    expect(await pulledDigest(out, TOOL_TAG)).toBe(index.descriptor.digest);
    expect([...platforms.keys()].sort()).toEqual(['amd64', 'arm64']);
    const originManifestTargets = new Set(seen.origin.filter((record) => record.method === 'GET' && record.status === 200).map(targetPath));
    for (const platform of platforms.values()) {
      expect(await storedBlobDigest(out, platform.descriptor.digest)).toBe(platform.descriptor.digest);
      expect(originManifestTargets).toContain(`/v2/${TOOL_REPO}/manifests/${platform.descriptor.digest}`);
      for (const digest of platform.blobDigests) {
        expect(await storedBlobDigest(out, digest)).toBe(digest);
        const gets = bucketGets(seen.bucket, digest).filter((record) => record.status === 200);
        expect(gets.length, `bucket GETs of ${digest}`).toBeGreaterThanOrEqual(1);
        for (const get of gets) expect(get.bytes).toBe(blobSize(digest));
      }
    }
    expect(blobRequests(seen.origin), 'the origin must not serve any blob').toEqual([]);
  });

  it('skopeo inspect through the front door reports the digest that was pushed', async () => {
    const expected = app('1.2');
    const raw = await world.skopeo.run(['inspect', '--raw', '--tls-verify=false', `docker://${mainDoor.host}/${APP_REPO}:1.2`]);
    expect(raw.code, describeFailure('skopeo inspect --raw', raw)).toBe(0);
    expect(raw.stdout).toBe(expected.blobs.get(expected.descriptor.digest)?.toString('utf8'));

    const inspected = await world.skopeo.run(['inspect', '--tls-verify=false', `docker://${mainDoor.host}/${APP_REPO}:1.2`]);
    expect(inspected.code, describeFailure('skopeo inspect', inspected)).toBe(0);
    const report = JSON.parse(inspected.stdout) as { Digest?: string; Architecture?: string; Env?: string[] };
    expect(report.Digest).toBe(expected.descriptor.digest);
    expect(report.Env).toContain('APP_VERSION=1.2');
  });

  it('a blob missing from the bucket is fetched from the origin and the pull still succeeds', async () => {
    const expected = app('1.0');
    const missing = world.missingFromB;
    const out = pullDir('partial-app-1.0');
    const seen = await observe(world.bucketB, () => world.skopeo.pull(`${partialDoor.host}/${APP_REPO}:1.0`, out, '1.0'));
    expect(seen.result.code, describeFailure('skopeo copy', seen.result)).toBe(0);
    expect(await pulledDigest(out, '1.0')).toBe(expected.descriptor.digest);
    expect(await storedBlobDigest(out, missing)).toBe(missing);

    const originBlobs = blobRequests(seen.origin).filter((record) => record.method === 'GET');
    expect(originBlobs.map((record) => registryBlobRequest(record)?.digest)).toEqual([missing]);
    expect(originBlobs[0]?.status).toBe(200);
    expect(originBlobs[0]?.bytes).toBe(blobSize(missing));

    expect(bucketGets(seen.bucket, missing).filter((record) => record.status === 200)).toEqual([]);
    for (const digest of expected.blobDigests.filter((candidate) => candidate !== missing)) {
      const gets = bucketGets(seen.bucket, digest).filter((record) => record.status === 200);
      expect(gets.length, `bucket B GETs of ${digest}`).toBeGreaterThanOrEqual(1);
      for (const get of gets) expect(get.bytes).toBe(blobSize(digest));
    }
  });

  it('a bucket serving a corrupted layer makes the client fail with a digest mismatch', async () => {
    const out = pullDir('corrupt-app-1.0');
    const seen = await observe(world.bucketC, () => world.skopeo.pull(`${corruptDoor.host}/${APP_REPO}:1.0`, out, '1.0'));
    expect(seen.result.code, 'skopeo must refuse the corrupted layer').not.toBe(0);
    expect(seen.result.stderr).toMatch(/digest did not match/i);
    expect(seen.result.stderr).toContain(world.corruptedInC);
    // The damaged bytes really were served (by bucket C, not the origin), and rejected.
    expect(bucketGets(seen.bucket, world.corruptedInC).map((record) => record.status)).toContain(200);
    expect(blobRequests(seen.origin).filter((record) => registryBlobRequest(record)?.digest === world.corruptedInC)).toEqual([]);
    expect(await pulledDigest(out, '1.0')).toBeUndefined();
  });

  it('skopeo list-tags through the front door returns every tag from the origin', async () => {
    const seen = await observe(world.bucketA, () => world.skopeo.run(['list-tags', '--tls-verify=false', `docker://${mainDoor.host}/${APP_REPO}`]));
    expect(seen.result.code, describeFailure('skopeo list-tags', seen.result)).toBe(0);
    const listed = JSON.parse(seen.result.stdout) as { Repository?: string; Tags?: string[] };
    expect([...(listed.Tags ?? [])].sort()).toEqual([...APP_TAGS].sort());
    expect(seen.origin.some((record) => record.method === 'GET' && record.status === 200 && targetPath(record) === `/v2/${APP_REPO}/tags/list`)).toBe(true);
  });
});

describe('tag pagination through the redirect', () => {
  it('keeps n and last in the 307 Location, and the origin receives them verbatim', async () => {
    const firstPage = `/v2/${APP_REPO}/tags/list?n=1`;
    const redirect = await fetch(`${mainDoor.url}${firstPage}`, { redirect: 'manual' });
    expect(redirect.status).toBe(307);
    expect(redirect.headers.get('location')).toBe(`${world.origin.url}${firstPage}`);

    // Walk the pages the way a client does, always starting at the front door; `Link` is
    // followed when the origin paginates, and each `last=` request is made explicitly too.
    const seen = await observe(world.bucketA, async () => {
      const tags: string[] = [];
      let next: string | undefined = firstPage;
      for (let page = 0; next !== undefined && page < 10; page += 1) {
        const response: Response = await fetch(`${mainDoor.url}${next}`, { redirect: 'follow' });
        expect(response.status).toBe(200);
        const body = (await response.json()) as { name?: string; tags?: string[] };
        expect(body.name).toBe(APP_REPO);
        tags.push(...(body.tags ?? []));
        const link = /<([^>]+)>;\s*rel="?next"?/.exec(response.headers.get('link') ?? '')?.[1];
        next = link === undefined ? undefined : new URL(link, world.origin.url).pathname + new URL(link, world.origin.url).search;
      }
      const afterFirst = await fetch(`${mainDoor.url}/v2/${APP_REPO}/tags/list?n=1&last=${tags[0] ?? ''}`, { redirect: 'follow' });
      expect(afterFirst.status).toBe(200);
      const rest = (await afterFirst.json()) as { tags?: string[] };
      return { tags, rest: rest.tags ?? [] };
    });
    expect([...new Set(seen.result.tags)].sort()).toEqual([...APP_TAGS].sort());
    expect(seen.result.rest.length).toBeGreaterThan(0);

    const originTargets = seen.origin.map((record) => record.target);
    expect(originTargets).toContain(firstPage);
    expect(originTargets).toContain(`/v2/${APP_REPO}/tags/list?n=1&last=${seen.result.tags[0] ?? ''}`);
  });
});

const podmanSkipReason = podmanUnavailableReason();
if (podmanSkipReason !== undefined) console.warn(`[e2e] skipping the podman pull: ${podmanSkipReason}`);

describe('podman through registry-edge', () => {
  it.skipIf(podmanSkipReason !== undefined)('podman pull (vfs storage) gets the image with every blob from the bucket', async () => {
    const expected = app('1.1');
    const podman = await Podman.create(join(world.dir, 'podman'), world.skopeo.policyFile, world.skopeo.env);
    const seen = await observe(world.bucketA, () => podman.pull(`${mainDoor.host}/${APP_REPO}:1.1`));
    expect(seen.result.code, describeFailure('podman pull', seen.result)).toBe(0);
    // podman prints the image ID, which is the hex of the config digest.
    const configDigest = expected.blobDigests[0] ?? '';
    expect(seen.result.stdout.trim().split('\n').pop()).toBe(configDigest.slice('sha256:'.length));

    expect(seen.origin.some((record) => record.method === 'GET' && record.status === 200 && targetPath(record) === `/v2/${APP_REPO}/manifests/1.1`)).toBe(true);
    expect(blobRequests(seen.origin), 'the origin must not serve any blob').toEqual([]);
    for (const digest of expected.blobDigests) {
      const gets = bucketGets(seen.bucket, digest).filter((record) => record.status === 200);
      expect(gets.length, `bucket GETs of ${digest}`).toBeGreaterThanOrEqual(1);
      for (const get of gets) expect(get.bytes).toBe(blobSize(digest));
    }
  });
});
