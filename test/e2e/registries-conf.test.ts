/**
 * skopeo and podman pull registry.k8s.io images through registry-edge as a mirror, configured
 * with the `registries.conf` drop-ins of docs/clients.md read out of the guide. The upstream
 * `location` is a recording stand-in: a pull that skipped the mirror would show up there.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_REPO } from '../support/e2e/fixtures.js';
import { startFrontDoor, type FrontDoor, type FrontDoorSetup } from '../support/e2e/front-door.js';
import { MIRRORED_REGISTRY, registriesConf, type RegistriesSnippet } from '../support/e2e/guide.js';
import type { BuiltArtifact } from '../support/e2e/oci.js';
import { Podman, podmanUnavailableReason } from '../support/e2e/podman.js';
import { appImage, expectBlobsFromBucket, expectManifestsFromOrigin, expectUpstreamUntouched, observe } from '../support/e2e/pull-accounting.js';
import { pulledDigest, storedBlobDigest } from '../support/e2e/pulled-layout.js';
import { startRecordingUpstream, type RecordingUpstream } from '../support/e2e/recording-upstream.js';
import { describeFailure, Skopeo } from '../support/e2e/skopeo.js';
import { certsDirFor, makeTlsMaterials, startTlsFrontDoor, TLS_SKIP_REASON, type TlsMaterials } from '../support/e2e/tls-door.js';
import { createWorld, type World } from '../support/e2e/world.js';

const run = promisify(execFile);
const podmanSkipReason = podmanUnavailableReason();
if (podmanSkipReason !== undefined) console.warn(`[e2e] skipping the podman mirror pulls: ${podmanSkipReason}`);
if (TLS_SKIP_REASON !== undefined) console.warn(`[e2e] skipping skopeo, podman and curl over TLS: ${TLS_SKIP_REASON}`);

let world: World;
let upstream: RecordingUpstream;
let pulls = 0;

const app = (tag: string): BuiltArtifact => appImage(world, tag);

function doorSetup(): FrontDoorSetup {
  return {
    originUrl: world.origin.url,
    rangesFile: join(world.dir, 'no-cloud-ranges.mmdb'),
    buckets: [{ name: 'bucket-a', url: world.bucketA.url, networks: ['127.0.0.0/8', '::1/128'] }],
    defaultBucket: 'bucket-a',
  };
}

/**
 * A skopeo of its own whose registries.conf is the guide's drop-in, aimed at `door`. podman
 * reads it through CONTAINERS_REGISTRIES_CONF (in `env`); skopeo 1.9 only by --registries-conf.
 */
async function mirroredSkopeo(id: RegistriesSnippet, door: FrontDoor): Promise<{ skopeo: Skopeo; conf: string }> {
  pulls += 1;
  const dir = join(world.dir, `mirrored-${pulls}`);
  const skopeo = await Skopeo.create(dir);
  const conf = join(dir, 'registries.conf');
  await writeFile(conf, registriesConf(id, { door: door.url, upstream: upstream.url }));
  return { skopeo, conf };
}

/** skopeo copy of registry.k8s.io/<APP_REPO>:<tag> into an OCI layout, TLS decided by the config. */
async function skopeoPull(mirrored: { skopeo: Skopeo; conf: string }, tag: string, extra: string[] = []) {
  const out = join(world.dir, 'layouts-pulled', `${pulls}-${tag}`);
  await mkdir(join(world.dir, 'layouts-pulled'), { recursive: true });
  const result = await mirrored.skopeo.run(['--registries-conf', mirrored.conf, 'copy', ...extra, `docker://${MIRRORED_REGISTRY}/${APP_REPO}:${tag}`, `oci:${out}:${tag}`]);
  return { ...result, out };
}

async function expectLayout(out: string, tag: string, expected: BuiltArtifact): Promise<void> {
  expect(await pulledDigest(out, tag)).toBe(expected.descriptor.digest);
  for (const digest of expected.blobDigests) expect(await storedBlobDigest(out, digest)).toBe(digest);
}

beforeAll(async () => {
  world = await createWorld();
  upstream = await startRecordingUpstream();
  world.onClose(() => upstream.close());
});

afterAll(async () => {
  await world?.close();
});

