/**
 * Copies one blob from the origin to every bucket that lacks it: one GET, its bytes checked
 * by the digest guard on the way, fanned out to the stores. A transient failure (a reset, a
 * truncated or corrupted body) is tried again for the stores that did not get the blob.
 */
import { pipeline } from 'node:stream';
import type { RegistryClient } from '../registry-client/client.js';
import { isTransientError, retryDelayMs, TransientError } from '../registry-client/retry.js';
import { RegistryError } from '../registry-client/session.js';
import { fanOut } from './fanout.js';
import { DigestGuard, DigestMismatchError } from './guard.js';
import type { BlobStore } from './stores/index.js';
import type { PlannedBlob } from './walk.js';

export interface CopyTarget {
  bucket: string;
  store: BlobStore;
  key: string;
}

export interface CopyEvents {
  /** Bytes written (once per store receiving them); negative when an attempt is undone. */
  bytes(count: number): void;
  copied(target: CopyTarget, blob: PlannedBlob, ms: number): void;
  failed(target: CopyTarget, blob: PlannedBlob, error: string): void;
  retry(blob: PlannedBlob, attempt: number, waitMs: number, reason: string): void;
}

/** Time and chance, injected so tests never wait on the real clock. */
export interface Pacing {
  sleep: (ms: number) => Promise<void>;
  random: () => number;
  now: () => number;
}

export interface CopySettings extends Pacing {
  client: RegistryClient;
  retries: number;
  events: CopyEvents;
}

/** Worth another attempt: the next GET may well bring the right bytes. */
export function retryableCopyError(error: unknown): boolean {
  if (error instanceof DigestMismatchError || error instanceof TransientError || isTransientError(error)) return true;
  if (error instanceof RegistryError) return error.status !== undefined && (error.status >= 500 || error.status === 429);
  const message = (error as Error | undefined)?.message ?? '';
  return message === 'aborted' || /premature close|socket hang up/i.test(message);
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One attempt at the targets; the errors by target (undefined = copied). */
async function attempt(settings: CopySettings, blob: PlannedBlob, targets: readonly CopyTarget[]): Promise<Array<Error | undefined>> {
  let sent = 0;
  try {
    const body = await settings.client.openBlob(blob.repository, blob.digest);
    const guard = new DigestGuard(blob.digest, blob.size, (count) => {
      sent += count * targets.length;
      settings.events.bytes(count * targets.length);
    });
    pipeline(body, guard, () => undefined);
    const errors = await fanOut(guard, targets.map((target) => (stream) => target.store.put(target.key, stream, blob)));
    const failedShare = errors.filter((error) => error !== undefined).length / targets.length;
    if (failedShare > 0) settings.events.bytes(-Math.round(sent * failedShare));
    return errors;
  } catch (error) {
    settings.events.bytes(-sent);
    return targets.map(() => error as Error);
  }
}

export async function copyBlob(settings: CopySettings, blob: PlannedBlob, targets: readonly CopyTarget[]): Promise<void> {
  let pending = [...targets];
  for (let round = 0; pending.length > 0; round++) {
    const started = settings.now();
    const errors = await attempt(settings, blob, pending);
    const again: CopyTarget[] = [];
    let reason = '';
    pending.forEach((target, index) => {
      const error = errors[index];
      if (error === undefined) settings.events.copied(target, blob, settings.now() - started);
      else if (round < settings.retries && retryableCopyError(error)) {
        again.push(target);
        reason = describe(error);
      } else settings.events.failed(target, blob, describe(error));
    });
    if (again.length > 0) {
      const waitMs = retryDelayMs(round, settings.random());
      settings.events.retry(blob, round + 1, waitMs, reason);
      await settings.sleep(waitMs);
    }
    pending = again;
  }
}
