/**
 * containerd (Debian's 1.6) pulls through registry-edge as a mirror of registry.k8s.io, with the
 * `hosts.toml` files of docs/clients.md read out of the guide. A private daemon of the suite's
 * own; `ctr images pull --hosts-dir`. Bytes are accounted from the servers' access logs: every
 * blob byte from the bucket, manifests from the origin, nothing from the fallback `server`.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_REPO, TOOL_REPO, TOOL_TAG } from '../support/e2e/fixtures.js';
import { Containerd, containerdUnavailableReason } from '../support/e2e/containerd.js';
import { startFrontDoor, type FrontDoor, type FrontDoorSetup } from '../support/e2e/front-door.js';
import { containerdHostsToml, MIRRORED_REGISTRY, type ContainerdSnippet, type Targets } from '../support/e2e/guide.js';
import type { NginxBucket } from '../support/e2e/nginx-bucket.js';
import type { BuiltArtifact } from '../support/e2e/oci.js';
import { appImage, expectBlobsFromBucket, expectManifestsFromOrigin, expectUpstreamUntouched, observe, type Observed } from '../support/e2e/pull-accounting.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/e2e/recording-upstream.js';
import { describeFailure } from '../support/e2e/skopeo.js';
import { makeTlsMaterials, startTlsFrontDoor, TLS_SKIP_REASON, type TlsMaterials } from '../support/e2e/tls-door.js';
import { createWorld, type World } from '../support/e2e/world.js';

const LOOPBACK = ['127.0.0.0/8', '::1/128'];
const skipReason = containerdUnavailableReason();
if (skipReason !== undefined) console.warn(`[e2e] skipping the containerd pulls: ${skipReason}`);
if (TLS_SKIP_REASON !== undefined) console.warn(`[e2e] skipping containerd over TLS: ${TLS_SKIP_REASON}`);

let world: World;
let containerd: Containerd;
let upstream: RecordingUpstream;
let tls: TlsMaterials;
let hostsDir: string;
let namespaces = 0;

const app = (tag: string): BuiltArtifact => appImage(world, tag);

function doorSetup(bucket: NginxBucket, defaultBucket: string): FrontDoorSetup {
  return {
    originUrl: world.origin.url,
    rangesFile: join(world.dir, 'no-cloud-ranges.mmdb'),
    buckets: [{ name: bucket.name, url: bucket.url, networks: LOOPBACK }],
    defaultBucket,
  };
}

async function door(label: string, bucket: NginxBucket, defaultBucket = ''): Promise<FrontDoor> {
  const started = await startFrontDoor(label, world.dir, doorSetup(bucket, defaultBucket));
  world.onClose(() => started.process.stop());
  return started;
}

/** Writes `<hostsDir>/registry.k8s.io/hosts.toml` from the guide's snippet. */
async function useSnippet(id: ContainerdSnippet, target: FrontDoor): Promise<string> {
  const targets: Targets = { door: target.url, upstream: upstream.url, caFile: tls.ca.root.cert };
  const text = containerdHostsToml(id, targets);
  await mkdir(join(hostsDir, MIRRORED_REGISTRY), { recursive: true });
  await writeFile(join(hostsDir, MIRRORED_REGISTRY, 'hosts.toml'), text);
  return text;
}

/** A fresh namespace per pull: with isolated content every pull really downloads. */
function namespace(prefix = 'e2e'): string {
  namespaces += 1;
  return `${prefix}-${namespaces}`;
}

async function pull(reference: string, ns: string, allPlatforms = false) {
  return containerd.pull(`${MIRRORED_REGISTRY}/${reference}`, { hostsDir, namespace: ns, allPlatforms });
}

/** The pulled image is in the namespace under its pushed digest, with every blob's bytes intact. */
async function expectStored(reference: string, ns: string, expected: BuiltArtifact, blobDigests: readonly string[]): Promise<void> {
  expect(await containerd.imageDigest(`${MIRRORED_REGISTRY}/${reference}`, ns)).toBe(expected.descriptor.digest);
  const content = await containerd.content(ns);
  for (const digest of [expected.descriptor.digest, ...blobDigests]) {
    expect(content.has(digest), `${ns} holds ${digest}`).toBe(true);
    expect(await containerd.storedDigest(digest)).toBe(digest);
  }
}

function routes(seen: Observed<unknown>, label: string): string[] {
  return (seen.doors.get(label) ?? []).map((request) => `${request.method} ${request.route} ${request.status}`);
}

beforeAll(async () => {
  if (skipReason !== undefined) return;
  world = await createWorld();
  tls = await makeTlsMaterials();
  world.onClose(() => tls.ca.close());
  // The fallback `server`: forwards to the origin, so a pull that skips the mirror still works
  // (as it would against registry.k8s.io), and records that it happened.
  upstream = await startRecordingUpstream(world.origin.url);
  world.onClose(() => upstream.close());
  containerd = await Containerd.start(join(world.dir, 'containerd'));
  world.onClose(() => containerd.process.stop());
  hostsDir = join(world.dir, 'certs.d');
});

afterAll(async () => {
  await world?.close();
});

