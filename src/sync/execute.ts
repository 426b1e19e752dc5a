/**
 * Runs the copies the plans call for, `concurrency` blobs at a time, each blob fetched once
 * for every bucket that lacks it, and keeps the per-bucket tallies the summary shows.
 */
import type { RegistryClient } from '../registry-client/client.js';
import { copyBlob, type CopyEvents, type CopyTarget, type Pacing } from './copy.js';
import type { ProgressState, SummaryRow } from './format.js';
import type { BucketPlan } from './plan.js';
import { forEachLimit } from './pool.js';
import type { Reporter } from './reporter.js';
import { objectKey, type BlobStore } from './stores/index.js';
import type { PlannedBlob } from './walk.js';

export interface ExecuteSettings extends Pacing {
  client: RegistryClient;
  plans: readonly BucketPlan[];
  stores: ReadonlyMap<string, BlobStore>;
  keyTemplate: string;
  concurrency: number;
  retries: number;
  reporter: Reporter;
}

export interface ExecuteResult {
  rows: SummaryRow[];
  failures: string[];
  /** Per bucket, digest → size of what its store now holds. */
  held: Map<string, Map<string, number>>;
}

/** Blob → the buckets that need it, in the order the walk found the blobs. */
function jobs(plans: readonly BucketPlan[]): Map<string, { blob: PlannedBlob; buckets: string[] }> {
  const byDigest = new Map<string, { blob: PlannedBlob; buckets: string[] }>();
  for (const plan of plans) {
    for (const blob of plan.copy) {
      const job = byDigest.get(blob.digest) ?? { blob, buckets: [] };
      job.buckets.push(plan.bucket);
      byDigest.set(blob.digest, job);
    }
  }
  return byDigest;
}

export async function executePlans(settings: ExecuteSettings): Promise<ExecuteResult> {
  const rows = new Map<string, SummaryRow>();
  const held = new Map<string, Map<string, number>>();
  const progress: ProgressState = { blobsDone: 0, blobsTotal: 0, bytesDone: 0, bytesTotal: 0, elapsedMs: 0 };
  for (const plan of settings.plans) {
    rows.set(plan.bucket, { bucket: plan.bucket, copied: 0, skipped: plan.present.length, bytes: 0, failed: 0 });
    held.set(plan.bucket, new Map(plan.held));
    progress.blobsTotal += plan.copy.length;
    for (const blob of plan.copy) progress.bytesTotal += blob.size;
  }
  const failures: string[] = [];
  const { reporter } = settings;
  const events: CopyEvents = {
    bytes: (count) => {
      progress.bytesDone += count;
    },
    copied: (target, blob, ms) => {
      const row = rows.get(target.bucket);
      if (row) {
        row.copied++;
        row.bytes += blob.size;
      }
      held.get(target.bucket)?.set(blob.digest, blob.size);
      progress.blobsDone++;
      reporter.event('copied', { bucket: target.bucket, digest: blob.digest, bytes: blob.size, ms });
    },
    failed: (target, blob, error) => {
      const row = rows.get(target.bucket);
      if (row) row.failed++;
      held.get(target.bucket)?.delete(blob.digest);
      progress.blobsDone++;
      failures.push(`${target.bucket}: ${blob.repository}@${blob.digest} (${blob.reference}): ${error}`);
      reporter.event('failed', { bucket: target.bucket, digest: blob.digest, repository: blob.repository, reference: blob.reference, error });
    },
    retry: (blob, attempt, waitMs, reason) => reporter.event('retry', { digest: blob.digest, attempt, wait_ms: waitMs, reason }),
  };
  const started = settings.now();
  reporter.watch(() => ({ ...progress, elapsedMs: settings.now() - started }));
  const copy = { client: settings.client, retries: settings.retries, events, sleep: settings.sleep, random: settings.random, now: settings.now };
  try {
    await forEachLimit(jobs(settings.plans).values(), settings.concurrency, async ({ blob, buckets }) => {
      const targets: CopyTarget[] = buckets.map((bucket) => ({
        bucket,
        store: settings.stores.get(bucket) as BlobStore,
        key: objectKey(settings.keyTemplate, blob.digest),
      }));
      await copyBlob(copy, blob, targets);
    });
  } finally {
    reporter.stop();
  }
  return { rows: [...rows.values()], failures, held };
}
