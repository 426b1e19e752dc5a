/**
 * `verify` finding stale, wrong-size and corrupt objects; what a person sees on a terminal;
 * the command lines and the config file sync reads.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import { parseSyncArgs, parseVerifyArgs } from '../../src/sync/args.js';
import { loadConfig } from '../../src/config/load.js';
import { run } from '../../src/main.js';
import { syncSettings } from '../../src/sync/settings.js';
import { fanOut } from '../../src/sync/fanout.js';
import { formatBytes, formatDuration, progressLine, summaryTable } from '../../src/sync/format.js';
import { image } from './fixtures.js';
import { Capture, perTest, settingsFor, sync, verify } from './support/run.js';

const context = perTest();
const built = image('1.0');

beforeEach(() => {
  context.origin.push('library/app', '1.0', built);
});

const keyOf = (digest: string): string => join(context.temp.dir, 'store', 'containers', 'images', digest);

describe('verify', () => {
  it('passes after a sync, then names stale, wrong-size and (with --deep) corrupt objects', async () => {
    const settings = settingsFor(context.origin.url, context.temp.dir, { repositories: ['library/app'] });
    expect((await sync(settings)).code).toBe(0);
    expect((await verify(settings, { deep: true })).code).toBe(0);
    const [config = '', base = '', app = ''] = built.blobDigests;
    await rm(keyOf(config));
    await writeFile(keyOf(base), 'short');
    const appBytes = built.blobs.get(app) as Buffer;
    const damaged = Buffer.from(appBytes);
    damaged[10] = (damaged[10] ?? 0) ^ 1;
    await writeFile(keyOf(app), damaged);
    const shallow = await verify(settings);
    expect(shallow.code).toBe(1);
    expect(shallow.stdout.events().find((event) => event.event === 'verified')).toMatchObject({ stale: 1, wrong_size: 1, corrupt: 0, ok: 1 });
    const deep = await verify(settings, { deep: true }, true);
    expect(deep.code).toBe(1);
    expect(deep.stdout.text).toMatch(/bucket\s+entries\s+ok\s+stale\s+wrong size\s+corrupt\nlocal\s+3\s+0\s+1\s+1\s+1/);
    expect(deep.stdout.text).toContain(`local: ${app}: corrupt`);
    expect(deep.stdout.text).toContain(`local: ${config}: stale`);
  });

  it('needs an inventory file', async () => {
    const ran = await verify(settingsFor(context.origin.url, context.temp.dir, {}, ''));
    expect(ran.code).toBe(78);
    expect(ran.stderr.text).toContain('registry-edge verify: blobs.inventory');
  });
});

describe('on a terminal', () => {
  it('draws progress, prints failures above it and a table per bucket', async () => {
    context.origin.faults.push({ match: new RegExp(`/blobs/${built.blobDigests[0]}`), times: 10, respond: (response) => response.writeHead(404).end() });
    const ran = await sync(settingsFor(context.origin.url, context.temp.dir, { repositories: ['library/app'], retries: 0 }), { json: false }, { tty: true });
    expect(ran.code).toBe(1);
    expect(ran.stdout.text).toMatch(/\[[#.]+\] \d+\/3 blobs/);
    expect(ran.stdout.text).toMatch(/failed {3}local sha256:[0-9a-f]{64}: blob library\/app@sha256:[0-9a-f]{64}: origin answered 404/);
    expect(ran.stdout.text).toMatch(/bucket\s+copied\s+skipped\s+bytes\s+failed\nlocal\s+2\s+0\s+[\d.]+ KiB\s+1/);
    expect(ran.stdout.text).toContain('sync incomplete');
    const dry = await sync(settingsFor(context.origin.url, context.temp.dir, { repositories: ['library/app'] }), { json: false, dryRun: true }, { tty: true });
    expect(dry.stdout.text).toMatch(/dry run: nothing was written\nbucket\s+would copy\s+bytes\s+present\nlocal\s+1\s/);
  });

  it('formats sizes, durations, the bar and the table', () => {
    expect([0, 1023, 1536, 5 * 1024 ** 3].map(formatBytes)).toEqual(['0 B', '1023 B', '1.5 KiB', '5.0 GiB']);
    expect([0, 61_000, 3_725_000, Number.NaN].map(formatDuration)).toEqual(['0:00', '1:01', '1:02:05', '--:--']);
    const line = progressLine({ blobsDone: 1, blobsTotal: 4, bytesDone: 1024 * 1024, bytesTotal: 4 * 1024 * 1024, elapsedMs: 1000 }, 100);
    expect(line).toBe('[##########..............................] 1/4 blobs  1.0 MiB/4.0 MiB  1.0 MiB/s  ETA 0:03');
    expect(progressLine({ blobsDone: 0, blobsTotal: 0, bytesDone: 0, bytesTotal: 0, elapsedMs: 0 }, 60)).toContain('0/0 blobs');
    expect(summaryTable([{ bucket: 'eu', copied: 10, skipped: 2, bytes: 2048, failed: 0 }])).toBe('bucket  copied  skipped    bytes  failed\neu          10        2  2.0 KiB       0');
  });
});

describe('command lines and the config file', () => {
  it('parses sync and verify options, and refuses others with the usage', () => {
    expect(parseSyncArgs(['--config', 'c.yaml', '--dry-run', '--repo', 'a', 'b', '--bucket', 'x,y', '--repo=c', '--json'])).toEqual({
      config: 'c.yaml', dryRun: true, repositories: ['a', 'c', 'b'], buckets: ['x', 'y'], json: true,
    });
    expect(parseVerifyArgs(['--bucket', 'eu', '--deep'])).toEqual({ config: undefined, buckets: ['eu'], deep: true, json: false });
    expect(() => parseSyncArgs(['--bogus'])).toThrow(/usage: registry-edge sync/);
    expect(() => parseSyncArgs(['stray'])).toThrow(/unexpected argument "stray"/);
  });

  it('runs from the one config file, relative store paths against its folder, and exits 78 naming a bad field', async () => {
    const file = join(context.temp.dir, 'edge.yaml');
    await writeFile(file, [
      `origin: { url: "${context.origin.url}/", path: "/" }`,
      'listen: { port: 0 }',
      'blobs: { inventory: inv.json }',
      'buckets:',
      '  - { name: local, url: "http://127.0.0.1:9", store: { type: dir, path: store } }',
      'sync: { repositories: [library/app], origin_rps: 0, retries: 0 }',
    ].join('\n'));
    const settings = syncSettings((await loadConfig(file, {})).config);
    expect(settings.buckets[0]?.store).toEqual({ type: 'dir', path: join(context.temp.dir, 'store') });
    expect(settings.blobs.inventory).toBe(join(context.temp.dir, 'inv.json'));
    expect(settings.origin).toEqual({ url: context.origin.url, path: '' });
    const stdout = new Capture();
    const stderr = new Capture();
    const io = { stdout, stderr, env: {} };
    expect(await run(['sync', '--config', file], io)).toEqual({ code: 0 });
    expect(await run(['verify', '--config', file, '--deep'], io)).toEqual({ code: 0 });
    // Environment overrides apply to sync as to serve: the file is one configuration.
    expect(await run(['sync', '--config', file, '--dry-run'], { ...io, env: { UPSTREAM_REGISTRY_ENDPOINT: 'http://127.0.0.1:9' } })).toEqual({ code: 1 });

    await writeFile(file, `origin: { url: "http://o.example" }\nbuckets:\n  - { name: a, url: "http://x", store: { type: s4 } }\n  - { name: b, url: "http://y", store: { type: dir, pth: p } }\nsync: { concurrency: 0, tags: "(" }\n`);
    expect(await run(['sync', '--config', file], io)).toEqual({ code: 78 });
    expect(stderr.text).toContain('buckets[0].store.type: expected a store of type dir, s3, gcs or azure, got "s4"');
    expect(stderr.text).toContain('buckets[1].store.pth: unknown field (allowed: type, path)');
    expect(stderr.text).toContain('sync.concurrency: expected an integer from 1 to 256, got 0');
    expect(stderr.text).toContain('sync.tags: expected a regular expression, got "("');
    expect(await run(['sync', '--nope'], io)).toEqual({ code: 64 });
    expect(await run(['verify', '--config', join(context.temp.dir, 'missing.yaml')], io)).toEqual({ code: 78 });
    // The embedded default has no store: sections, so there is nothing to fill.
    expect(await run(['sync'], io)).toEqual({ code: 78 });
    expect(stderr.text).toContain('no bucket has a store: section');
    stdout.text = '';
    expect(await run(['sync', '--help'], io)).toEqual({ code: 0 });
    expect(await run(['verify', '-h'], io)).toEqual({ code: 0 });
    expect(stdout.text).toMatch(/registry-edge sync \[--config FILE\][\s\S]*registry-edge verify \[--config FILE\]/);
  });
});

describe('fan-out to several stores', () => {
  it('feeds every consumer, and one that fails stops neither the source nor the others', async () => {
    const pieces = Array.from({ length: 50 }, (_, i) => Buffer.alloc(64 * 1024, i));
    const read = async (body: Readable): Promise<void> => {
      let total = 0;
      for await (const chunk of body) total += (chunk as Buffer).length;
      if (total !== 50 * 64 * 1024) throw new Error(`short: ${total}`);
    };
    const failing = async (body: Readable): Promise<void> => {
      for await (const _chunk of body) throw new Error('disk full');
    };
    const errors = await fanOut(Readable.from(pieces), [read, failing, read]);
    expect(errors.map((error) => error?.message)).toEqual([undefined, 'disk full', undefined]);
    const broken = new Readable({ read() { this.destroy(new Error('origin reset')); } });
    expect((await fanOut(broken, [read, read])).map((error) => error?.message)).toEqual(['origin reset', 'origin reset']);
  });
});
