import { utimesSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { DataFiles, type Loaded } from '../../src/server/data-files.js';
import { scratch } from '../support/serve.js';

describe('DataFiles: unchanged data files are shared across generations', () => {
  const dir = scratch('registry-edge-data-files-');
  afterAll(() => dir.cleanup());

  const counting = (): { loads: number; load: (path: string) => Promise<Loaded<string>> } => {
    const state = {
      loads: 0,
      load: async (path: string): Promise<Loaded<string>> => {
        state.loads++;
        return { value: `${path}#${state.loads}`, bytes: 100 };
      },
    };
    return state;
  };

  it('loads a file once while it is unchanged, again once it changes, and frees each copy with its last holder', async () => {
    const file = dir.file('a.mmdb', 'one');
    const files = new DataFiles();
    const loader = counting();
    const first = await files.open('ranges', file, loader.load);
    const second = await files.open('ranges', file, loader.load);
    expect(loader.loads).toBe(1);
    expect(second.value).toBe(first.value);
    expect(files.bytesByFile()).toEqual(new Map([[file, 100]]));

    writeFileSync(file, 'two!');
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    const third = await files.open('ranges', file, loader.load);
    expect(loader.loads).toBe(2);
    expect(third.value).not.toBe(first.value);
    // The old copy is still held by two generations.
    expect(files.bytesByFile()).toEqual(new Map([[file, 200]]));
    first.release();
    first.release();
    expect(files.bytesByFile()).toEqual(new Map([[file, 200]]));
    second.release();
    expect(files.bytesByFile()).toEqual(new Map([[file, 100]]));
    third.release();
    expect(files.bytesByFile()).toEqual(new Map());
    // Nothing holds it any more: the next generation loads it afresh.
    (await files.open('ranges', file, loader.load)).release();
    expect(loader.loads).toBe(3);
  });

  it('keeps kinds apart, lets a failed load be retried, and hands a missing file to its loader', async () => {
    const file = dir.file('b.txt', 'x');
    const files = new DataFiles();
    const loader = counting();
    await files.open('inventory', file, loader.load);
    await files.open('ranges', file, loader.load);
    expect(loader.loads).toBe(2);

    const broken = dir.file('c.txt', 'x');
    await expect(files.open('inventory', broken, () => Promise.reject(new Error('bad file')))).rejects.toThrow('bad file');
    expect((await files.open('inventory', broken, loader.load)).value).toBe(`${broken}#3`);

    const missing = `${dir.path}/none.mmdb`;
    await expect(files.open('ranges', missing, () => Promise.reject(new Error('ENOENT: missing')))).rejects.toThrow('ENOENT');
    const lease = await files.open('ranges', missing, loader.load);
    lease.release();
    expect(files.bytesByFile().has(missing)).toBe(false);
  });
});
