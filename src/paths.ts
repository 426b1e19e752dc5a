/**
 * The one rule for where registry-edge's own files live, used by every command:
 *
 * - the package root is the folder holding this package's package.json (found from `src/`
 *   when tests run the sources, and from `dist/src/` when the build runs);
 * - generated data (the compiled cloud ranges and the compact city file) lives in the data
 *   folder: `$REGISTRY_EDGE_DATA_DIR` when set, else `<package root>/data`. `geo update`
 *   writes there and `serve` reads there, whichever folder either is started from;
 * - paths written in a configuration file are relative to that file's folder (the loader
 *   resolves them), so the embedded default's paths are relative to `config/`.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The nearest folder at or above `start` that holds a package.json. */
export function packageRoot(start: string = dirname(fileURLToPath(import.meta.url))): string {
  let folder = resolve(start);
  for (;;) {
    if (existsSync(join(folder, 'package.json'))) return folder;
    const parent = dirname(folder);
    if (parent === folder) throw new Error(`no package.json above ${start}`);
    folder = parent;
  }
}

export const DATA_DIR_VARIABLE = 'REGISTRY_EDGE_DATA_DIR';
export const RANGES_FILE_NAME = 'cloud-ranges.mmdb';
export const COMPACT_LOCATIONS_FILE_NAME = 'locations.mmdb';

/** Where generated data is read and written. */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  const named = env[DATA_DIR_VARIABLE];
  return named !== undefined && named !== '' ? resolve(named) : join(packageRoot(), 'data');
}

/** The compiled cloud ranges every command uses when the configuration names none. */
export function defaultRangesPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(dataDir(env), RANGES_FILE_NAME);
}

/** The compact city file `geo update` writes next to a ranges file, where `serve` looks for it. */
export function compactLocationsPath(rangesPath: string): string {
  return join(dirname(rangesPath), COMPACT_LOCATIONS_FILE_NAME);
}

/** The embedded default configuration (a replica of registry.k8s.io). */
export function embeddedConfigPath(): string {
  return join(packageRoot(), 'config', 'registry-k8s-io.yaml');
}

/** The embedded default as the build parsed it (config/embedded.ts); absent before a build. */
export function embeddedDocumentPath(): string {
  return join(packageRoot(), 'dist', 'config', 'registry-k8s-io.json');
}

/** Region coordinates shipped with the package. */
export function regionsPath(): string {
  return join(packageRoot(), 'geo', 'regions.json');
}
