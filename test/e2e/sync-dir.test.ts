/**
 * `registry-edge sync` against the real origin (Debian docker-registry) into a `dir` store
 * served by nginx, then skopeo pulling through a front door that knows the bucket from the
 * inventory sync wrote: every blob byte from the bucket, none from the origin, no HEAD.
 */
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryBlobRequest, type AccessRecord } from '../support/e2e/access-log.js';
import { APP_REPO, APP_TAGS, TOOL_REPO, TOOL_TAG } from '../support/e2e/fixtures.js';
import { startFrontDoor, type FrontDoor } from '../support/e2e/front-door.js';
import { Podman, podmanUnavailableReason } from '../support/e2e/podman.js';
import { BLOB_KEY_PREFIX, startNginxBucket, type NginxBucket } from '../support/e2e/nginx-bucket.js';
import { pulledDigest, storedBlobDigest } from '../support/e2e/pulled-layout.js';
import { describeFailure } from '../support/e2e/skopeo.js';
import { describeRun, runSyncCommand, storeSnapshot, wrongKeys, writeConfig } from '../support/e2e/sync.js';
import { createWorld, recordsSince, repositoryBlobs, type World } from '../support/e2e/world.js';

let world: World;
let bucket: NginxBucket;
let configFile: string;
let inventory: string;
const allBlobs = new Map<string, Buffer>();

beforeAll(async () => {
  world = await createWorld();
  await mkdir(join(world.dir, 'synced'), { recursive: true });
  bucket = await startNginxBucket('synced', join(world.dir, 'synced'));
  world.onClose(() => bucket.process.stop());
  for (const repository of [APP_REPO, TOOL_REPO]) for (const [digest, bytes] of repositoryBlobs(world.fixtures, repository)) allBlobs.set(digest, bytes);
  inventory = join(world.dir, 'inventory.json');
  configFile = await writeConfig(world.dir, 'sync', {
    origin: { url: world.origin.url, path: '' },
    blobs: { key: `${BLOB_KEY_PREFIX}{digest}`, inventory },
    buckets: [{ name: 'synced', url: bucket.url, store: { type: 'dir', path: bucket.rootDir } }],
    sync: { repositories: [APP_REPO, TOOL_REPO], concurrency: 4, origin_rps: 0 },
  });
});

afterAll(async () => {
  await world?.close();
});

let frontDoorStarted: Promise<FrontDoor> | undefined;

/** One front door on the synced bucket and the inventory sync wrote, for both clients. */
function syncedFrontDoor(): Promise<FrontDoor> {
  frontDoorStarted ??= startFrontDoor('synced', world.dir, {
    originUrl: world.origin.url,
    buckets: [{ name: 'synced', url: bucket.url }],
    defaultBucket: 'synced',
    rangesFile: join(world.dir, 'no-ranges.mmdb'),
    inventory,
  }).then((started) => {
    world.onClose(() => started.process.stop());
    return started;
  });
  return frontDoorStarted;
}

/** Requests the bucket and the origin logged while `action` ran. */
async function observe(action: () => Promise<void>): Promise<{ bucket: AccessRecord[]; origin: AccessRecord[] }> {
  const originMark = world.origin.records().length;
  const bucketMark = (await bucket.records()).length;
  await action();
  return {
    bucket: await recordsSince(bucketMark, () => bucket.records(), `${bucket.url}/__sentinel`),
    origin: await recordsSince(originMark, () => world.origin.records(), `${world.origin.url}/v2/__sentinel`),
  };
}

function expectAllFromBucket(seen: { bucket: AccessRecord[]; origin: AccessRecord[] }): void {
  expect(seen.bucket.filter((record) => record.method === 'HEAD')).toEqual([]);
  expect(seen.origin.filter((record) => registryBlobRequest(record) !== undefined)).toEqual([]);
  const served = seen.bucket.filter((record) => record.method === 'GET' && record.status === 200);
  expect(served.length).toBeGreaterThan(0);
  for (const record of served) expect(record.bytes).toBe(allBlobs.get(record.target.slice(BLOB_KEY_PREFIX.length))?.length);
}

const podmanSkipReason = podmanUnavailableReason();

