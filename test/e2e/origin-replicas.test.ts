/**
 * Issue 15 with real clients: two replicas of the origin (two distribution registries over the
 * same storage), each front door placing the loopback client in a different Google Cloud region
 * through its own ranges database. skopeo pulls through each door; the registries' access logs
 * say which replica served the manifests, and the other must have served none.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { updateGeo } from '../../geo/update.js';
import { registryBlobRequest, targetPath, type AccessRecord } from '../support/e2e/access-log.js';
import { APP_REPO } from '../support/e2e/fixtures.js';
import { startFrontDoor, type FrontDoor } from '../support/e2e/front-door.js';
import { startRegistryOver, type OriginRegistry } from '../support/e2e/origin-registry.js';
import { pulledDigest } from '../support/e2e/pulled-layout.js';
import { describeFailure } from '../support/e2e/skopeo.js';
import { createWorld, recordsSince, type World } from '../support/e2e/world.js';

let world: World;
/** The second replica: another registry process over the first one's storage. */
let replica: OriginRegistry;
/** Places 127.0.0.1 in gcp europe-west1 (served by `replica`). */
let europeDoor: FrontDoor;
/** Places 127.0.0.1 in gcp us-east1 (served by the world's origin). */
let usDoor: FrontDoor;

function startReplica(storageDir: string, workDir: string): Promise<OriginRegistry> {
  return startRegistryOver(storageDir, workDir, 'docker-registry replica');
}

/** A ranges database with the loopback network in one Google Cloud region. */
async function loopbackIn(region: string): Promise<string> {
  const feeds = join(world.dir, `feeds-${region}`);
  await mkdir(feeds, { recursive: true });
  const prefixes = [{ ipv4Prefix: '127.0.0.0/8', service: 'Google Cloud', scope: region }];
  await writeFile(join(feeds, 'gcp-cloud.json'), JSON.stringify({ syncToken: '1767225600000', creationTime: '2026-01-01T00:00:00.000000', prefixes }));
  const out = join(world.dir, `ranges-${region}.mmdb`);
  const compiled = await updateGeo({ from: feeds, out, locations: false });
  if (!compiled.written) throw new Error(`ranges for ${region} not written: ${JSON.stringify(compiled.errors)}`);
  return out;
}

beforeAll(async () => {
  world = await createWorld();
  await mkdir(join(world.dir, 'pulls'), { recursive: true });
  replica = await startReplica(join(world.dir, 'origin', 'storage'), join(world.dir, 'replica'));
  world.onClose(() => replica.process.stop());
  const mirrors = [
    { url: world.origin.url, provider: 'gcp', regions: ['us-east1'] },
    { url: replica.url, provider: 'gcp', regions: ['europe-west1'] },
  ];
  const door = async (label: string, region: string): Promise<FrontDoor> => {
    const started = await startFrontDoor(label, world.dir, {
      originUrl: world.origin.url,
      buckets: [],
      defaultBucket: '',
      rangesFile: await loopbackIn(region),
      sections: { origin: { url: world.origin.url, path: '', mirrors }, routing: { origins: 'nearest' } },
    });
    world.onClose(() => started.process.stop());
    return started;
  };
  europeDoor = await door('europe', 'europe-west1');
  usDoor = await door('us', 'us-east1');
}, 120_000);

afterAll(async () => {
  await world?.close();
});

let sentinel = 0;
/** What each registry logged while `action` ran. */
async function observe<T>(action: () => Promise<T>): Promise<{ result: T; primary: AccessRecord[]; replica: AccessRecord[] }> {
  const marks = [world.origin.records().length, replica.records().length];
  const result = await action();
  sentinel += 1;
  const primary = await recordsSince(marks[0] ?? 0, () => world.origin.records(), `${world.origin.url}/v2/?replica-sentinel=${sentinel}`);
  const replicaRecords = await recordsSince(marks[1] ?? 0, () => replica.records(), `${replica.url}/v2/?replica-sentinel=${sentinel}`);
  return { result, primary, replica: replicaRecords };
}

const manifestGets = (records: AccessRecord[]) => records.filter((r) => r.method === 'GET' && targetPath(r).startsWith(`/v2/${APP_REPO}/manifests/`));
const blobGets = (records: AccessRecord[]) => records.filter((r) => r.method === 'GET' && registryBlobRequest(r) !== undefined);

describe('skopeo through a front door with two origin replicas', () => {
  it.each<[string, () => FrontDoor, 'replica' | 'primary']>([
    ['a client placed in europe-west1 gets its manifests (and blobs, no bucket) from the europe-west1 replica', () => europeDoor, 'replica'],
    ['a client placed in us-east1 gets them from the us-east1 replica', () => usDoor, 'primary'],
  ])('%s', async (_name, door, chosen) => {
    const out = join(world.dir, 'pulls', `${door().label}-app`);
    const seen = await observe(() => world.skopeo.pull(`${door().host}/${APP_REPO}:1.0`, out, '1.0'));
    expect(seen.result.code, describeFailure('skopeo copy', seen.result)).toBe(0);
    expect(await pulledDigest(out, '1.0')).toBe(world.fixtures.app.get('1.0')?.descriptor.digest);
    const other = chosen === 'replica' ? 'primary' : 'replica';
    expect(manifestGets(seen[chosen]).map((r) => r.status)).toContain(200);
    expect(blobGets(seen[chosen]).length).toBeGreaterThan(0);
    expect(manifestGets(seen[other]), `the ${other} must serve no manifest`).toEqual([]);
    expect(blobGets(seen[other]), `the ${other} must serve no blob`).toEqual([]);
  });
});
