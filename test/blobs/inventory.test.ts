import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inventoryOf, loadInventory, type Inventory } from '../../src/blobs/index.js';
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

/** Which of the probes `bucket` holds by the inventory, as the checker asks it. */
function held(inventory: Inventory, bucket: string, probes: readonly string[]): string[] {
  return probes.filter((probe) => inventory.has(bucket, probe));
}
const probes = [digest(1), digest(2), digest(3), sha512, `sha512:${'cd'.repeat(64)}`];

describe('loadInventory', () => {
  it('reads one digest per line, skipping blank lines, comments, CRLF and a byte-order mark', async () => {
    const path = await file('list.txt', `\uFEFF# blobs of v1.30\r\n${digest(1)}\r\n\n  ${digest(2)}  \n${sha512}\n${digest(1)}\n`);
    const inventory = await loadInventory(path);
    expect(inventory.size).toBe(3);
    expect(held(inventory, 'any', probes)).toEqual([digest(1), digest(2), sha512]);
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
    expect(held(await loadInventory(path), 'any', probes)).toEqual([digest(1), digest(2)]);
  });

  it('names the entry of a bad digest in a JSON list', async () => {
    const path = await file('bad.json', JSON.stringify([digest(1), 42]));
    await expect(loadInventory(path)).rejects.toThrow(`inventory ${path}: entry 1: 42 is not a digest`);
  });

  it('reads a JSON object of per-bucket lists, with "*" meaning every bucket', async () => {
    const path = await file('buckets.json', JSON.stringify({ '*': [digest(1)], 'aws-eu-west-3': [digest(2)] }));
    const inventory = await loadInventory(path);
    expect(inventory.size).toBe(2);
    expect(held(inventory, 'aws-eu-west-3', probes)).toEqual([digest(1), digest(2)]);
    expect(held(inventory, 'lab', probes)).toEqual([digest(1)]);
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

describe('loadInventory reads bytes, and the string parser only when the scanner declines', () => {
  it('reads what sync writes (an indented object of sorted lists) and a one-line object alike', async () => {
    const document = { '*': [digest(3)], a: [digest(1), sha512], b: [] };
    for (const text of [`${JSON.stringify(document, null, 1)}\n`, JSON.stringify(document)]) {
      const inventory = await loadInventory(await file('sync.json', text));
      expect(inventory.size).toBe(3);
      expect(held(inventory, 'a', probes)).toEqual([digest(1), digest(3), sha512]);
      expect(held(inventory, 'b', probes)).toEqual([digest(3)]);
      expect(held(inventory, 'c', probes)).toEqual([digest(3)]);
    }
  });

  it.each([
    ['an escaped character in a digest', `["\\u0073ha256:${'0'.repeat(63)}1"]`, [digest(1)]],
    ['an escaped bucket name', `{"l\\u0061b": ["${digest(2)}"]}`, []],
    ['a repeated bucket (JSON keeps its last list)', `{"lab": ["${digest(1)}"], "lab": ["${digest(2)}"]}`, []],
    ['non-ASCII whitespace before a line', `\u00a0${digest(1)}\n`, [digest(1)]],
  ])('%s means what JSON and the text rules say', async (_label, text, everywhere) => {
    const inventory = await loadInventory(await file('odd.json', text));
    expect(held(inventory, 'other', probes)).toEqual(everywhere);
  });

  it('an escaped bucket name is that bucket, and a repeated one keeps its last list', async () => {
    expect(held(await loadInventory(await file('e.json', `{"l\\u0061b": ["${digest(2)}"]}`)), 'lab', probes)).toEqual([digest(2)]);
    expect(held(await loadInventory(await file('r.json', `{"lab": ["${digest(1)}"], "lab": ["${digest(2)}"]}`)), 'lab', probes)).toEqual([digest(2)]);
  });

  it.each([
    ['trailing text after the list', `["${digest(1)}"] x`, /invalid JSON/],
    ['a missing comma', `["${digest(1)}" "${digest(2)}"]`, /invalid JSON/],
    ['a control character in a bucket name', `{"l\tab": ["${digest(1)}"]}`, /invalid JSON/],
    ['a bucket mapping to a number', `{"lab": 1}`, /"lab" must map to a list of digests/],
    ['an object that never closes', `{"lab": ["${digest(1)}"]`, /invalid JSON/],
  ])('refuses %s with the string parser’s words', async (_label, text, message) => {
    await expect(loadInventory(await file('bad.json', text))).rejects.toThrow(message);
  });

  it('reads files larger than its 1 MiB chunk: lines across chunk ends, and one line longer than a chunk', async () => {
    const many = Array.from({ length: 20_000 }, (_, n) => digest(n + 100));
    for (const text of [`${JSON.stringify({ lab: many }, null, 1)}\n`, JSON.stringify({ lab: many }), `${many.join('\n')}`]) {
      const inventory = await loadInventory(await file('big.json', text));
      expect(inventory.size).toBe(20_000);
      expect(many.every((d) => inventory.has('lab', d))).toBe(true);
    }
  });

  it.each([
    // A quote where a sha256 digest would end that is not the closing one: no digest, so the string parser reads it.
    ['a short string then a digest on one line', `["x","${digest(1).slice(0, 66)}"]`, /entry 0: "x" is not a digest/],
    ['a digest one character short', `[\n "${digest(1).slice(0, -1)}"\n]`, /entry 0: .* is not a digest/],
    ['a string never closed at the end of the file', `["${digest(1)}", "sha256:`, /invalid JSON/],
    ['a list inside a list', `[["${digest(1)}"]]`, /entry 0: .* is not a digest/],
    ['a key where an item belongs', `["${digest(1)}": 1]`, /invalid JSON/],
  ])('refuses %s as before, in the string parser’s words', async (_label, text, message) => {
    await expect(loadInventory(await file('odd.json', text))).rejects.toThrow(message);
  });

  it('reads sha512 digests and every spacing JSON allows between tokens', async () => {
    const text = `\t{ "lab" :\r\n[ "${digest(1)}" ,\n\n"${sha512}"\t] , "*":[] }\n\n`;
    const inventory = await loadInventory(await file('spaced.json', text));
    expect(inventory.size).toBe(2);
    expect(held(inventory, 'lab', probes)).toEqual([digest(1), sha512]);
  });

  it('reads a JSON file whose digests and keys straddle its 1 MiB chunks, whatever the offset', async () => {
    for (const pad of [0, 1, 37, 71]) {
      const many = Array.from({ length: 15_000 }, (_, n) => digest(n + 7));
      const text = `${' '.repeat(pad)}{"k${'e'.repeat(pad)}y": ${JSON.stringify(many)}, "other": ["${digest(1)}"]}`;
      const inventory = await loadInventory(await file('straddle.json', text));
      expect(inventory.size).toBe(15_001);
      expect(many.every((d) => inventory.has(`k${'e'.repeat(pad)}y`, d)) && inventory.has('other', digest(1))).toBe(true);
      expect(inventory.has('third', digest(7))).toBe(false);
    }
  });

  it('names a path it cannot read as a file', async () => {
    dir ??= await mkdtemp(join(tmpdir(), 'registry-edge-inventory-'));
    await expect(loadInventory(dir)).rejects.toThrow(`inventory ${dir}: cannot read`);
  });

  it('an inventory of entries (as tests and sync give them) answers like a loaded file', () => {
    const inventory = inventoryOf([digest(1), `lab\u0000${digest(2)}`, sha512]);
    expect(held(inventory, 'lab', probes)).toEqual([digest(1), digest(2), sha512]);
    expect(held(inventory, 'other', probes)).toEqual([digest(1), sha512]);
    expect(inventory.has('lab', 'sha256:short')).toBe(false);
    expect(inventoryOf([]).has('lab', digest(1))).toBe(false);
  });

  it('grows past its first guess: 5,000 digests in a table sized for none', () => {
    const many = Array.from({ length: 5000 }, (_, n) => digest(n + 10));
    const inventory = inventoryOf(many);
    expect(inventory.size).toBe(5000);
    expect(many.every((d) => inventory.has('x', d))).toBe(true);
    expect(inventory.has('x', digest(1))).toBe(false);
    // About 45 bytes a sha256 digest once grown (36 a slot at 40-80% load).
    expect(inventory.bytes / 5000).toBeLessThan(100);
  });
});