describe('sync into a dir store served by nginx', () => {
  it('--dry-run prints the plan and writes nothing', async () => {
    const result = await runSyncCommand('sync', ['--config', configFile, '--dry-run']);
    expect(result.code, describeRun('sync --dry-run', result)).toBe(0);
    const plan = result.events.find((event) => event.event === 'plan');
    expect(plan).toMatchObject({ bucket: 'synced', copy: allBlobs.size, present: 0 });
    expect(plan?.copy_bytes).toBe([...allBlobs.values()].reduce((sum, bytes) => sum + bytes.length, 0));
    expect((await storeSnapshot(bucket.rootDir)).size).toBe(0);
    await expect(stat(inventory)).rejects.toThrow(/ENOENT/);
  });

  it('copies every blob of the images, byte for byte, and writes the inventory', async () => {
    const result = await runSyncCommand('sync', ['--config', configFile]);
    expect(result.code, describeRun('sync', result)).toBe(0);
    const snapshot = await storeSnapshot(bucket.rootDir);
    expect(wrongKeys(snapshot)).toEqual([]);
    expect([...snapshot.keys()].sort()).toEqual([...allBlobs.keys()].sort());
    for (const [digest, bytes] of allBlobs) expect((await readFile(bucket.objectPath(digest))).equals(bytes)).toBe(true);
    const summary = result.events.find((event) => event.event === 'summary');
    expect(summary).toMatchObject({ ok: true, buckets: [{ bucket: 'synced', copied: allBlobs.size, skipped: 0, failed: 0 }] });
    const written = JSON.parse(await readFile(inventory, 'utf8')) as Record<string, string[]>;
    expect(written.synced?.sort()).toEqual([...allBlobs.keys()].sort());
  });

  it('a second run copies nothing, and verify --deep finds every object intact', async () => {
    const again = await runSyncCommand('sync', ['--config', configFile]);
    expect(again.code, describeRun('second sync', again)).toBe(0);
    expect(again.events.filter((event) => event.event === 'copied')).toEqual([]);
    expect(again.events.find((event) => event.event === 'summary')).toMatchObject({ buckets: [{ copied: 0, skipped: allBlobs.size }] });
    const verified = await runSyncCommand('verify', ['--config', configFile, '--deep']);
    expect(verified.code, describeRun('verify --deep', verified)).toBe(0);
    expect(verified.events.find((event) => event.event === 'verified')).toMatchObject({ bucket: 'synced', ok: allBlobs.size, corrupt: 0, stale: 0 });
  });

  it('skopeo pulls through the front door with every blob byte from the synced bucket and no HEAD', async () => {
    const frontDoor = await syncedFrontDoor();
    const layouts = join(world.dir, 'pulled-sync');
    await mkdir(layouts, { recursive: true });
    const pulls = [
      { source: `${APP_REPO}:${APP_TAGS[0]}`, layout: join(layouts, 'app'), tag: APP_TAGS[0], all: false },
      { source: `${TOOL_REPO}:${TOOL_TAG}`, layout: join(layouts, 'tool'), tag: TOOL_TAG, all: true },
    ];
    const seen = await observe(async () => {
      for (const pull of pulls) {
        const result = await world.skopeo.pull(`${frontDoor.host}/${pull.source}`, pull.layout, pull.tag, pull.all);
        expect(result.code, describeFailure(`pull ${pull.source}`, result)).toBe(0);
        expect(await pulledDigest(pull.layout, pull.tag)).toMatch(/^sha256:/);
      }
    });
    expectAllFromBucket(seen);
    const app = world.fixtures.app.get(APP_TAGS[0]);
    for (const digest of app?.blobDigests ?? []) expect(await storedBlobDigest(join(layouts, 'app'), digest)).toBe(digest);
  });

  it.skipIf(podmanSkipReason !== undefined)('podman pulls through the same front door, every blob from the bucket, no HEAD', async () => {
    const frontDoor = await syncedFrontDoor();
    const podman = await Podman.create(join(world.dir, 'podman-sync'), world.skopeo.policyFile, world.skopeo.env);
    const seen = await observe(async () => {
      const result = await podman.pull(`${frontDoor.host}/${APP_REPO}:${APP_TAGS[1]}`);
      expect(result.code, describeFailure('podman pull', result)).toBe(0);
    });
    expectAllFromBucket(seen);
  });
});
