/**
 * `registry-edge verify`: every digest the inventory lists for a bucket is an object in its
 * store with the size sync recorded (`--deep`: and its bytes hash to the digest). Objects
 * that are gone are stale entries, objects with other bytes are corrupt; either fails.
 */
import { createHash } from 'node:crypto';
import type { VerifyArgs } from './args.js';
import { readInventoryLists, readSizes } from './inventory-file.js';
import { SyncConfigError } from './origin-auth.js';
import { forEachLimit } from './pool.js';
import { finish, reported, selectBuckets, type SyncIo } from './run.js';
import type { Reporter } from './reporter.js';
import type { SyncSettings } from './settings.js';
import { objectKey, openStore, type BlobStore } from './stores/index.js';
import { table } from './format.js';

export interface VerifyOptions {
  settings: SyncSettings;
  args: VerifyArgs;
}

export type VerifyFinding = 'ok' | 'stale' | 'wrong_size' | 'corrupt';

async function hashOf(store: BlobStore, key: string, algorithm: string): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of await store.read(key)) hash.update(chunk as Buffer);
  return `${algorithm}:${hash.digest('hex')}`;
}

/** One inventory entry checked against its store. */
export async function checkEntry(store: BlobStore, key: string, digest: string, expectedSize: number | undefined, deep: boolean): Promise<VerifyFinding> {
  const size = await store.stat(key);
  if (size === undefined) return 'stale';
  if (expectedSize !== undefined && size !== expectedSize) return 'wrong_size';
  if (deep && (await hashOf(store, key, digest.split(':')[0] ?? 'sha256')) !== digest) return 'corrupt';
  return 'ok';
}

async function verifySelected(options: VerifyOptions, io: SyncIo, reporter: Reporter): Promise<number> {
  const { settings, args } = options;
  if (settings.blobs.inventory === '') throw new SyncConfigError('blobs.inventory: verify checks the inventory file, and none is configured');
  const buckets = selectBuckets(settings.buckets, args.buckets);
  const lists = await readInventoryLists(settings.blobs.inventory);
  const sizes = await readSizes(settings.blobs.inventory);
  const rows: string[][] = [];
  const failures: string[] = [];
  for (const bucket of buckets) {
    const store = await openStore(bucket.store, io.env);
    const digests = [...new Set([...(lists.get(bucket.name) ?? []), ...(lists.get('*') ?? [])])];
    const counts: Record<VerifyFinding, number> = { ok: 0, stale: 0, wrong_size: 0, corrupt: 0 };
    await forEachLimit(digests, settings.sync.concurrency, async (digest) => {
      const key = objectKey(settings.blobs.key, digest);
      const finding = await checkEntry(store, key, digest, sizes.buckets[bucket.name]?.[digest], args.deep).catch((error: unknown) => {
        failures.push(`${bucket.name}: ${digest}: ${(error as Error).message}`);
        return undefined;
      });
      if (finding === undefined) return;
      counts[finding]++;
      if (finding !== 'ok') {
        failures.push(`${bucket.name}: ${digest}: ${finding.replace('_', ' ')}`);
        reporter.event('failed', { bucket: bucket.name, digest, error: finding });
      }
    });
    reporter.event('verified', { bucket: bucket.name, entries: digests.length, ...counts, deep: args.deep });
    rows.push([bucket.name, String(digests.length), String(counts.ok), String(counts.stale), String(counts.wrong_size), String(counts.corrupt)]);
  }
  if (!args.json && io.stdout.isTTY === true) {
    io.stdout.write(`${table(['bucket', 'entries', 'ok', 'stale', 'wrong size', 'corrupt'], rows)}\n`);
  }
  return finish(reporter, [], failures);
}

export function runVerify(options: VerifyOptions, io: SyncIo): Promise<number> {
  return reported('verify', options.args.json, io, (reporter) => verifySelected(options, io, reporter));
}
