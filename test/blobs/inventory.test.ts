import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inventoryKey, loadInventory } from '../../src/blobs/index.js';
import { digest } from '../support/blobs.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function file(name: string, content: string): Promise<string> {
  dir ??= await mkdtemp(join(tmpdir(), 'registry-edge-inventory-'));
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

const sha512 = `sha512:${'ab'.repeat(64)}`;

describe('loadInventory', () => {
  it('reads one digest per line, skipping blank lines, comments, CRLF and a byte-order mark', async () => {
    const path = await file('list.txt', `\uFEFF# blobs of v1.30\r\n${digest(1)}\r\n\n  ${digest(2)}  \n${sha512}\n${digest(1)}\n`);
    expect(await loadInventory(path)).toEqual(new Set([digest(1), digest(2), sha512]));
  });

  it('reads an empty file as an empty inventory', async () => {
    expect((await loadInventory(await file('empty.txt', ''))).size).toBe(0);
  });

  it('names the file and line of a bad digest', async () => {
    const path = await file('bad.txt', `${digest(1)}\n\nsha256:XYZ\n`);
    await expect(loadInventory(path)).rejects.toThrow(`inventory ${path} line 3: "sha256:XYZ" is not a digest`);
  });

  it.each([
    ['upper-case hex', `sha256:${'A'.repeat(64)}`],
    ['short hex', 'sha256:abc'],
    ['unknown algorithm', `md5:${'a'.repeat(32)}`],
    ['no algorithm', 'a'.repeat(64)],
  ])('rejects %s', async (_label, line) => {
    await expect(loadInventory(await file('x.txt', `${line}\n`))).rejects.toThrow(/line 1: .* is not a digest/);
  });

  it('reads a JSON list', async () => {
    const path = await file('list.json', JSON.stringify([digest(1), digest(2)], null, 2));
    expect(await loadInventory(path)).toEqual(new Set([digest(1), digest(2)]));
  });

  it('names the entry of a bad digest in a JSON list', async () => {
    const path = await file('bad.json', JSON.stringify([digest(1), 42]));
    await expect(loadInventory(path)).rejects.toThrow(`inventory ${path}: entry 1: 42 is not a digest`);
  });

  it('reads a JSON object of per-bucket lists, with "*" meaning every bucket', async () => {
    const path = await file('buckets.json', JSON.stringify({ '*': [digest(1)], 'aws-eu-west-3': [digest(2)] }));
    expect(await loadInventory(path)).toEqual(new Set([digest(1), inventoryKey('aws-eu-west-3', digest(2))]));
  });

  it('rejects a per-bucket value that is not a list, and bad digests inside one', async () => {
    const notList = await file('a.json', JSON.stringify({ lab: digest(1) }));
    await expect(loadInventory(notList)).rejects.toThrow(`inventory ${notList}: "lab" must map to a list of digests`);
    const badItem = await file('b.json', JSON.stringify({ lab: [digest(1), 'nope'] }));
    await expect(loadInventory(badItem)).rejects.toThrow(`inventory ${badItem}: "lab" entry 1: "nope" is not a digest`);
  });

  it('shortens a very long bad entry in the message', async () => {
    const path = await file('long.txt', `${'z'.repeat(500)}\n`);
    await expect(loadInventory(path)).rejects.toThrow(/line 1: "z+\.\.\. is not a digest/);
  });

  it('reports invalid JSON and missing files with the path', async () => {
    const broken = await file('broken.json', '[ "sha256:');
    await expect(loadInventory(broken)).rejects.toThrow(`inventory ${broken}: invalid JSON`);
    const missing = join(dir ?? tmpdir(), 'missing.txt');
    await expect(loadInventory(missing)).rejects.toThrow(`inventory ${missing}: cannot read`);
  });
});
