/**
 * The e2e harness itself: fixtures must be valid archives with stable digests, or the pull
 * assertions prove nothing; teardown must leave no process or file behind.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCombinedLog } from '../support/e2e/access-log.js';
import { APP_TAGS, BIG_LAYER_BYTES, BIG_LAYER_SEED, buildFixtures } from '../support/e2e/fixtures.js';
import { FIXED_MTIME_S, pseudoRandomBytes } from '../support/e2e/oci.js';
import { runCommand } from '../support/e2e/processes.js';
import { createWorld } from '../support/e2e/world.js';

function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('fixture images', () => {
  it('are byte-for-byte reproducible, so pushed digests never drift between runs', () => {
    const first = buildFixtures();
    const second = buildFixtures();
    for (const tag of APP_TAGS) {
      expect(second.app.get(tag)?.descriptor.digest).toBe(first.app.get(tag)?.descriptor.digest);
    }
    expect(second.tool.index.descriptor.digest).toBe(first.tool.index.descriptor.digest);
    expect(new Set([...first.app.values()].map((image) => image.descriptor.digest)).size).toBe(APP_TAGS.length);
  });

  it('have layers GNU tar reads back with fixed owners and mtimes, and a big layer gzip cannot shrink', async () => {
    const fixtures = buildFixtures();
    const image = fixtures.app.get(APP_TAGS[0]);
    const big = image?.blobs.get(fixtures.bigLayerDigest);
    expect(big?.length).toBeGreaterThan(BIG_LAYER_BYTES);
    // gzip header bytes 4..7 are the mtime; zero keeps the layer digest independent of the clock.
    expect(big?.readUInt32LE(4)).toBe(0);

    const listed = await runCommand('tar', ['--list', '--verbose', '--numeric-owner', '--full-time', '--gzip', '--file', '-'], {
      env: { PATH: process.env.PATH, TZ: 'UTC' },
      input: big,
    });
    expect(listed.code, listed.stderr).toBe(0);
    const lines = listed.stdout.trim().split('\n');
    expect(lines.map((line) => line.split(/\s+/).pop())).toEqual(['opt/', 'opt/app/', 'opt/app/payload.bin']);
    const fixedTime = new Date(FIXED_MTIME_S * 1000).toISOString().replace('T', ' ').slice(0, 19);
    for (const line of lines) {
      expect(line).toContain('0/0');
      expect(line).toContain(fixedTime);
    }
    expect(lines[2]).toMatch(new RegExp(`^-rw-r--r-- 0/0\\s+${BIG_LAYER_BYTES} `));

    const extracted = await runCommand('sh', ['-c', 'tar --extract --to-stdout --gzip --file - opt/app/payload.bin | sha256sum'], {
      env: { PATH: process.env.PATH },
      input: big,
    });
    expect(extracted.code, extracted.stderr).toBe(0);
    const expectedHash = createHash('sha256').update(pseudoRandomBytes(BIG_LAYER_SEED, BIG_LAYER_BYTES)).digest('hex');
    expect(extracted.stdout.split(/\s+/)[0]).toBe(expectedHash);
  });
});

describe('registry access log parsing', () => {
  it('reads method, target, status and bytes from the registry combined-format lines only', () => {
    const records = parseCombinedLog([
      'time="2026-01-01T00:00:00Z" level=info msg="response completed" http.request.uri=/v2/',
      '127.0.0.1 - - [24/Nov/2026:08:03:56 +0000] "GET /v2/library/app/blobs/sha256:ab HTTP/1.1" 200 157 "" "skopeo"',
      '127.0.0.1 - - [24/Nov/2026:08:03:57 +0000] "HEAD /v2/x/manifests/1 HTTP/1.1" 404 - "" "curl"',
    ]);
    expect(records).toEqual([
      { method: 'GET', target: '/v2/library/app/blobs/sha256:ab', status: 200, bytes: 157 },
      { method: 'HEAD', target: '/v2/x/manifests/1', status: 404, bytes: 0 },
    ]);
  });
});

describe('teardown', () => {
  it('closing the world stops the origin registry and every nginx bucket and removes the temp dir', async () => {
    const world = await createWorld();
    const pids = [world.origin.process.pid, world.bucketA.process.pid, world.bucketB.process.pid, world.bucketC.process.pid];
    const urls = [world.origin.url, world.bucketA.url];
    try {
      expect(pids.every(isAlive)).toBe(true);
    } finally {
      await world.close();
    }
    expect(pids.filter(isAlive)).toEqual([]);
    expect(existsSync(world.dir)).toBe(false);
    for (const url of urls) await expect(fetch(url)).rejects.toThrow();
  });
});
