import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { NOT_PLAIN, parsePlainYaml } from '../../src/config/plain-yaml.js';

/** What the `yaml` package reads, as loadConfig asks it; undefined when it reports an error. */
function packageReads(text: string): { value: unknown } | undefined {
  const document = parseDocument(text, { prettyErrors: false });
  if (document.errors.length > 0) return undefined;
  try {
    return { value: document.toJS({ maxAliasCount: 100 }) };
  } catch {
    return undefined;
  }
}

/** The one promise of the fast reader: the package's value, or NOT_PLAIN. */
function agrees(text: string): void {
  const fast = parsePlainYaml(text);
  if (fast === NOT_PLAIN) return;
  const slow = packageReads(text);
  expect(slow, `the package refuses what the fast reader read:\n${text}`).toBeDefined();
  expect(fast, text).toStrictEqual(slow?.value);
}

const SAMPLE = `# a configuration as people write them
listen:
  host: 127.0.0.1   # loopback
  port: 8080
origin:
  url: https://registry.example/v2
  path: ""
blobs:
  key: /containers/images/{digest}
  inventory: ''
buckets:
  - name: b0
    url: http://127.0.0.1:1/b0
    networks:
      - 198.51.0.0/16
      - 2001:db8:db::/48
      - "10.0.0.0/8"
  - name: b1
    networks: []
    location: {}
  -   name: b2
      regions:
      - eu-west-1
default_bucket: b0
limits:
  per_ip_rps: 0
  burst: -3
flags:
  on: true
  off: FALSE
  none: ~
  empty:
  float: 1.5
  hex: 0x1F
  octal: 0o17
  plus: +7
  word: a#b
  colon: a:b
`;

describe('parsePlainYaml', () => {
  it('reads a configuration of block mappings and sequences as the yaml package does', () => {
    const fast = parsePlainYaml(SAMPLE);
    expect(fast).not.toBe(NOT_PLAIN);
    expect(fast).toStrictEqual(packageReads(SAMPLE)?.value);
    expect((fast as { flags: unknown }).flags).toStrictEqual({ on: true, off: false, none: null, empty: null, float: 1.5, hex: 31, octal: 15, plus: 7, word: 'a#b', colon: 'a:b' });
  });

  it.each([
    ['an empty file', '', null],
    ['only comments', '# nothing\n\n   # here\n', null],
    ['a sequence at the top', '- a\n- 1\n-\n- b: c\n', ['a', 1, null, { b: 'c' }]],
    ['a sequence at its key’s indentation', 'a:\n- 1\n- 2\nb: 3\n', { a: [1, 2], b: 3 }],
    ['a dash with its mapping below', '-\n  a: 1\n', [{ a: 1 }]],
    ['a quoted string with a comment after it', 'a: "x # y" # z\n', { a: 'x # y' }],
    ['numbers that are strings', 'a: 1.2.3.4\nb: 10.0.0.0/8\nc: 1e5x\n', { a: '1.2.3.4', b: '10.0.0.0/8', c: '1e5x' }],
    ['an exponent', 'a: 1e3\nb: -2.5E-1\n', { a: 1000, b: -0.25 }],
    ['a first line indented', '  a: 1\n  b: 2\n', { a: 1, b: 2 }],
  ])('reads %s', (_label, text, expected) => {
    expect(parsePlainYaml(text)).toStrictEqual(expected);
    agrees(text);
  });

  it.each([
    ['tabs', 'a:\n\tb: 1\n'],
    ['carriage returns', 'a: 1\r\n'],
    ['non-ASCII text', 'a: é\n'],
    ['a document marker', '---\na: 1\n'],
    ['a directive', '%YAML 1.2\n---\na: 1\n'],
    ['a repeated key', 'a: 1\na: 2\n'],
    ['a key Object.prototype has', 'constructor: 1\n'],
    ['a quoted key', '"a": 1\n'],
    ['a key that is not a string', 'null: 1\ntrue: 2\n'],
    ['an anchor and an alias', 'a: &x 1\nb: *x\n'],
    ['a tag', 'a: !!str 1\n'],
    ['a block scalar', 'a: |\n  text\n'],
    ['a flow collection', 'a: [1, 2]\nb: { c: 1 }\n'],
    ['an escape', 'a: "\\n"\n'],
    ['a doubled single quote', "a: 'it''s'\n"],
    ['a multi-line plain scalar', 'a: one\n  two\n'],
    ['a nested mapping in a compact one', 'a: b: c\n'],
    ['a value ending in a colon', 'a: b:\n'],
    ['.inf and .nan', 'a: .inf\nb: -.Inf\nc: .NaN\n'],
    ['a mapping line at a wrong indentation', 'a:\n    b: 1\n  c: 2\n'],
    ['a dash after a value', 'a: 1\n- b\n'],
    ['a nested compact sequence', '- - a\n'],
    ['an unclosed quote', 'a: "b\n'],
    ['text after a closing quote', 'a: "b" c\n'],
    ['a scalar document', 'just text\n'],
  ])('leaves %s to the yaml package', (_label, text) => {
    expect(parsePlainYaml(text)).toBe(NOT_PLAIN);
  });

  it('agrees with the yaml package on every YAML file of the repository it reads', () => {
    const root = join(import.meta.dirname, '..', '..');
    const files = [join(root, 'config', 'registry-k8s-io.yaml'), ...['kubernetes', 'prometheus', 'cloudrun'].flatMap((dir) => readdirSync(join(root, 'deploy', dir)).filter((f) => f.endsWith('.yaml')).map((f) => join(root, 'deploy', dir, f)))];
    for (const file of files) agrees(readFileSync(file, 'utf8'));
  });

  it('on any edit of a configuration, reads what the yaml package reads or leaves it to the package', () => {
    const pieces = [' ', '\n', '-', '- ', ':', ': ', '#', ' #', '"', "'", '  ', 'x', '1', '.', '~', '[]', '{}', 'true', 'null', '0x', 'e5', '\\', '&a', '*a', '|', '\t'];
    const edit = fc.tuple(fc.nat(SAMPLE.length), fc.nat(4), fc.constantFrom(...pieces));
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
        let text = SAMPLE;
        for (const [at, cut, piece] of edits) text = text.slice(0, Math.min(at, text.length)) + piece + text.slice(Math.min(at, text.length) + cut);
        agrees(text);
      }),
      { numRuns: 1500 },
    );
  });
});
