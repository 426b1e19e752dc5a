import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';

// docs/architecture.md is the map a newcomer reads first: it must name real folders, and every
// folder of src/ must be on it.

const root = packageRoot();
const page = readFileSync(join(root, 'docs', 'architecture.md'), 'utf8');

/** The folders in the first column of the folder map (`| \`src/net/\` | ... |`). */
function mappedFolders(markdown: string): string[] {
  const folders: string[] = [];
  for (const line of markdown.split('\n')) {
    const cell = /^\| `([^`]+\/)` \|/.exec(line);
    if (cell?.[1] !== undefined) folders.push(cell[1]);
  }
  return folders;
}

function foldersUnder(relative: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(join(root, relative), { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const path = `${relative}${entry.name}/`;
    found.push(path, ...foldersUnder(path));
  }
  return found;
}

describe('docs/architecture.md', () => {
  const mapped = mappedFolders(page);

  it('has a folder map', () => {
    expect(mapped.length).toBeGreaterThan(10);
  });

  it('names only folders that exist', () => {
    expect(mapped.filter((folder) => !existsSync(join(root, folder)))).toEqual([]);
  });

  it('names every folder of src/', () => {
    expect(foldersUnder('src/').filter((folder) => !mapped.includes(folder))).toEqual([]);
  });

  it('names every top-level folder of geo/ and the test/ layout it describes', () => {
    expect(foldersUnder('geo/').filter((folder) => !mapped.includes(folder))).toEqual([]);
    for (const folder of ['test/support/', 'test/geo-pipeline/', 'test/e2e/']) expect(existsSync(join(root, folder))).toBe(true);
  });

  it('keeps test/ a mirror of src/: each src folder has its test folder', () => {
    const topLevel = readdirSync(join(root, 'src')).filter((entry) => statSync(join(root, 'src', entry)).isDirectory());
    expect(topLevel.filter((folder) => !existsSync(join(root, 'test', folder)))).toEqual([]);
  });

  it('mentions every module it sends a request through', () => {
    const modules = [...page.matchAll(/\*\*`(src\/[^`]+\.ts)`\*\*/g)].map((match) => match[1] ?? '');
    expect(modules.length).toBeGreaterThan(5);
    expect(modules.filter((module) => !existsSync(join(root, module)))).toEqual([]);
  });
});
