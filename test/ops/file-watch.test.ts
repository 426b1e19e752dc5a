/** Which file events concern a watched data file: pure tables, then one real folder. */
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { concernedFiles, FileWatcher, foldersOf } from '../../src/ops/file-watch.js';
import { LogCapture } from '../support/harness.js';
import { scratch } from '../support/serve.js';
import { until } from '../support/wait.js';

describe('the data files a server watches', () => {
  it('groups paths by folder, skipping "" (no file configured)', () => {
    expect(foldersOf(['/srv/a/inventory.json', '', '/srv/a/other.json', '/srv/b/x'])).toEqual(
      new Map([['/srv/a', new Set(['inventory.json', 'other.json'])], ['/srv/b', new Set(['x'])]]),
    );
    expect(foldersOf([])).toEqual(new Map());
  });

  it.each([
    { name: 'inventory.json', concerns: ['/srv/inventory.json'] },
    // The writer's temporary file and the sizes sidecar are not the file the server reads.
    { name: '.inventory.json.123-abcd.tmp', concerns: [] },
    { name: 'inventory.json.sizes.json', concerns: [] },
    // A platform that does not name the file: every watched file of the folder may have changed.
    { name: null, concerns: ['/srv/inventory.json'] },
  ])('an event for $name concerns $concerns', ({ name, concerns }) => {
    expect(concernedFiles(new Set(['inventory.json']), '/srv', name)).toEqual(concerns);
  });
});

describe('FileWatcher on a real folder', () => {
  const dir = scratch('registry-edge-watch-');
  afterAll(() => dir.cleanup());

  it('reports one change for an atomic rewrite (temporary file, rename), none for a neighbour', async () => {
    const inventory = dir.file('inventory.json', '[]');
    const changes: string[][] = [];
    const logs = new LogCapture();
    const watcher = new FileWatcher({ logger: createLogger('info', logs), onChange: (files) => changes.push(files), debounceMs: 50 });
    watcher.configure([inventory, join(dir.path, 'missing-folder', 'x.json')]);
    try {
      expect(watcher.watching()).toEqual([dir.path]);
      expect(logs.messages('cannot watch a data file folder; changes there need a reload')).toHaveLength(1);
      await writeFile(join(dir.path, 'unrelated.txt'), 'x');
      const temporary = join(dir.path, '.inventory.json.1-ab.tmp');
      await writeFile(temporary, '["sha256:' + 'a'.repeat(64) + '"]');
      await rename(temporary, inventory);
      await until('a change report', () => changes.length > 0);
      expect(changes).toEqual([[inventory]]);
      watcher.configure([]);
      expect(watcher.watching()).toEqual([]);
    } finally {
      watcher.stop();
    }
  });
});
