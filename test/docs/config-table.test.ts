import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { configSchema } from '../../src/config/schema.js';
import { packageRoot } from '../../src/paths.js';

// README.md's configuration table is the field reference users read; the schema is what runs.
// This keeps them one list: every field in one is in the other, and plain defaults agree.

interface Row {
  fields: string[];
  defaults: string[];
  line: number;
}

/** The rows of the first table under `## Configuration` whose header starts with `| field |`. */
function configTable(markdown: string): Row[] {
  const lines = markdown.split('\n');
  const section = lines.indexOf('## Configuration');
  const header = lines.findIndex((line, i) => i > section && line.startsWith('| field |'));
  if (section === -1 || header === -1) throw new Error('README.md: no "| field |" table under "## Configuration"');
  const rows: Row[] = [];
  for (let i = header + 2; lines[i]?.startsWith('|'); i++) {
    const [fields = '', defaults = ''] = (lines[i] as string).slice(1, -1).split(' | ');
    const codes = (cell: string) => [...cell.matchAll(/`([^`]*)`/g)].map((match) => match[1] as string);
    rows.push({ fields: codes(fields), defaults: /^\s*`[^`]*`\s*$/.test(defaults) ? codes(defaults) : [], line: i + 1 });
  }
  return rows;
}

type Walkable = { type?: string; entries?: Record<string, Walkable>; item?: Walkable; wrapped?: Walkable; pipe?: readonly Walkable[] };

/** The mapping, list or record a field's schema wraps (through optional, nullish and pipes). */
function container(schema: Walkable): Walkable | undefined {
  if (schema.type === 'strict_object' || schema.type === 'array' || schema.type === 'record') return schema;
  if (schema.wrapped) return container(schema.wrapped);
  for (const item of schema.pipe ?? []) {
    const found = item === schema ? undefined : container(item);
    if (found) return found;
  }
  return undefined;
}

/** Every field path of the schema: `listen.port`, `buckets[].name`, `providers.<name>`. */
function schemaFields(schema: Walkable, prefix = ''): string[] {
  const inner = container(schema);
  if (inner?.type === 'record') return [`${prefix}.<name>`];
  if (inner?.type === 'array') return container(inner.item as Walkable) ? schemaFields(inner.item as Walkable, `${prefix}[]`) : [prefix];
  if (inner?.type !== 'strict_object') return [prefix];
  return Object.entries(inner.entries ?? {}).flatMap(([key, value]) => schemaFields(value, prefix === '' ? key : `${prefix}.${key}`));
}

/** The value at a documented path in a parsed configuration (`buckets[]` is the first bucket). */
function valueAt(config: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => {
    const [name, list] = key.endsWith('[]') ? [key.slice(0, -2), true] : [key, false];
    const value = (node as Record<string, unknown> | undefined)?.[name];
    return list ? (value as unknown[] | undefined)?.[0] : value;
  }, config);
}

const README = readFileSync(join(packageRoot(), 'README.md'), 'utf8');
const rows = configTable(README);
const documented = rows.flatMap((row) => row.fields);
const fields = schemaFields(configSchema({ folder: '/', env: {} }) as Walkable);
// A field covered by its parent's row: `buckets[].location` is documented as one `{lat, lon}`.
const covered = (field: string) => documented.some((doc) => field === doc || field.startsWith(`${doc}.`));

describe('README configuration table', () => {
  it('documents every schema field', () => {
    expect(fields.filter((field) => !covered(field))).toEqual([]);
  });

  it('documents only schema fields', () => {
    const known = (doc: string) => fields.some((field) => field === doc || field.startsWith(`${doc}.`));
    expect(documented.filter((doc) => !known(doc))).toEqual([]);
  });

  it('gives the defaults the schema gives', () => {
    const mirrors = [{ url: 'https://m.example', location: { lat: 0, lon: 0 } }];
    const config = validateConfig({ origin: { url: 'https://r.example', mirrors }, buckets: [{ name: 'b', url: 'https://b.example' }] }, 'docs');
    const plain = (value: unknown) => (value === '' ? '""' : typeof value === 'string' ? value : JSON.stringify(value));
    const checked = rows.filter((row) => row.fields.length === 1 && row.defaults.length === 1 && !row.fields[0]?.includes('<'));
    expect(checked.length).toBeGreaterThan(30);
    for (const { fields: [field = ''], defaults: [text], line } of checked) {
      expect(plain(valueAt(config, field)), `README.md:${line} ${field}`).toBe(text);
    }
  });
});
