/**
 * Everything the suite stands up before the front door: fixtures pushed to a real origin
 * registry, and nginx buckets filled with blobs copied (and verified) out of that origin.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AccessRecord } from './access-log.js';
import { APP_REPO, APP_TAGS, TOOL_REPO, TOOL_TAG, buildFixtures, type Fixtures } from './fixtures.js';
import { startNginxBucket, type NginxBucket } from './nginx-bucket.js';
import { writeOciLayout } from './oci.js';
import { startOriginRegistry, type OriginRegistry } from './origin-registry.js';
import { forgetScratchDir, registerScratchDir } from './processes.js';
import { Skopeo, describeFailure } from './skopeo.js';

export interface World {
  dir: string;
  fixtures: Fixtures;
  origin: OriginRegistry;
  skopeo: Skopeo;
  /** Holds every blob of every fixture. */
  bucketA: NginxBucket;
  /** Holds every blob except `missingFromB`. */
  bucketB: NginxBucket;
  /** Holds every blob, but its copy of `corruptedInC` is damaged. */
  bucketC: NginxBucket;
  /** The version layer of APP_REPO:APP_TAGS[0]. */
  missingFromB: string;
  /** The multi-MiB layer shared by every APP_REPO tag. */
  corruptedInC: string;
  /** Registers a stop function run by `close`, for servers started later (front doors). */
  onClose(stop: () => Promise<void>): void;
  /** Stops every server this world started (idempotent) and removes its files. */
  close(): Promise<void>;
}

/** Every blob (config and layers) of a repository's images, by digest. */
export function repositoryBlobs(fixtures: Fixtures, repository: string): Map<string, Buffer> {
  const artifacts = repository === APP_REPO ? [...fixtures.app.values()] : [fixtures.tool.index];
  const blobs = new Map<string, Buffer>();
  for (const artifact of artifacts) {
    for (const digest of artifact.blobDigests) {
      const bytes = artifact.blobs.get(digest);
      if (bytes) blobs.set(digest, bytes);
    }
  }
  return blobs;
}

export async function createWorld(): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), 'registry-edge-e2e-'));
  registerScratchDir(dir);
  const stoppers: Array<() => Promise<void>> = [];
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await Promise.allSettled(stoppers.map((stop) => stop()));
    await rm(dir, { recursive: true, force: true });
    forgetScratchDir(dir);
  };
  try {
    const fixtures = buildFixtures();
    await writeOciLayout(join(dir, 'layouts', 'app'), fixtures.app);
    await writeOciLayout(join(dir, 'layouts', 'tool'), new Map([[TOOL_TAG, fixtures.tool.index]]));

    await mkdir(join(dir, 'origin'), { recursive: true });
    const origin = await startOriginRegistry(join(dir, 'origin'));
    stoppers.push(() => origin.process.stop());
    const skopeo = await Skopeo.create(join(dir, 'skopeo'));

    for (const tag of APP_TAGS) {
      const pushed = await skopeo.push(join(dir, 'layouts', 'app'), tag, `${origin.host}/${APP_REPO}:${tag}`);
      if (pushed.code !== 0) throw new Error(describeFailure(`push ${APP_REPO}:${tag}`, pushed));
    }
    const pushedIndex = await skopeo.push(join(dir, 'layouts', 'tool'), TOOL_TAG, `${origin.host}/${TOOL_REPO}:${TOOL_TAG}`, true);
    if (pushedIndex.code !== 0) throw new Error(describeFailure(`push --all ${TOOL_REPO}:${TOOL_TAG}`, pushedIndex));

    const [bucketA, bucketB, bucketC] = await Promise.all(['bucket-a', 'bucket-b', 'bucket-c'].map(async (name) => {
      await mkdir(join(dir, name), { recursive: true });
      const bucket = await startNginxBucket(name, join(dir, name));
      stoppers.push(() => bucket.process.stop());
      return bucket;
    }));
    if (!bucketA || !bucketB || !bucketC) throw new Error('unreachable: three buckets were started');

    const firstApp = fixtures.app.get(APP_TAGS[0]);
    const missingFromB = firstApp?.blobDigests[3];
    if (!missingFromB) throw new Error('fixture layout changed: app images have a config and three layers');
    const corruptedInC = fixtures.bigLayerDigest;
    for (const repository of [APP_REPO, TOOL_REPO]) {
      for (const [digest, bytes] of repositoryBlobs(fixtures, repository)) {
        // The buckets are filled from what the origin serves, not from the local fixtures,
        // as a mirroring job would; `put` refuses anything that does not match its digest.
        await copyBlobFromOrigin(origin, repository, digest, bucketA);
        if (digest !== missingFromB) await copyBlobFromOrigin(origin, repository, digest, bucketB);
        if (digest === corruptedInC) await bucketC.putCorrupted(digest, bytes);
        else await copyBlobFromOrigin(origin, repository, digest, bucketC);
      }
    }
    return {
      dir, fixtures, origin, skopeo, bucketA, bucketB, bucketC, missingFromB, corruptedInC,
      onClose: (stop) => stoppers.push(stop),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** Copies a blob out of the origin registry into a bucket; the bucket re-verifies the digest. */
export async function copyBlobFromOrigin(origin: OriginRegistry, repository: string, digest: string, bucket: NginxBucket): Promise<void> {
  const response = await fetch(`${origin.url}/v2/${repository}/blobs/${digest}`);
  if (response.status !== 200) throw new Error(`origin answered ${response.status} for ${repository}@${digest}`);
  await bucket.put(digest, Buffer.from(await response.arrayBuffer()));
}

/**
 * The access records a server logged after `mark`, once a sentinel request made after the
 * action under test shows up in the log (servers write a line only after the response).
 */
export async function recordsSince(
  mark: number,
  readRecords: () => AccessRecord[] | Promise<AccessRecord[]>,
  sentinelUrl: string,
): Promise<AccessRecord[]> {
  const sentinelTarget = new URL(sentinelUrl).pathname + new URL(sentinelUrl).search;
  await fetch(sentinelUrl).then((response) => response.arrayBuffer()).catch(() => undefined);
  const deadline = Date.now() + 5000;
  for (;;) {
    const records = await readRecords();
    const sentinelAt = records.findIndex((record, index) => index >= mark && record.target === sentinelTarget);
    if (sentinelAt >= 0) return records.slice(mark, sentinelAt);
    if (Date.now() > deadline) throw new Error(`sentinel ${sentinelUrl} never reached the access log`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
