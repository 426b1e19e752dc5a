import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/cli.js';

/** Every `.ts` file under `folder`. */
function sources(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** Metric names as the code defines them: `${PREFIX}name`, or a scraped gauge's bare name. */
const DEFINITION = /`\$\{PREFIX\}([a-z_]+)`|scrapedGauge\(\s*[\w.]+,\s*'([a-z_]+)'/g;

describe('metric definitions', () => {
  it('define each metric in one place in src/ (geo_refreshes_total was defined twice)', () => {
    const places = new Map<string, string[]>();
    for (const file of sources(join(ROOT, 'src'))) {
      for (const match of readFileSync(file, 'utf8').matchAll(DEFINITION)) {
        const name = (match[1] ?? match[2]) as string;
        places.set(name, [...(places.get(name) ?? []), file.slice(ROOT.length + 1)]);
      }
    }
    expect(places.get('geo_refreshes_total')).toHaveLength(1);
    expect(places.size).toBeGreaterThan(15);
    expect([...places].filter(([, where]) => where.length > 1)).toEqual([]);
  });
});
