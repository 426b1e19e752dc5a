import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { spawnServe, type Spawned } from '../support/cli.js';
import { DIGEST_A, get } from '../support/harness.js';
import { configDoc, scratch } from '../support/serve.js';

// issue 19: the built binary with 1,000 buckets of 10 networks each (8 IPv4 /26s, an IPv6 /48
// and /64) plus a few overlapping ones, answers blobs from the bucket with the longest
// matching prefix, then the first configured, and starts within a few seconds.

/** Bucket i's own networks: disjoint from every other bucket's. */
function networksOf(i: number): string[] {
  const v4 = Array.from({ length: 8 }, (_, j) => `100.${j}.${i >> 2}.${(i & 3) * 64}/26`);
  return [...v4, `2001:db8:${i.toString(16)}::/48`, `2001:db8:${i.toString(16)}:1::/64`];
}

/** Overlaps across buckets: an equal /26 later in the list, a /32 inside it, a /16 over many. */
const EXTRA: Record<number, string[]> = { 500: ['100.0.0.0/26'], 998: ['100.0.0.5/32'], 999: ['100.0.0.0/16'] };

describe('1,000 buckets × 10 networks (the built binary; run "npm run build" first)', () => {
  const dir = scratch('registry-edge-many-networks-');
  let edge: Spawned | undefined;
  let base = '';
  let startupMs = 0;

  beforeAll(async () => {
    const buckets = Array.from({ length: 1000 }, (_, i) => ({ name: `b${i}`, url: `http://b${i}.example`, networks: [...networksOf(i), ...(EXTRA[i] ?? [])] }));
    const inventory = dir.file('inventory.json', JSON.stringify({ '*': [DIGEST_A] }));
    const doc = configDoc({
      origin: { url: 'http://origin.example' },
      client_ip: { trusted_hops: 1 },
      blobs: { inventory },
      buckets,
      default_bucket: 'http://default.example',
      log: { level: 'warn' },
    });
    const config = dir.file('config.yaml', stringify(doc));
    const started = performance.now();
    edge = await spawnServe(['--config', config]);
    startupMs = performance.now() - started;
    base = `http://127.0.0.1:${edge.port}`;
  }, 30_000);

  afterAll(async () => {
    await edge?.stop();
    dir.cleanup();
  });

  test('starts within a few seconds (1 s is the target on a quiet machine)', () => {
    expect(startupMs).toBeLessThan(8000);
  });

  test.each<[string, string]>([
    ['100.3.0.70', 'b1'],
    ['100.0.0.5', 'b998'],
    ['100.0.0.6', 'b0'],
    ['100.0.200.1', 'b800'],
    ['100.0.255.200', 'b999'],
    ['100.7.249.193', 'b999'],
    ['100.9.0.1', 'default'],
    ['2001:db8:3e7::1', 'b999'],
    ['2001:db8:10:1::1', 'b16'],
    ['2001:db8:3e8::1', 'default'],
    ['::ffff:100.3.0.70', 'b1'],
  ])('a blob for %s goes to %s', async (client, bucket) => {
    const res = await get(base, `/v2/pause/blobs/${DIGEST_A}`, { headers: { 'X-Forwarded-For': client } });
    expect(res.status).toBe(307);
    expect(res.headers.location).toBe(`http://${bucket}.example/containers/images/${DIGEST_A}`);
  });
});
