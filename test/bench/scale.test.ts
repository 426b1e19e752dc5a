// The scaling family (bench/scale.js) as `npm run bench` drives it, on tiny settings: real
// registry-edge processes from the build, every case answered from the right bucket, every
// table filled in. The numbers themselves are not judged here.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCidr } from '../../src/net/cidr.js';

interface ScaleConfigModule {
  CLIENT_NETWORK: string;
  CLIENT_SUPERNET: string;
  SCALE_DIGEST: string;
  scaleBuckets(shape: { networks: number; buckets: number; bucketUrl: string }): { name: string; url: string; networks: string[] }[];
  syntheticNetworks(count: number): string[];
  syntheticDigests(count: number): string[];
  inventoryDocument(digests: string[], lists: number): string;
}
const ROOT = resolve(import.meta.dirname, '..', '..');
const { CLIENT_NETWORK, CLIENT_SUPERNET, SCALE_DIGEST, scaleBuckets, syntheticNetworks, syntheticDigests, inventoryDocument } = (await import(
  join(ROOT, 'bench', 'lib', 'scale-config.js')
)) as ScaleConfigModule;

function runScale(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(ROOT, 'bench', 'scale.js'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

describe('the scaling family configurations', () => {
  it('deals N distinct valid networks over the buckets, the client’s /24 last in the last bucket and its /16 first', () => {
    const buckets = scaleBuckets({ networks: 1000, buckets: 10, bucketUrl: 'http://127.0.0.1:1' });
    const all = buckets.flatMap((b) => b.networks);
    expect(all).toHaveLength(1000);
    expect(new Set(all).size).toBe(1000);
    for (const text of all) expect(parseCidr(text)?.hostBitsSet, text).toBe(false);
    expect(buckets[0]?.networks[0]).toBe(CLIENT_SUPERNET);
    expect(buckets[9]?.networks.at(-1)).toBe(CLIENT_NETWORK);
    expect(scaleBuckets({ networks: 1, buckets: 3, bucketUrl: 'http://x' }).map((b) => b.networks)).toEqual([[], [], [CLIENT_NETWORK]]);
  });

  it('mixes IPv4 and IPv6 and repeats itself', () => {
    const networks = syntheticNetworks(500);
    const v6 = networks.filter((n) => n.includes(':')).length;
    expect(v6).toBeGreaterThan(100);
    expect(v6).toBeLessThan(250);
    expect(syntheticNetworks(500)).toEqual(networks);
  });

  it('writes the inventory as sync does, in one list or spread over bucket lists', () => {
    const digests = syntheticDigests(10);
    expect(JSON.parse(inventoryDocument(digests, 1))).toEqual({ '*': [SCALE_DIGEST, ...digests] });
    const spread = JSON.parse(inventoryDocument(digests, 3)) as Record<string, string[]>;
    expect(Object.keys(spread)).toEqual(['*', 'b0', 'b1', 'b2']);
    expect(spread.b0).toHaveLength(4);
  });
});

describe('node bench/scale.js on tiny settings (the built binary; run "npm run build" first)', () => {
  it('measures every case, the largest’s start-up and reload, and the inventory rows', async () => {
    expect(existsSync(join(ROOT, 'dist', 'src', 'cli.js')), 'dist/src/cli.js is missing: run npm run build').toBe(true);
    const { code, stdout, stderr } = await runScale(['--duration', '0.2', '--rounds', '1', '--connections', '2', '--inventory-digests', '2000']);
    expect(code, stderr).toBe(0);
    for (const id of ['n1-b10', 'n100-b10', 'n1000-b10', 'n10000-b10', 'n1-b1000', 'n10000-b1000']) expect(stdout).toMatch(new RegExp(`^\\| ${id} \\| \\d+ \\| \\d+ \\| \\d+\\.\\d \\| \\d+\\.\\d\\dx \\|`, 'm'));
    expect(stdout).not.toContain('wrong answer');
    expect(stdout).toMatch(/Largest \(n10000-b1000\): start-up \d+ ms, reload \d+ ms/);
    expect(stdout).toMatch(/^\| one list \(`\*`\) \| 2000 \|/m);
    expect(stdout).toMatch(/^\| 100 bucket lists \| 2000 \|/m);
  }, 240_000);
});
