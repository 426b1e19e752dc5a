import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { storedDocument, storeDocument } from '../../src/config/embedded.js';
import { EMBEDDED_SOURCE, loadConfig, parseYamlText, validateConfig } from '../../src/config/load.js';
import { embeddedConfigPath } from '../../src/paths.js';
import { tempDir } from '../support/geo.js';

describe('the embedded default parsed at build time', () => {
  const dir = tempDir();
  afterAll(() => dir.cleanup());
  const text = readFileSync(embeddedConfigPath(), 'utf8');

  it('is the document the YAML parses to, and is used only for that very text', async () => {
    const stored = await storeDocument(parseYamlText, embeddedConfigPath(), join(dir.path, 'default.json'));
    expect(storedDocument(text, stored)).toEqual(await parseYamlText(text, 'embedded'));
    expect(storedDocument(`${text}\n# edited\n`, stored)).toBeUndefined();
    expect(storedDocument(text, join(dir.path, 'absent.json'))).toBeUndefined();
    writeFileSync(join(dir.path, 'broken.json'), '{');
    expect(storedDocument(text, join(dir.path, 'broken.json'))).toBeUndefined();
  });

  it('loads to the configuration the YAML validates to (through the build copy when there is one)', async () => {
    const fromYaml = validateConfig(await parseYamlText(text, EMBEDDED_SOURCE), EMBEDDED_SOURCE, { folder: dirname(embeddedConfigPath()), env: {} });
    expect((await loadConfig(undefined, {})).config).toEqual(fromYaml);
  });
});
