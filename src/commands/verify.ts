import { parseVerifyArgs } from '../sync/args.js';
import { runVerify } from '../sync/verify.js';
import type { Io } from './common.js';
import { syncLikeCommand } from './sync.js';

export const usage = `  registry-edge verify [--config FILE] [--bucket NAME...] [--deep] [--json]
      Check that every blobs.inventory entry is in its bucket's store: with the right size
      (--deep: re-hash it); stale or corrupt objects are named and the exit status is 1.
`;

export function verifyCommand(args: string[], io: Io): Promise<number> {
  return syncLikeCommand(args, io, usage, parseVerifyArgs, runVerify);
}
