/**
 * What every process saw while one client pull ran: the origin's and a bucket's access logs,
 * the front door's request log lines, and the fallback upstream's requests. Assertions about
 * where bytes came from are made on these records, never on registry-edge's own counters.
 */
import { request as httpsRequest } from 'node:https';
import { expect } from 'vitest';
import { bucketObjectDigest, registryBlobRequest, targetPath, type AccessRecord } from './access-log.js';
import { APP_REPO, TOOL_REPO } from './fixtures.js';
import type { FrontDoor } from './front-door.js';
import type { BuiltArtifact } from './oci.js';
import { BLOB_KEY_PREFIX, type NginxBucket } from './nginx-bucket.js';
import type { RecordingUpstream } from './recording-upstream.js';
import { recordsSince, repositoryBlobs, type World } from './world.js';

/** One `"msg":"request"` line of registry-edge's log. */
export interface DoorRequest {
  method: string;
  route: string;
  status: number;
  target: string;
}

export function doorRequests(lines: readonly string[]): DoorRequest[] {
  const requests: DoorRequest[] = [];
  for (const line of lines) {
    if (!line.includes('"msg":"request"')) continue;
    const record = JSON.parse(line) as DoorRequest & { msg: string };
    requests.push({ method: record.method, route: record.route, status: record.status, target: record.target });
  }
  return requests;
}

export interface Observed<T> {
  result: T;
  origin: AccessRecord[];
  bucket: AccessRecord[];
  /** Requests each watched door logged, by door label. */
  doors: Map<string, DoorRequest[]>;
  /** `METHOD target` lines the fallback upstream received, and its TCP connections. */
  upstream: string[];
  upstreamConnections: number;
}

export interface Watched {
  world: World;
  bucket: NginxBucket;
  doors: FrontDoor[];
  upstream: RecordingUpstream;
  /** CA for doors served over TLS. */
  ca?: Buffer;
}

let sentinels = 0;

/** Sends a request no client sends (OPTIONS), so its log line marks "everything before is in". */
async function doorSentinel(door: FrontDoor, ca: Buffer | undefined): Promise<void> {
  if (!door.url.startsWith('https:')) {
    await fetch(`${door.url}/v2/`, { method: 'OPTIONS' }).then((response) => response.arrayBuffer()).catch(() => undefined);
    return;
  }
  await new Promise<void>((resolve) => {
    const req = httpsRequest(`${door.url}/v2/`, { method: 'OPTIONS', ca, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    req.on('error', () => resolve());
    req.end();
  });
}

async function doorLinesSince(door: FrontDoor, mark: number, ca: Buffer | undefined): Promise<DoorRequest[]> {
  await doorSentinel(door, ca);
  const deadline = Date.now() + 5000;
  for (;;) {
    const requests = doorRequests(door.process.stdoutLines.slice(mark));
    const sentinelAt = requests.findIndex((request) => request.method === 'OPTIONS');
    if (sentinelAt >= 0) return requests.slice(0, sentinelAt);
    if (Date.now() > deadline) throw new Error(`${door.label}: the OPTIONS sentinel never reached the log`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function observe<T>(watched: Watched, action: () => Promise<T>): Promise<Observed<T>> {
  const { world, bucket, upstream } = watched;
  const originMark = world.origin.records().length;
  const bucketMark = (await bucket.records()).length;
  const doorMarks = watched.doors.map((door) => door.process.stdoutLines.length);
  const upstreamMark = upstream.requests.length;
  const connectionsMark = upstream.connections;
  const result = await action();
  sentinels += 1;
  const origin = await recordsSince(originMark, () => world.origin.records(), `${world.origin.url}/v2/?e2e-sentinel=${sentinels}`);
  const bucketRecords = await recordsSince(bucketMark, () => bucket.records(), `${bucket.url}/__e2e_sentinel/${sentinels}`);
  const doors = new Map<string, DoorRequest[]>();
  for (const [index, door] of watched.doors.entries()) doors.set(door.label, await doorLinesSince(door, doorMarks[index] ?? 0, watched.ca));
  return {
    result,
    origin,
    bucket: bucketRecords,
    doors,
    upstream: upstream.requests.slice(upstreamMark),
    upstreamConnections: upstream.connections - connectionsMark,
  };
}

/** The fixture image of APP_REPO under `tag`. */
export function appImage(world: World, tag: string): BuiltArtifact {
  const artifact = world.fixtures.app.get(tag);
  if (!artifact) throw new Error(`no fixture for ${APP_REPO}:${tag}`);
  return artifact;
}

export function blobSize(world: World, digest: string): number {
  for (const repository of [APP_REPO, TOOL_REPO]) {
    const bytes = repositoryBlobs(world.fixtures, repository).get(digest);
    if (bytes) return bytes.length;
  }
  throw new Error(`unknown blob ${digest}`);
}

/** Every byte of every blob came from the bucket in full; the origin served no blob at all. */
export function expectBlobsFromBucket(world: World, seen: Observed<unknown>, digests: readonly string[]): void {
  expect(seen.origin.filter((record) => registryBlobRequest(record) !== undefined), 'the origin must serve no blob').toEqual([]);
  for (const digest of digests) {
    const gets = seen.bucket.filter((record) => record.method === 'GET' && record.status === 200 && bucketObjectDigest(record, BLOB_KEY_PREFIX) === digest);
    expect(gets.length, `bucket GETs of ${digest}`).toBeGreaterThanOrEqual(1);
    for (const get of gets) expect(get.bytes, `bytes of ${digest}`).toBe(blobSize(world, digest));
  }
}

/** The origin answered these manifest paths with 200 (HEAD or GET, by tag or digest). */
export function expectManifestsFromOrigin(seen: Observed<unknown>, paths: readonly string[]): void {
  const served = new Set(seen.origin.filter((record) => record.status === 200).map(targetPath));
  for (const path of paths) expect(served, `origin served ${path}`).toContain(path);
}

/** The fallback upstream was never contacted: the mirror really served the pull. */
export function expectUpstreamUntouched(seen: Observed<unknown>): void {
  expect(seen.upstream).toEqual([]);
  expect(seen.upstreamConnections).toBe(0);
}
