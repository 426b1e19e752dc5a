/**
 * runSync end to end in-process: a scripted registry as the origin, a real `dir` store on
 * disk, the JSON lines and exit code as a user reads them.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { blobsOf, image, multiPlatform } from './fixtures.js';
import { perTest, settingsFor, storeContents, sync } from './support/run.js';

const context = perTest();

function fill(): { app: Map<string, Buffer>; tool: ReturnType<typeof multiPlatform> } {
  const images = ['1.0', '1.1', '2.0'].map((tag) => image(tag));
  images.forEach((built, index) => context.origin.push('library/app', ['1.0', '1.1', '2.0'][index] ?? '', built));
  const tool = multiPlatform('v1');
  context.origin.push('tools/multi', 'v1', tool.index);
  return { app: blobsOf(...images), tool };
}

describe('runSync with a dir store', () => {
  it('copies every blob once, writes the inventory, and a second run copies nothing', async () => {
    const { app, tool } = fill();
    const every = new Map([...app, ...blobsOf(tool.index)]);
    const settings = settingsFor(context.origin.url, context.temp.dir, { repositories: ['library/app', 'tools/multi'] });
    const first = await sync(settings);
    expect(first.code, first.stdout.text + first.stderr.text).toBe(0);
    const contents = await storeContents(context.temp.dir);
    expect([...contents.keys()]).toEqual([...every.keys()].sort());
    expect([...contents.values()].every(Boolean)).toBe(true);
    expect(first.stdout.events().filter((event) => event.event === 'copied')).toHaveLength(every.size);
    // Three tags in pages of two: the Link header was followed.
    expect(context.origin.log.some((request) => request.path.includes('/tags/list?n=2&last='))).toBe(true);
    const inventory = JSON.parse(await readFile(join(context.temp.dir, 'inventory.json'), 'utf8')) as Record<string, string[]>;
    expect(inventory.local).toEqual([...every.keys()].sort());
    const sizes = JSON.parse(await readFile(join(context.temp.dir, 'inventory.json.sizes.json'), 'utf8')) as { buckets: Record<string, Record<string, number>> };
    expect(Object.keys(sizes.buckets.local ?? {})).toHaveLength(every.size);

    const blobGets = context.origin.log.filter((request) => request.path.includes('/blobs/')).length;
    const second = await sync(settings);
    expect(second.code).toBe(0);
    expect(context.origin.log.filter((request) => request.path.includes('/blobs/')).length).toBe(blobGets);
    expect(second.stdout.events().at(-1)).toMatchObject({ event: 'summary', ok: true, buckets: [{ bucket: 'local', copied: 0, skipped: every.size }] });
  });

  it('walks an index only to the chosen platforms, and tags only where the expression matches', async () => {
    const { app, tool } = fill();
    const arm = tool.platforms.get('arm64');
    const amd = tool.platforms.get('amd64');
    const settings = settingsFor(context.origin.url, context.temp.dir, { repositories: ['tools/multi', 'library/app'], platforms: ['linux/arm64'], tags: '^(v1|2\\.0)$' });
    const ran = await sync(settings);
    expect(ran.code, ran.stdout.text).toBe(0);
    const held = new Set((await storeContents(context.temp.dir)).keys());
    for (const digest of arm?.blobDigests ?? []) expect(held.has(digest)).toBe(true);
    const amdOnly = (amd?.blobDigests ?? []).filter((digest) => !(arm?.blobDigests ?? []).includes(digest));
    for (const digest of amdOnly) expect(held.has(digest)).toBe(false);
    const tagged = image('2.0');
    for (const digest of tagged.blobDigests) expect(held.has(digest)).toBe(true);
    expect(held.size).toBe(new Set([...(arm?.blobDigests ?? []), ...tagged.blobDigests]).size);
    expect(app.size).toBeGreaterThan(tagged.blobDigests.length);
  });

  it('lists the catalog for "*", below origin.path, page by page', async () => {
    const built = image('1.0');
    context.origin.push('mirror/a', 'v', built);
    context.origin.push('mirror/b', 'v', image('1.1'));
    context.origin.push('mirror/c', 'v', image('2.0'));
    context.origin.push('elsewhere/d', 'v', multiPlatform('x').index);
    const settings = settingsFor(context.origin.url, context.temp.dir, { repositories: '*' });
    settings.origin.path = 'mirror';
    const ran = await sync(settings);
    expect(ran.code, ran.stdout.text).toBe(0);
    expect(ran.stdout.events().find((event) => event.event === 'walked')).toMatchObject({ repositories: 3 });
    expect(context.origin.log.some((request) => request.path.startsWith('/v2/_catalog?n=2&last='))).toBe(true);
    expect(context.origin.log.some((request) => request.path.startsWith('/v2/mirror/a/manifests/v'))).toBe(true);
  });

  it('--dry-run prints what would be copied and writes nothing', async () => {
    const { app } = fill();
    const settings = settingsFor(context.origin.url, context.temp.dir, { repositories: ['library/app'] });
    const ran = await sync(settings, { dryRun: true });
    expect(ran.code).toBe(0);
    const wouldCopy = ran.stdout.events().filter((event) => event.event === 'would_copy');
    expect(wouldCopy.map((event) => event.digest).sort()).toEqual([...app.keys()].sort());
    const bytes = [...app.values()].reduce((sum, blob) => sum + blob.length, 0);
    expect(ran.stdout.events().find((event) => event.event === 'plan')).toMatchObject({ bucket: 'local', copy: app.size, copy_bytes: bytes });
    expect((await storeContents(context.temp.dir)).size).toBe(0);
    await expect(readFile(join(context.temp.dir, 'inventory.json'))).rejects.toThrow(/ENOENT/);
  });

  it('replaces an object of the wrong size and keeps other buckets in the inventory', async () => {
    const built = image('1.0');
    context.origin.push('library/app', '1.0', built);
    const settings = settingsFor(context.origin.url, context.temp.dir, { repositories: ['library/app'] });
    await writeFile(join(context.temp.dir, 'inventory.json'), JSON.stringify({ other: [built.blobDigests[0]], '*': [] }));
    await sync(settings);
    const victim = built.blobDigests[1] ?? '';
    await writeFile(join(context.temp.dir, 'store', 'containers', 'images', victim), 'short');
    const ran = await sync(settings);
    expect(ran.code).toBe(0);
    expect(ran.stdout.events().filter((event) => event.event === 'copied').map((event) => event.digest)).toEqual([victim]);
    expect((await storeContents(context.temp.dir)).get(victim)).toBe(true);
    const inventory = JSON.parse(await readFile(join(context.temp.dir, 'inventory.json'), 'utf8')) as Record<string, string[]>;
    expect(inventory.other).toEqual([built.blobDigests[0]]);
    expect(inventory.local).toHaveLength(built.blobDigests.length);
  });

  it('without blobs.inventory says the front door will HEAD, and still copies', async () => {
    context.origin.push('library/app', '1.0', image('1.0'));
    const ran = await sync(settingsFor(context.origin.url, context.temp.dir, { repositories: ['library/app'] }, ''));
    expect(ran.code).toBe(0);
    expect(ran.stdout.events().find((event) => event.event === 'note')?.message).toMatch(/blobs.inventory is not set/);
  });
});

describe('several buckets', () => {
  it('fetches each blob once for every bucket that lacks it, and --bucket narrows the run', async () => {
    const { app } = fill();
    const settings = settingsFor(context.origin.url, context.temp.dir, { repositories: ['library/app'] });
    settings.buckets.push({ name: 'second', url: 'http://127.0.0.1:9', store: { type: 'dir', path: join(context.temp.dir, 'second', 'store') } });
    const only = await sync(settings, { buckets: ['second'] });
    expect(only.code).toBe(0);
    expect((await storeContents(context.temp.dir)).size).toBe(0);
    expect((await storeContents(join(context.temp.dir, 'second'))).size).toBe(app.size);
    const mark = context.origin.log.length;
    const both = await sync(settings);
    expect(both.code).toBe(0);
    expect(context.origin.log.slice(mark).filter((request) => request.path.includes('/blobs/'))).toHaveLength(app.size);
    await writeFile(join(context.temp.dir, 'store', 'containers', 'images', 'stray'), 'x');
    await rm(join(context.temp.dir, 'store', 'containers', 'images', [...app.keys()][0] ?? ''));
    await rm(join(context.temp.dir, 'second', 'store', 'containers', 'images', [...app.keys()][0] ?? ''));
    const mark2 = context.origin.log.length;
    expect((await sync(settings)).code).toBe(0);
    expect(context.origin.log.slice(mark2).filter((request) => request.path.includes('/blobs/'))).toHaveLength(1);
    expect([...(await storeContents(context.temp.dir)).values()].filter((ok) => !ok)).toEqual([false]);
    const inventory = JSON.parse(await readFile(join(context.temp.dir, 'inventory.json'), 'utf8')) as Record<string, string[]>;
    expect(inventory.local).toHaveLength(app.size);
    expect(inventory.second).toHaveLength(app.size);
  });
});

describe('runSync refuses what it cannot do, with the exit code of the cause', () => {
  it('names an unknown --bucket (64), a bucket without store and a missing repository list (78)', async () => {
    const settings = settingsFor(context.origin.url, context.temp.dir, { repositories: ['library/app'] });
    const unknown = await sync(settings, { buckets: ['nope'] });
    expect(unknown.code).toBe(64);
    expect(unknown.stderr.text).toContain('--bucket nope: no such bucket (configured: local)');
    settings.buckets.push({ name: 'bare', url: 'http://127.0.0.1:9' });
    const bare = await sync(settings, { buckets: ['bare'] });
    expect(bare.code).toBe(78);
    expect(bare.stderr.text).toContain('buckets[bare]: has no store');
    const none = await sync(settingsFor(context.origin.url, context.temp.dir, { repositories: [] }));
    expect(none.code).toBe(78);
    expect(none.stderr.text).toContain('sync.repositories');
    const noOrigin = await sync(settingsFor('', context.temp.dir, { repositories: ['x'] }));
    expect(noOrigin.code).toBe(78);
    const noStores = settingsFor(context.origin.url, context.temp.dir, { repositories: ['x'] });
    noStores.buckets = [];
    expect((await sync(noStores)).stderr.text).toContain('no bucket has a store');
  });

  it('names a repository the origin does not have, and exits 1', async () => {
    const ran = await sync(settingsFor(context.origin.url, context.temp.dir, { repositories: ['ghost'] }));
    expect(ran.code).toBe(1);
    expect(ran.stdout.events().find((event) => event.event === 'problem')).toMatchObject({ what: 'repository ghost' });
    expect(ran.stdout.events().at(-1)).toMatchObject({ event: 'summary', ok: false });
  });
});
