// Build time apart from run time: src/ reaches the geo pipeline through one entry, and the
// pipeline takes from src/ only the pieces both sides must share.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
const ROOT = resolve(import.meta.dirname, '..', '..');

function sources(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(folder, name));
}

/** Every module a file imports (static, dynamic and type-only), as a path from the package root. */
function importsOf(file: string, options: { valuesOnly?: boolean } = {}): string[] {
  const all = readFileSync(join(ROOT, file), 'utf8');
  // A type-only import is erased at build time: it pulls no module into the pipeline's process.
  const text = options.valuesOnly === true ? all.replace(/^import type [^;]*;$/gm, '') : all;
  const specifiers = [...text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.[^']+)'/g)].map((match) => match[1] as string);
  return specifiers.map((specifier) => relative(ROOT, resolve(ROOT, dirname(file), specifier)).replace(/\.js$/, '.ts'));
}

const SHARED_WITH_THE_PIPELINE = ['src/paths.ts', 'src/geo/mmdb-format.ts', 'src/geo/location-record.ts', 'src/geo/nearest.ts', 'src/geo/types.ts', 'src/config/types.ts'];

describe('the geo pipeline boundary', () => {
  test('only src/geo/pipeline.ts imports anything from geo/', () => {
    const importers = sources('src').filter((file) => importsOf(file).some((target) => target.startsWith('geo/')));
    expect(importers).toEqual(['src/geo/pipeline.ts']);
    expect(importsOf('src/geo/pipeline.ts').filter((target) => target.startsWith('geo/'))).toEqual(['geo/update.ts', 'geo/update.ts']);
  });

  test('geo/ imports from src/ only the IP module, the paths and the shared geo formats', () => {
    const reached = new Set(sources('geo').flatMap((file) => importsOf(file).filter((target) => target.startsWith('src/'))));
    const unexpected = [...reached].filter((target) => !target.startsWith('src/net/') && !SHARED_WITH_THE_PIPELINE.includes(target));
    expect(unexpected).toEqual([]);
  });

  test('the modules geo/ shares import nothing that serves requests', () => {
    for (const file of SHARED_WITH_THE_PIPELINE) {
      const reached = importsOf(file, { valuesOnly: true }).filter((target) => !target.startsWith('src/net/') && !SHARED_WITH_THE_PIPELINE.includes(target));
      expect(reached, file).toEqual([]);
    }
  });
});
