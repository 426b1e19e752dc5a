import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { packageRoot } from '../../src/paths.js';
import { scratch } from '../support/serve.js';

const dir = scratch('edge-config-paths-');
afterAll(() => dir.cleanup());

describe('relative paths belong to the config file folder', () => {
  const folder = join(dir.path, 'etc');
  mkdirSync(folder);
  const file = dir.file(
    'etc/edge.yaml',
    [
      'origin: { url: "https://r.example" }',
      'geo: { ranges: ranges.mmdb, locations: [city/a.mmdb, /srv/geo/b.mmdb] }',
      'blobs: { inventory: ../lists/digests.txt }',
      '',
    ].join('\n'),
  );

  it('resolves every file field at load time, whatever the working directory', async () => {
    expect(relative(process.cwd(), folder)).not.toBe('');
    const { config } = await loadConfig(file, {});
    expect(config.geo.ranges).toBe(join(folder, 'ranges.mmdb'));
    expect(config.geo.locations).toEqual([join(folder, 'city', 'a.mmdb'), '/srv/geo/b.mmdb']);
    expect(config.blobs.inventory).toBe(join(dir.path, 'lists', 'digests.txt'));
  });

  it('does the same for a file named by a relative REGISTRY_EDGE_CONFIG', async () => {
    const { config } = await loadConfig(undefined, { REGISTRY_EDGE_CONFIG: relative(process.cwd(), file) });
    expect(config.geo.ranges).toBe(join(folder, 'ranges.mmdb'));
  });

  it('keeps "no inventory" empty rather than turning it into the folder', async () => {
    const { config } = await loadConfig(dir.file('etc/bare.yaml', 'origin: { url: "https://r.example" }\n'), {});
    expect(config.blobs.inventory).toBe('');
    expect(config.geo.locations).toEqual([]);
  });
});

describe('geo.ranges left out', () => {
  it('is the compiled ranges file in the data folder, for the embedded default too', async () => {
    const data = join(dir.path, 'data');
    expect((await loadConfig(undefined, { REGISTRY_EDGE_DATA_DIR: data })).config.geo.ranges).toBe(join(data, 'cloud-ranges.mmdb'));
    expect((await loadConfig(undefined, {})).config.geo.ranges).toBe(join(packageRoot(), 'data', 'cloud-ranges.mmdb'));
    const file = dir.file('plain.yaml', 'origin: { url: "https://r.example" }\n');
    expect((await loadConfig(file, { REGISTRY_EDGE_DATA_DIR: data })).config.geo.ranges).toBe(join(data, 'cloud-ranges.mmdb'));
  });
});

describe('the effective configuration check-config prints', () => {
  const printed = async (env: NodeJS.ProcessEnv) => JSON.stringify((await loadConfig(undefined, env)).config, null, 2);

  it('is the same on every load, in the order of the schema', async () => {
    expect(await printed({})).toBe(await printed({}));
    const config = JSON.parse(await printed({})) as Record<string, unknown>;
    expect(Object.keys(config)).toEqual(Object.keys(configSchema({ folder: '/', env: {} }).pipe[1].entries));
    expect(Object.keys((config.buckets as object[])[0] as object)).toEqual(['name', 'url', 'provider', 'regions', 'networks']);
  });

  it('loads back to the same configuration', async () => {
    const text = await printed({});
    expect(JSON.stringify((await loadConfig(dir.file('printed.yaml', text), {})).config, null, 2)).toBe(text);
  });
});
