/**
 * Sync under failure, against the real origin: killed with SIGKILL at random points and run
 * again (the store ends as a clean sync leaves it, and no key ever holds a wrong byte), and a
 * proxy that corrupts one blob's body (detected, nothing at its key, the blob named).
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_REPO, TOOL_REPO } from '../support/e2e/fixtures.js';
import { BLOB_KEY_PREFIX } from '../support/e2e/nginx-bucket.js';
import { startOriginProxy, type OriginProxy } from '../support/e2e/origin-proxy.js';
import { describeRun, runSyncCommand, spawnSync, storeSnapshot, wrongKeys, writeConfig } from '../support/e2e/sync.js';
import { createWorld, type World } from '../support/e2e/world.js';

let world: World;
let proxy: OriginProxy;

/** A small seeded generator, so a failing kill schedule can be replayed from the log. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t ^= t + Math.imul(t ^ (t >>> 7), 61 | t);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

async function configFor(name: string, storeRoot: string, originUrl: string, extra: Record<string, unknown> = {}): Promise<string> {
  return writeConfig(world.dir, name, {
    origin: { url: originUrl, path: '' },
    blobs: { key: `${BLOB_KEY_PREFIX}{digest}`, inventory: join(world.dir, `${name}.inventory.json`) },
    buckets: [{ name, url: 'http://127.0.0.1:9', store: { type: 'dir', path: storeRoot } }],
    sync: { repositories: [APP_REPO, TOOL_REPO], concurrency: 4, origin_rps: 0, ...extra },
  });
}

beforeAll(async () => {
  world = await createWorld();
  proxy = await startOriginProxy(world.origin.url);
  world.onClose(() => proxy.close());
});

afterAll(async () => {
  await world?.close();
});

describe('sync killed and run again', () => {
  it('ends byte-identical to a clean sync, and no key ever held a wrong byte (3 runs of SIGKILL)', async () => {
    const cleanRoot = join(world.dir, 'clean');
    const clean = await runSyncCommand('sync', ['--config', await configFor('clean', cleanRoot, world.origin.url)]);
    expect(clean.code, describeRun('clean sync', clean)).toBe(0);
    const expected = await storeSnapshot(cleanRoot);

    // Slow bodies: the 6 MiB layer takes about a second, so kills land mid-blob as well.
    proxy.behaviour.throttle = { chunkBytes: 64 * 1024, pauseMs: 8 };
    const random = seeded(Number(process.env.SYNC_KILL_SEED ?? 14));
    let interrupted = 0;
    for (let run = 1; run <= 3; run++) {
      const root = join(world.dir, `killed-${run}`);
      const config = await configFor(`killed-${run}`, root, proxy.url);
      for (let kill = 0; kill < 2; kill++) {
        const delayMs = 150 + Math.floor(random() * 1200);
        const child = spawnSync(['--config', config, '--json']);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
        child.child.kill('SIGKILL');
        await child.stop();
        const afterKill = await storeSnapshot(root);
        expect(wrongKeys(afterKill), `run ${run}, kill after ${delayMs} ms`).toEqual([]);
        if (afterKill.size < expected.size) interrupted++;
      }
      const rerun = await runSyncCommand('sync', ['--config', config]);
      expect(rerun.code, describeRun(`run ${run}: sync after the kills`, rerun)).toBe(0);
      expect(await storeSnapshot(root)).toEqual(expected);
      // The temporary files of the killed copies are gone too.
      expect(await readdir(join(root, BLOB_KEY_PREFIX))).toEqual([...expected.keys()].sort());
    }
    // Kills that landed after the sync had finished would prove nothing.
    expect(interrupted).toBeGreaterThanOrEqual(3);
    proxy.behaviour.throttle = undefined;
  });
});

describe('a corrupt origin response', () => {
  it('is detected, leaves nothing at the key, and the sync exits non-zero naming the blob', async () => {
    const victim = world.fixtures.bigLayerDigest;
    proxy.behaviour.corrupt = new Set([victim]);
    const root = join(world.dir, 'corrupt');
    await rm(root, { recursive: true, force: true });
    await mkdir(root, { recursive: true });
    const result = await runSyncCommand('sync', ['--config', await configFor('corrupt', root, proxy.url, { retries: 1 })]);
    proxy.behaviour.corrupt = undefined;
    expect(result.code, describeRun('sync through the corrupting proxy', result)).toBe(1);
    const failed = result.events.filter((event) => event.event === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ digest: victim, bucket: 'corrupt' });
    expect(String(failed[0]?.error)).toMatch(/hash to sha256:/);
    expect(result.stdout).toContain(victim);
    await expect(stat(join(root, BLOB_KEY_PREFIX, victim))).rejects.toThrow(/ENOENT/);
    const snapshot = await storeSnapshot(root);
    expect(wrongKeys(snapshot)).toEqual([]);
    expect(snapshot.size).toBeGreaterThan(0);
    // Retried once: two GETs of the corrupted blob reached the proxy.
    expect(proxy.blobGets.filter((digest) => digest === victim).length).toBeGreaterThanOrEqual(2);
  });
});
