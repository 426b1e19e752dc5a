import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// bench/signing.js runs against dist/: a tiny run proves it still loads and measures every type.

const ROOT = join(import.meta.dirname, '..', '..');

describe('bench/signing.js', () => {
  it('reports a median for every signer, smithy and the warm lookup', async () => {
    expect(existsSync(join(ROOT, 'dist', 'src', 'signing', 'index.js')), 'run `npm run build` first').toBe(true);
    const { stdout } = await promisify(execFile)(process.execPath, ['bench/signing.js', '--rounds', '1', '--ops', '20', '--json'], { cwd: ROOT });
    const report = JSON.parse(stdout) as { rows: Array<{ what: string; ns: number }> };
    expect(report.rows.map((r) => r.what)).toEqual([
      'cold sign: s3',
      'cold sign: s3 + session token',
      'cold sign: cloudfront (RSA-SHA1)',
      'cold sign: gcs RSA',
      'cold sign: gcs HMAC',
      'cold sign: azure',
      'cold sign: s3 via @smithy/signature-v4 (awaited)',
      'warm lookup: SignedUrlCache.get (1000 digests)',
      'reference: Date.now()',
    ]);
    for (const row of report.rows) expect(row.ns).toBeGreaterThan(0);
  });
});
