import { isDeepStrictEqual } from 'node:util';
import type { ExistenceChecker, ExistenceCheckerOptions } from '../blobs/types.js';
import type { Config } from '../config/types.js';

/** What an existence checker's answers and bucket health depend on. */
export interface CheckerBasis {
  readonly key: string;
  readonly check: Config['blobs']['check'];
  /** Names, URLs and signing of every bucket: an answer is only good for the bucket that gave it. */
  readonly buckets: Config['buckets'];
  /** The loaded inventory: the same object while the file is unchanged (see DataFiles). */
  readonly inventory: ExistenceCheckerOptions['inventory'];
}

interface Share {
  readonly basis: CheckerBasis;
  /** Generations holding the checker. */
  holders: number;
}

const shares = new WeakMap<ExistenceChecker, Share>();

function sameBasis(a: CheckerBasis, b: CheckerBasis): boolean {
  return a.inventory === b.inventory && a.key === b.key && isDeepStrictEqual(a.check, b.check) && isDeepStrictEqual(a.buckets, b.buckets);
}

/**
 * The previous generation's checker when its basis did not change, so a reload keeps the warm
 * cache and the bucket health (and a no-op reload allocates no new cache); otherwise a new one.
 * A carried checker logs and signs as the new generation does.
 */
export function shareChecker(
  previous: ExistenceChecker | undefined,
  basis: CheckerBasis,
  renewal: Pick<ExistenceCheckerOptions, 'logger' | 'signers'>,
  create: () => ExistenceChecker,
): ExistenceChecker {
  const share = previous === undefined ? undefined : shares.get(previous);
  if (previous !== undefined && share !== undefined && share.holders > 0 && sameBasis(share.basis, basis)) {
    share.holders++;
    previous.renew(renewal);
    return previous;
  }
  const checker = create();
  shares.set(checker, { basis, holders: 1 });
  return checker;
}

/** A generation closes: its checker closes once no generation holds it. Resolves true when it closed. */
export async function releaseChecker(checker: ExistenceChecker): Promise<boolean> {
  const share = shares.get(checker);
  if (share !== undefined && --share.holders > 0) return false;
  await checker.close();
  return true;
}

/** Whether some generation still holds the checker (a carried one is counted once, where it is now). */
export function checkerHeld(checker: ExistenceChecker): boolean {
  return (shares.get(checker)?.holders ?? 0) > 0;
}
