import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseSigning, SECRET_QUERY_PARAMS } from '../../src/signing/index.js';

// docs/signing.md shows configuration and policies people copy; they must stay valid.

const DOC = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'signing.md'), 'utf8');

function blocks(lang: string): string[] {
  return [...DOC.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1] as string);
}

describe('docs/signing.md', () => {
  it('every signing: block of the example configuration passes the schema', () => {
    const [yaml] = blocks('yaml');
    const doc = parseYaml(yaml as string) as { buckets: Array<{ signing: unknown }> };
    const types = doc.buckets.map((bucket, i) => parseSigning(bucket.signing, `buckets[${i}].signing`).type);
    expect(types).toEqual(['s3', 'cloudfront', 'gcs', 'gcs', 'azure']);
  });

  it('the IAM policy is JSON', () => {
    for (const json of blocks('json')) expect(() => JSON.parse(json)).not.toThrow();
    expect(blocks('json')).toHaveLength(1);
  });

  it('lists every redacted parameter', () => {
    const section = DOC.slice(DOC.indexOf('## Redaction'), DOC.indexOf('## Performance'));
    for (const name of SECRET_QUERY_PARAMS) expect(section.toLowerCase()).toContain(`\`${name}\``);
  });
});
