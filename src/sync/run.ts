/**
 * `registry-edge sync`: walk the origin, compare with each selected bucket's store, copy
 * what is missing, record what every store holds in `blobs.inventory`, and say so. Exit 0
 * only when every selected blob is in every selected bucket.
 */
import type { Writable } from 'node:stream';
import { RegistryClient } from '../registry-client/client.js';
import { RequestLimiter } from '../registry-client/limiter.js';
import type { SyncArgs } from './args.js';
import { SyncUsageError } from './args.js';
import { executePlans } from './execute.js';
import { updateInventory } from './inventory-file.js';
import { originCredentials, SyncConfigError } from './origin-auth.js';
import { heldDigests, keyPrefix, objectKey, planBucket, planBytes, type BucketPlan } from './plan.js';
import { forEachLimit } from './pool.js';
import { JsonReporter, TtyReporter, type Reporter } from './reporter.js';
import type { SyncBucket, SyncSettings } from './settings.js';
import { openStore, StoreConfigError, type BlobStore } from './stores/index.js';
import { walkOrigin, type WalkResult } from './walk.js';

export const EXIT_OK = 0;
export const EXIT_INCOMPLETE = 1;
export const EXIT_USAGE = 64;
export const EXIT_CONFIG = 78;

export interface SyncIo {
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** Injected in tests so retries do not wait on the real clock. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

export interface SyncOptions {
  settings: SyncSettings;
  args: SyncArgs;
}

export function chooseReporter(json: boolean, stdout: SyncIo['stdout']): Reporter {
  return !json && stdout.isTTY === true ? new TtyReporter(stdout) : new JsonReporter(stdout);
}

/** The buckets to fill: every bucket with a store, or those `--bucket` names (each must have one). */
export function selectBuckets(buckets: readonly SyncBucket[], names: readonly string[]): Array<SyncBucket & { store: NonNullable<SyncBucket['store']> }> {
  const withStore = buckets.filter((bucket): bucket is SyncBucket & { store: NonNullable<SyncBucket['store']> } => bucket.store !== undefined);
  if (names.length === 0) {
    if (withStore.length === 0) throw new SyncConfigError('no bucket has a store: section, so sync has nowhere to copy to');
    return withStore;
  }
  return names.map((name) => {
    const bucket = buckets.find((candidate) => candidate.name === name);
    if (bucket === undefined) throw new SyncUsageError(`--bucket ${name}: no such bucket (configured: ${buckets.map((b) => b.name).join(', ') || 'none'})`);
    if (bucket.store === undefined) throw new SyncConfigError(`buckets[${name}]: has no store: section, so sync cannot fill it`);
    return bucket as SyncBucket & { store: NonNullable<SyncBucket['store']> };
  });
}

export async function originClient(settings: SyncSettings, io: SyncIo, reporter: Reporter): Promise<RegistryClient> {
  if (settings.origin.url === '') throw new SyncConfigError('origin.url: sync needs an origin to copy from');
  const credentials = await originCredentials(settings.sync.auth, settings.origin.url, io.env);
  return new RegistryClient(settings.origin, {
    ...(credentials === undefined ? {} : { credentials }),
    retries: settings.sync.retries,
    timeoutMs: settings.sync.timeout_ms,
    limiter: new RequestLimiter(settings.sync.origin_rps),
    ...(io.sleep === undefined ? {} : { sleep: io.sleep }),
    ...(io.random === undefined ? {} : { random: io.random }),
    onRetry: (what, attempt, waitMs, reason) => reporter.event('retry', { what, attempt, wait_ms: waitMs, reason }),
  });
}

function reportWalk(reporter: Reporter, walked: WalkResult): void {
  for (const blob of walked.foreign) {
    reporter.event('foreign', { digest: blob.digest, size: blob.size, media_type: blob.mediaType, reference: blob.reference });
  }
  for (const problem of walked.problems) reporter.event('problem', { what: problem.what, error: problem.error });
  reporter.event('walked', { repositories: walked.repositories, manifests: walked.manifests, blobs: walked.blobs.size, foreign: walked.foreign.length });
}

/** What each store holds, read with one listing per store, then the plan against the walk. */
async function planAll(stores: ReadonlyMap<string, BlobStore>, walked: WalkResult, template: string, concurrency: number): Promise<BucketPlan[]> {
  const plans: BucketPlan[] = [];
  for (const [bucket, store] of stores) {
    const listing = await store.list(keyPrefix(template));
    let held: Map<string, number>;
    if (listing !== undefined) held = heldDigests(template, listing);
    else {
      held = new Map();
      await forEachLimit(walked.blobs.values(), concurrency, async (blob) => {
        const size = await store.stat(objectKey(template, blob.digest));
        if (size !== undefined) held.set(blob.digest, size);
      });
    }
    plans.push(planBucket(bucket, walked.blobs.values(), held));
  }
  return plans;
}

function reportPlan(reporter: Reporter, plans: readonly BucketPlan[], dryRun: boolean): void {
  if (dryRun) {
    for (const plan of plans) {
      for (const blob of plan.copy) {
        reporter.event('would_copy', { bucket: plan.bucket, digest: blob.digest, size: blob.size, reference: blob.reference, replace: blob.replace });
      }
    }
    reporter.plan(plans.map((plan) => ({ bucket: plan.bucket, copy: plan.copy.length, bytes: planBytes(plan), present: plan.present.length })));
    return;
  }
  for (const plan of plans) {
    reporter.event('bucket', { bucket: plan.bucket, copy: plan.copy.length, copy_bytes: planBytes(plan), present: plan.present.length });
  }
}

async function syncSelected(options: SyncOptions, io: SyncIo, reporter: Reporter): Promise<number> {
  const { settings, args } = options;
  const buckets = selectBuckets(settings.buckets, args.buckets);
  const repositories = args.repositories.length > 0 ? args.repositories : settings.sync.repositories;
  if (repositories !== '*' && repositories.length === 0) {
    throw new SyncConfigError('sync.repositories: name the repositories to copy (or "*" for the whole catalog), or pass --repo');
  }
  const client = await originClient(settings, io, reporter);
  const stores = new Map<string, BlobStore>();
  for (const bucket of buckets) stores.set(bucket.name, await openStore(bucket.store, io.env));
  const { sync } = settings;
  const walked = await walkOrigin(client, { repositories, tags: sync.tags, platforms: sync.platforms, referrers: sync.referrers, concurrency: sync.concurrency });
  reportWalk(reporter, walked);
  const plans = await planAll(stores, walked, settings.blobs.key, sync.concurrency);
  reportPlan(reporter, plans, args.dryRun);
  const walkFailures = walked.problems.map((problem) => `${problem.what}: ${problem.error}`);
  if (args.dryRun) return walkFailures.length === 0 ? EXIT_OK : EXIT_INCOMPLETE;
  for (const store of stores.values()) await store.prepare?.(keyPrefix(settings.blobs.key));
  const now = io.now ?? (() => performance.now());
  const result = await executePlans({
    client, plans, stores, keyTemplate: settings.blobs.key, concurrency: sync.concurrency, retries: sync.retries, reporter,
    sleep: io.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))), random: io.random ?? Math.random, now,
  });
  for (const store of stores.values()) await store.finish?.();
  if (settings.blobs.inventory !== '') await updateInventory(settings.blobs.inventory, result.held);
  else reporter.event('note', { message: 'blobs.inventory is not set: the front door will check synced blobs with HEAD requests' });
  return finish(reporter, result.rows, [...walkFailures, ...result.failures]);
}

