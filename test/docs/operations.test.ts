import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';
import { scratch, startServe, writeConfig } from '../support/serve.js';

// docs/operations.md describes what an operator sees; these claims are held to the running code.
const DOC = readFileSync(join(ROOT, 'docs', 'operations.md'), 'utf8');

/** The text of the settings-table row for `name`. */
function settingRow(name: string): string {
  const row = DOC.split('\n').find((line) => line.startsWith(`| \`${name}\` |`));
  if (row === undefined) throw new Error(`docs/operations.md has no row for ${name}`);
  return row;
}

describe('docs/operations.md against the code', () => {
  const dir = scratch();
  afterAll(() => dir.cleanup());

  it('admin.port: 0 turns the admin listener off, as the table says', async () => {
    expect(settingRow('admin.port')).toMatch(/`0` turns the listener off/);
    const edge = await startServe(writeConfig(`${dir.path}/off.yaml`, { origin: { url: 'https://o.example' }, admin: { port: 0 } }), 'info', {}, { requireAdmin: false });
    try {
      expect(edge.handle.adminPort).toBeUndefined();
      expect(edge.handle.admin).toBeUndefined();
      expect(edge.logs.messages('listening')[0]).not.toHaveProperty('admin_port');
    } finally {
      await edge.stop();
    }
  });

  it('log lines carry `time` as milliseconds since the Unix epoch, as the Logs section says', async () => {
    expect(DOC).toMatch(/`time` \(milliseconds since the Unix epoch, a number/);
    const before = Date.now();
    const edge = await startServe(writeConfig(`${dir.path}/time.yaml`, { origin: { url: 'https://o.example' } }));
    await edge.stop();
    const time = edge.logs.messages('listening')[0]?.time;
    expect(typeof time).toBe('number');
    expect(time as number).toBeGreaterThanOrEqual(before);
    expect(time as number).toBeLessThanOrEqual(Date.now());
  });
});
