import { describe, expect, it } from 'vitest';
import { isValidDigest } from '../../src/routing/digest.js';
import { classify } from '../../src/routing/classify.js';
import { parseInventory } from '../../src/blobs/inventory.js';

const HEX = '0123456789abcdef';

const table: Array<[string, boolean]> = [
  [`sha256:${HEX.repeat(4)}`, true],
  [`sha512:${HEX.repeat(8)}`, true],
  [`sha256:${'A'.repeat(64)}`, false],
  [`sha256:${HEX.repeat(4).slice(1)}g`, false],
  [`sha256:${HEX.repeat(4).slice(1)}`, false],
  [`sha256:${HEX.repeat(4)}0`, false],
  [`sha512:${HEX.repeat(4)}`, false],
  [`sha512:${'F'.repeat(128)}`, false],
  [`sha384:${HEX.repeat(6)}`, false],
  [`md5:${HEX.repeat(2)}`, false],
  [`SHA256:${HEX.repeat(4)}`, false],
  [`sha256-${HEX.repeat(4)}`, false],
  [`sha256:${HEX.repeat(4)}\n`, false],
  [` sha256:${HEX.repeat(4).slice(1)}`, false],
  ['sha256:', false],
  ['', false],
];

describe('the digest grammar', () => {
  it.each(table)('%s -> %s', (text, valid) => {
    expect(isValidDigest(text)).toBe(valid);
  });

  it.each(table)('is the same for a blob path and an inventory line: %s', (text, valid) => {
    expect(classify(`/v2/a/blobs/${text}`).kind === 'blob').toBe(valid);
    const parse = (): Set<string> => parseInventory(`${text}\n`, 'test');
    // Inventory lines are trimmed first, so only the untrimmed forms can differ.
    if (text.trim() === text && text !== '') {
      if (valid) expect(parse()).toEqual(new Set([text]));
      else expect(parse).toThrow(/is not a digest \(expected sha256:<64 hex> or sha512:<128 hex>, lower case\)/);
    }
  });
});