describe('registries.conf mirror over plain HTTP (docs/clients.md)', () => {
  let door: FrontDoor;

  beforeAll(async () => {
    door = await startFrontDoor('conf-plain', world.dir, doorSetup());
    world.onClose(() => door.process.stop());
  });

  it('skopeo with the guide\'s insecure mirror: manifests from the origin, every blob byte from the bucket', async () => {
    const skopeo = await mirroredSkopeo('registries-mirror-plain', door);
    const expected = app('1.2');
    const seen = await observe({ world, bucket: world.bucketA, doors: [door], upstream }, () => skopeoPull(skopeo, '1.2'));
    expect(seen.result.code, describeFailure('skopeo copy', seen.result)).toBe(0);
    await expectLayout(seen.result.out, '1.2', expected);
    expectManifestsFromOrigin(seen, [`/v2/${APP_REPO}/manifests/1.2`]);
    expectBlobsFromBucket(world, seen, expected.blobDigests);
    expectUpstreamUntouched(seen);
  });

  it.skipIf(podmanSkipReason !== undefined)('podman with the same drop-in and no --tls-verify flag: pings /v2/, blobs from the bucket', async () => {
    const { skopeo } = await mirroredSkopeo('registries-mirror-plain', door);
    const podman = await Podman.create(join(world.dir, `podman-${pulls}`), skopeo.policyFile, skopeo.env);
    const expected = app('1.1');
    const seen = await observe({ world, bucket: world.bucketA, doors: [door], upstream }, () => podman.pull(`${MIRRORED_REGISTRY}/${APP_REPO}:1.1`, []));
    expect(seen.result.code, describeFailure('podman pull', seen.result)).toBe(0);
    expect(seen.result.stdout.trim().split('\n').pop()).toBe((expected.blobDigests[0] ?? '').slice('sha256:'.length));
    expect((seen.doors.get('conf-plain') ?? []).some((request) => request.route === 'ping')).toBe(true);
    expectBlobsFromBucket(world, seen, expected.blobDigests);
    expectUpstreamUntouched(seen);
  });
});

describe.skipIf(TLS_SKIP_REASON !== undefined)('registries.conf mirror and registry name over TLS with a private CA', () => {
  let tls: TlsMaterials;
  let door: FrontDoor;
  let ca: Buffer;

  beforeAll(async () => {
    tls = await makeTlsMaterials();
    world.onClose(() => tls.ca.close());
    door = await startTlsFrontDoor('conf-tls', world.dir, doorSetup(), tls);
    world.onClose(() => door.process.stop());
    ca = await readFile(tls.ca.root.cert);
  });

  it('skopeo --src-cert-dir with the guide\'s TLS mirror', async () => {
    const skopeo = await mirroredSkopeo('registries-mirror-tls', door);
    const certDir = await certsDirFor(join(world.dir, `cert-dir-${pulls}`), 'any', tls);
    const expected = app('1.0');
    const seen = await observe({ world, bucket: world.bucketA, doors: [door], upstream, ca }, () => skopeoPull(skopeo, '1.0', ['--src-cert-dir', certDir]));
    expect(seen.result.code, describeFailure('skopeo copy', seen.result)).toBe(0);
    await expectLayout(seen.result.out, '1.0', expected);
    expectBlobsFromBucket(world, seen, expected.blobDigests);
    expectUpstreamUntouched(seen);
  });

  it('skopeo with the door as the registry name and --src-cert-dir', async () => {
    const skopeo = await Skopeo.create(join(world.dir, 'skopeo-tls-name'));
    const certDir = await certsDirFor(join(world.dir, 'cert-dir-name'), 'any', tls);
    const out = join(world.dir, 'layouts-pulled', 'name-1.1');
    const result = await skopeo.run(['copy', '--src-cert-dir', certDir, `docker://${door.host}/${APP_REPO}:1.1`, `oci:${out}:1.1`]);
    expect(result.code, describeFailure('skopeo copy', result)).toBe(0);
    await expectLayout(out, '1.1', app('1.1'));
  });

  it.skipIf(podmanSkipReason !== undefined)('podman with certs.d/<host:port>/ca.crt and the guide\'s TLS mirror', async () => {
    const { skopeo } = await mirroredSkopeo('registries-mirror-tls', door);
    // containers-certs.d(5): $HOME/.config/containers/certs.d is read before /etc/containers/certs.d.
    await certsDirFor(join(skopeo.env.HOME ?? '', '.config', 'containers', 'certs.d'), door.host, tls);
    const podman = await Podman.create(join(world.dir, `podman-${pulls}`), skopeo.policyFile, skopeo.env);
    const expected = app('1.2');
    const seen = await observe({ world, bucket: world.bucketA, doors: [door], upstream, ca }, () => podman.pull(`${MIRRORED_REGISTRY}/${APP_REPO}:1.2`, []));
    expect(seen.result.code, describeFailure('podman pull', seen.result)).toBe(0);
    expectBlobsFromBucket(world, seen, expected.blobDigests);
    expectUpstreamUntouched(seen);
  });

  it('curl --http2 sees HTTP/2 307 with the same Location as HTTP/1.1', async () => {
    const digest = world.fixtures.bigLayerDigest;
    const url = `${door.url}/v2/${APP_REPO}/blobs/${digest}`;
    const headers = async (version: string): Promise<string> => (await run('curl', ['-sS', '--cacert', tls.ca.root.cert, version, '-o', '/dev/null', '-D', '-', url])).stdout;
    const [h2, h1] = [await headers('--http2'), await headers('--http1.1')];
    const location = (text: string): string | undefined => /^location: (.*)$/im.exec(text)?.[1]?.trim();
    expect(h2.split('\r\n')[0]).toBe('HTTP/2 307 ');
    expect(h1.split('\r\n')[0]).toMatch(/^HTTP\/1\.1 307 /);
    expect(location(h2)).toBe(`${world.bucketA.url}/containers/images/${digest}`);
    expect(location(h1)).toBe(location(h2));
  });
});
