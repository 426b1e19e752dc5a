import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { compactLocationsPath, dataDir, defaultRangesPath, embeddedConfigPath, packageRoot, regionsPath } from '../src/paths.js';

const scratch = mkdtempSync(join(tmpdir(), 'registry-edge-paths-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('where package files and generated data live', () => {
  const root = packageRoot();

  test('packageRoot finds the folder holding package.json from src/ and from deeper folders', () => {
    expect(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).name).toBe('registry-edge');
    expect(packageRoot(join(root, 'dist', 'src', 'geo'))).toBe(root);
    expect(() => packageRoot('/')).toThrow(/no package.json/);
  });

  test('package files are found from the package root whatever the working folder', () => {
    expect(regionsPath()).toBe(join(root, 'geo', 'regions.json'));
    expect(embeddedConfigPath()).toBe(join(root, 'config', 'registry-k8s-io.yaml'));
  });

  test.each([
    ['unset', {}, join(root, 'data')],
    ['empty', { REGISTRY_EDGE_DATA_DIR: '' }, join(root, 'data')],
    ['absolute', { REGISTRY_EDGE_DATA_DIR: scratch }, scratch],
  ])('the data folder with REGISTRY_EDGE_DATA_DIR %s', (_label, env, expected) => {
    expect(dataDir(env)).toBe(expected);
    expect(defaultRangesPath(env)).toBe(join(expected, 'cloud-ranges.mmdb'));
  });

  test('the compact city file sits beside the ranges file it was built with', () => {
    expect(compactLocationsPath('/srv/geo/ranges.mmdb')).toBe('/srv/geo/locations.mmdb');
  });
});