describe.skipIf(skipReason !== undefined)('containerd through registry-edge over plain HTTP (docs/clients.md)', () => {
  let main: FrontDoor;
  let second: FrontDoor;

  beforeAll(async () => {
    [main, second] = await Promise.all([door('ctr-main', world.bucketA, 'bucket-a'), door('ctr-second', world.bucketB)]);
  });

  it('ctr -n k8s.io pulls the default platform: no /v2/ ping, manifests from the origin, every blob byte from the bucket', async () => {
    await useSnippet('containerd-mirror-plain', main);
    const expected = app('1.0');
    const seen = await observe({ world, bucket: world.bucketA, doors: [main], upstream }, () => pull(`${APP_REPO}:1.0`, 'k8s.io'));
    expect(seen.result.code, describeFailure('ctr images pull', seen.result)).toBe(0);
    await expectStored(`${APP_REPO}:1.0`, 'k8s.io', expected, expected.blobDigests);
    expectManifestsFromOrigin(seen, [`/v2/${APP_REPO}/manifests/1.0`, `/v2/${APP_REPO}/manifests/${expected.descriptor.digest}`]);
    expectBlobsFromBucket(world, seen, expected.blobDigests);
    expectUpstreamUntouched(seen);
    // containerd resolves with HEAD on the tag and never pings /v2/.
    const doorRoutes = routes(seen, 'ctr-main');
    expect(doorRoutes[0]).toBe('HEAD manifest 307');
    expect(doorRoutes.filter((route) => route.includes('ping'))).toEqual([]);
    expect(doorRoutes.filter((route) => route === 'GET blob 307').length).toBe(expected.blobDigests.length);
  });

  it('ctr --all-platforms pulls the index and both platforms: manifests from the origin, layers from the bucket', async () => {
    await useSnippet('containerd-mirror-plain', main);
    const { index, platforms } = world.fixtures.tool;
    const ns = namespace();
    const seen = await observe({ world, bucket: world.bucketA, doors: [main], upstream }, () => pull(`${TOOL_REPO}:${TOOL_TAG}`, ns, true));
    expect(seen.result.code, describeFailure('ctr images pull --all-platforms', seen.result)).toBe(0);
    const layers = [...platforms.values()].flatMap((platform) => platform.blobDigests);
    await expectStored(`${TOOL_REPO}:${TOOL_TAG}`, ns, index, [...[...platforms.values()].map((platform) => platform.descriptor.digest), ...layers]);
    expectManifestsFromOrigin(seen, [`/v2/${TOOL_REPO}/manifests/${TOOL_TAG}`, ...[...platforms.values()].map((platform) => `/v2/${TOOL_REPO}/manifests/${platform.descriptor.digest}`)]);
    expectBlobsFromBucket(world, seen, layers);
    expectUpstreamUntouched(seen);
  });

  it('an edit of hosts.toml applies to the next pull, with the same daemon (no restart)', async () => {
    const daemonPid = containerd.process.pid;
    await useSnippet('containerd-mirror-plain', second);
    const expected = app('1.1');
    const seen = await observe({ world, bucket: world.bucketB, doors: [main, second], upstream }, () => pull(`${APP_REPO}:1.1`, namespace()));
    expect(seen.result.code, describeFailure('ctr images pull', seen.result)).toBe(0);
    expect(containerd.process.pid).toBe(daemonPid);
    expect(containerd.process.running).toBe(true);
    await expectStored(`${APP_REPO}:1.1`, `e2e-${namespaces}`, expected, expected.blobDigests);
    expect(routes(seen, 'ctr-main'), 'the door named before the edit').toEqual([]);
    expect(routes(seen, 'ctr-second').length).toBeGreaterThan(0);
    expectBlobsFromBucket(world, seen, expected.blobDigests);
    expectUpstreamUntouched(seen);
  });

  it('pitfall: a host key without http:// means HTTPS; the pull "succeeds" from server, skipping the mirror', async () => {
    const text = await useSnippet('containerd-mirror-plain', main);
    await writeFile(join(hostsDir, MIRRORED_REGISTRY, 'hosts.toml'), text.replace(`"${main.url}"`, `"${new URL(main.url).host}"`));
    const seen = await observe({ world, bucket: world.bucketA, doors: [main], upstream }, () => pull(`${APP_REPO}:1.2`, namespace()));
    expect(seen.result.code, describeFailure('ctr images pull', seen.result)).toBe(0);
    expect(seen.result.stderr).toContain('http: server gave HTTP response to HTTPS client');
    expect(routes(seen, 'ctr-main'), 'registry-edge saw no request it could log').toEqual([]);
    // Every byte came through the fallback, each request carrying ?ns= as containerd adds it.
    expect(seen.upstream.some((line) => line.startsWith(`GET /v2/${APP_REPO}/blobs/`))).toBe(true);
    for (const line of seen.upstream) expect(line).toContain(`ns=${MIRRORED_REGISTRY}`);
  });

  it('pitfall: containerd 1.6 refuses the server-only hosts.toml and goes to the registry name', async () => {
    await useSnippet('containerd-server-only-broken', main);
    const seen = await observe({ world, bucket: world.bucketA, doors: [main], upstream }, () => pull(`${APP_REPO}:1.1`, namespace()));
    expect(seen.result.stderr).toContain('invalid `host` tree');
    expect(seen.result.stderr).toContain(`https://${MIRRORED_REGISTRY}/v2/${APP_REPO}/manifests/1.1`);
    expect(routes(seen, 'ctr-main')).toEqual([]);
    expectUpstreamUntouched(seen);
  });
});