/** The summary, and exit 0 only when nothing failed. */
export function finish(reporter: Reporter, rows: Parameters<Reporter['summary']>[0], failures: readonly string[]): number {
  reporter.summary(rows, failures, failures.length === 0);
  return failures.length === 0 ? EXIT_OK : EXIT_INCOMPLETE;
}

/** Runs `body` with the reporter `json` and the terminal call for; never throws. */
export async function reported(command: string, json: boolean, io: SyncIo, body: (reporter: Reporter) => Promise<number>): Promise<number> {
  const reporter = chooseReporter(json, io.stdout);
  try {
    return await body(reporter);
  } catch (error) {
    return reportFatal(error, reporter, io, command);
  }
}

/** Runs a sync: every outcome is an exit code and a message. */
export function runSync(options: SyncOptions, io: SyncIo): Promise<number> {
  return reported('sync', options.args.json, io, (reporter) => syncSelected(options, io, reporter));
}

/** 64 for a usage error, 78 for a configuration error, 1 for anything else. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof SyncUsageError) return EXIT_USAGE;
  return error instanceof SyncConfigError || error instanceof StoreConfigError ? EXIT_CONFIG : EXIT_INCOMPLETE;
}

/** A failure that ends the command: one line on stderr (and one event), and its exit code. */
export function reportFatal(error: unknown, reporter: Reporter | undefined, io: Pick<SyncIo, 'stderr'>, command = 'sync'): number {
  const message = error instanceof Error ? error.message : String(error);
  const code = exitCodeFor(error);
  reporter?.event('error', { error: message, exit: code });
  io.stderr.write(`registry-edge ${command}: ${message}\n`);
  return code;
}
