import type { CacheFigures } from '../cache-figures.js';
import type { BlobSigner } from '../signing/index.js';
import type { BucketConfig, Config } from '../config/types.js';

/**
 * What an existence check concluded. `unknown` means the bucket could not answer
 * (timeout, connection error, 5xx, unexpected status, skipped while unhealthy, or over the
 * in-flight bound): the caller falls back to the next candidate or the origin, and the
 * result is never cached as `absent`.
 */
export type Presence = 'present' | 'absent' | 'unknown';

/**
 * How one HEAD ended. Only `present` (2xx) and `absent` (404/403) are cached and count as the
 * bucket answering; every other outcome is a failure for the bucket's health.
 */
export type HeadOutcome =
  | 'present'
  | 'absent'
  | 'redirect'
  | 'status_4xx'
  | 'status_5xx'
  | 'status_other'
  | 'timeout'
  | 'error'
  /** A private bucket answered 403 to a signed HEAD: bad credentials, not an absent blob. */
  | 'signature_refused';

/**
 * Circuit-breaker state of one bucket: `closed` = in use, `open` = skipped until its cool-down
 * ends, `half-open` = one probe HEAD is deciding whether to close again.
 */
export type HealthState = 'closed' | 'open' | 'half-open';

export interface BucketHealthSnapshot {
  state: HealthState;
  /** Consecutive failed HEADs (reset by any answer). */
  failures: number;
}

export interface ExistenceStats {
  /** Answers served from the cache or the inventory without a HEAD. */
  hits: number;
  /** `check` calls that found nothing cached (then coalesced, sent a HEAD, skipped or overflowed). */
  misses: number;
  /** `check` calls that waited on a HEAD already in flight for the same (bucket, digest). */
  coalesced: number;
  /** Finished HEADs by outcome; every HeadOutcome key is present, starting at 0. */
  heads: Record<HeadOutcome, number>;
  /** Lookups answered `unknown`, or buckets passed over by `available`, because the bucket was open or half-open. */
  skipped: number;
  /** `check` calls answered `unknown` at once because `max_inflight` HEADs were running. */
  overflow: number;
  /** Entries in the bounded cache (inventory digests are not counted here). */
  size: number;
  /** HEADs running now. */
  inflight: number;
  /** Digests preloaded from the inventory. */
  inventory: number;
  /** Health of every bucket that has been checked, by bucket name. */
  buckets: Record<string, BucketHealthSnapshot>;
}

/**
 * Why a check answered `unknown` or a bucket was skipped, for a caller that asks (explain):
 * `ECONNREFUSED`, `timeout after 5000 ms`, `status 503`, `breaker open`, `in-flight limit: ...`.
 * Left undefined for present and absent answers.
 */
export interface CheckNote {
  cause: string | undefined;
}

export interface ExistenceChecker {
  /**
   * The cached answer for (bucket, digest) with no I/O, or undefined when only a HEAD can
   * tell. Kept synchronous so a warm-cache blob redirect costs no promise. Answers `unknown`
   * while the bucket is being skipped, and undefined once its cool-down is over so that the
   * following `check` becomes the half-open probe.
   */
  peek(bucket: BucketConfig, digest: string): Presence | undefined;
  /**
   * Whether the cache holds an answer for this digest: one the classifier admitted before, so
   * it need not run the grammar again (a bound function, handed to `classify` as is).
   */
  readonly knownDigest: (digest: string) => boolean;
  /**
   * Resolves the presence, issuing at most one HEAD per (bucket, digest) at a time. Never
   * rejects. A `note`, when given, receives the cause of an `unknown` answer.
   */
  check(bucket: BucketConfig, digest: string, note?: CheckNote): Promise<Presence>;
  /**
   * False while the bucket is in its failure cool-down or being probed: requests skip it at
   * once, and each skip counts in `stats().skipped`. A `note` receives the reason.
   */
  available(bucket: BucketConfig, note?: CheckNote): boolean;
  stats(): ExistenceStats;
  /**
   * A reload carries this checker (cache and bucket health) into its new generation: HEADs log
   * at the new generation's level and are signed with its freshly read credentials.
   */
  renew(options: Pick<ExistenceCheckerOptions, 'logger' | 'signers'>): void;
  /** Size of the answer cache, for the cache metrics. */
  cacheFigures(): CacheFigures;
  /** Closes pooled connections and timers; HEADs still running resolve `unknown`. */
  close(): Promise<void>;
}

/**
 * The slice of a logger the checker writes to. Structural on purpose: a pino logger fits
 * as is, and so does any object with these two methods.
 */
export interface Logger {
  debug(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
}

/** Called after every HEAD with its wall-clock duration, e.g. to feed a latency histogram. */
export type CheckHook = (bucketName: string, outcome: HeadOutcome, durationMs: number) => void;

/** Called when a bucket's breaker changes state (rare: never on a healthy request path). */
export type TransitionHook = (bucketName: string, from: HealthState, to: HealthState) => void;

/** What the checker asks an inventory (src/blobs/inventory-set.ts). */
export interface InventoryLookup {
  readonly size: number;
  has(bucketName: string, digest: string): boolean;
}

export interface ExistenceCheckerOptions {
  /** Object key template, `{digest}` is replaced by `algo:hex` with the colon kept literal. */
  key: string;
  check: Config['blobs']['check'];
  /**
   * Digests known to be present, answered without a HEAD and never evicted. A bare digest
   * counts for every bucket; `inventoryKey(bucketName, digest)` counts for one bucket only
   * (`loadInventory` reads a file straight into an Inventory).
   */
  inventory?: InventoryLookup | ReadonlySet<string> | readonly string[];
  /** Clock in milliseconds for TTLs and cool-downs; tests inject one. Durations use real time. */
  now?: () => number;
  logger?: Logger;
  onCheck?: CheckHook;
  onTransition?: TransitionHook;
  /** Extra request headers sent with each HEAD (the user agent, for instance). */
  headers?: Record<string, string>;
  /** Bucket name → signer: those buckets' HEADs are signed. */
  signers?: ReadonlyMap<string, BlobSigner>;
  /** Epoch ms that signatures are made at; default the real clock. */
  wallClock?: () => number;
}