describe.skipIf(skipReason !== undefined)('containerd when a bucket lacks a blob registry-edge believes it has (stale cache)', () => {
  let stale: FrontDoor;
  let goneDigest: string;

  beforeAll(async () => {
    stale = await door('ctr-stale', world.bucketC);
    // Warm the door's existence cache for one layer, then take the object away.
    const platform = world.fixtures.tool.platforms.get('arm64');
    goneDigest = platform?.blobDigests[1] ?? '';
    const warm = await fetch(`${stale.url}/v2/${TOOL_REPO}/blobs/${goneDigest}`, { redirect: 'manual' });
    expect(warm.headers.get('location')).toBe(`${world.bucketC.url}/containers/images/${goneDigest}`);
    await rm(world.bucketC.objectPath(goneDigest));
  });

  it('the "forbid fallback" form fails the pull: containerd retries the same door and bucket', async () => {
    await useSnippet('containerd-no-fallback', stale);
    const seen = await observe({ world, bucket: world.bucketC, doors: [stale], upstream }, () => pull(`${TOOL_REPO}:${TOOL_TAG}`, namespace(), true));
    expect(seen.result.code, 'the pull must fail').not.toBe(0);
    expect(seen.result.stderr).toContain(goneDigest);
    expect(seen.bucket.filter((record) => record.status === 404 && record.target.endsWith(goneDigest)).length).toBeGreaterThanOrEqual(2);
    expectUpstreamUntouched(seen);
  });

  it('the fallback form recovers: that one blob comes from server, everything else from the bucket', async () => {
    await useSnippet('containerd-mirror-plain', stale);
    const seen = await observe({ world, bucket: world.bucketC, doors: [stale], upstream }, () => pull(`${TOOL_REPO}:${TOOL_TAG}`, namespace(), true));
    expect(seen.result.code, describeFailure('ctr images pull', seen.result)).toBe(0);
    const upstreamBlobs = seen.upstream.filter((line) => line.includes('/blobs/'));
    expect(upstreamBlobs.map((line) => line.split(' ')[1]?.split('?')[0])).toEqual([`/v2/${TOOL_REPO}/blobs/${goneDigest}`]);
    const others = [...world.fixtures.tool.platforms.values()].flatMap((platform) => platform.blobDigests).filter((digest) => digest !== goneDigest);
    const fromBucket = new Set(seen.bucket.filter((record) => record.method === 'GET' && record.status === 200).map((record) => record.target.split('/').pop()));
    for (const digest of others) expect(fromBucket, `bucket served ${digest}`).toContain(digest);
  });
});

describe.skipIf(skipReason !== undefined || TLS_SKIP_REASON !== undefined)('containerd through registry-edge over TLS with a private CA', () => {
  let secure: FrontDoor;

  beforeAll(async () => {
    secure = await startTlsFrontDoor('ctr-tls', world.dir, doorSetup(world.bucketA, 'bucket-a'), tls);
    world.onClose(() => secure.process.stop());
  });

  it('hosts.toml with ca = "…": manifests from the origin, every blob byte from the bucket, nothing from server', async () => {
    await useSnippet('containerd-mirror-tls', secure);
    const expected = app('1.2');
    const ns = namespace();
    const ca = await readFile(tls.ca.root.cert);
    const seen = await observe({ world, bucket: world.bucketA, doors: [secure], upstream, ca }, () => pull(`${APP_REPO}:1.2`, ns));
    expect(seen.result.code, describeFailure('ctr images pull', seen.result)).toBe(0);
    await expectStored(`${APP_REPO}:1.2`, ns, expected, expected.blobDigests);
    expectManifestsFromOrigin(seen, [`/v2/${APP_REPO}/manifests/1.2`]);
    expectBlobsFromBucket(world, seen, expected.blobDigests);
    expectUpstreamUntouched(seen);
  });

  it('without the CA the mirror is refused and containerd falls back to server', async () => {
    const text = await useSnippet('containerd-mirror-tls', secure);
    await writeFile(join(hostsDir, MIRRORED_REGISTRY, 'hosts.toml'), text.split('\n').filter((line) => !line.trim().startsWith('ca =')).join('\n'));
    const ca = await readFile(tls.ca.root.cert);
    const seen = await observe({ world, bucket: world.bucketA, doors: [secure], upstream, ca }, () => pull(`${APP_REPO}:1.1`, namespace()));
    expect(seen.result.code).toBe(0);
    expect(routes(seen, 'ctr-tls'), 'no request got past the handshake').toEqual([]);
    expect(seen.result.stderr).toMatch(/x509: certificate signed by unknown authority/);
    expect(seen.upstream.length).toBeGreaterThan(0);
  });
});
