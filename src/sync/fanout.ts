/**
 * One origin body feeding several stores: each store reads its own branch, the source
 * pauses while any live branch is full (backpressure, memory flat), and a store that fails
 * is cut off without stopping the others.
 */
import { PassThrough, type Readable } from 'node:stream';

export type Consumer = (body: Readable) => Promise<void>;

const BRANCH_BUFFER = 1024 * 1024;

/** Feeds `source` to every consumer; per consumer, undefined on success or the error it met. */
export async function fanOut(source: Readable, consumers: readonly Consumer[]): Promise<Array<Error | undefined>> {
  let sourceError: Error | undefined;
  source.once('error', (error: Error) => {
    sourceError = error;
  });
  const settle = async (run: Promise<void>): Promise<Error | undefined> => {
    try {
      await run;
      return sourceError;
    } catch (error) {
      return sourceError ?? (error as Error);
    }
  };
  if (consumers.length === 1 && consumers[0] !== undefined) {
    // A store that fails before reading everything must not leave the origin response open.
    return [await settle(consumers[0](source).catch((error: unknown) => {
      source.destroy();
      throw error;
    }))];
  }

  const branches = consumers.map(() => new PassThrough({ highWaterMark: BRANCH_BUFFER }));
  const alive = new Set(branches);
  /** Branches the source waits on; a branch that dies while full must stop being waited on. */
  const full = new Set<PassThrough>();
  const runs = consumers.map((consume, index) => {
    const branch = branches[index] as PassThrough;
    return consume(branch).catch((error: unknown) => {
      alive.delete(branch);
      branch.destroy();
      if (alive.size === 0) source.destroy(error as Error);
      else release(branch);
      throw error;
    });
  });
  const release = (branch: PassThrough): void => {
    if (full.delete(branch) && full.size === 0) source.resume();
  };
  source.on('data', (chunk: Buffer) => {
    for (const branch of alive) {
      if (!branch.write(chunk) && !full.has(branch)) {
        full.add(branch);
        branch.once('drain', () => release(branch));
      }
    }
    if (full.size > 0) source.pause();
  });
  source.once('end', () => {
    for (const branch of alive) branch.end();
  });
  source.once('error', (error: Error) => {
    for (const branch of alive) branch.destroy(error);
  });
  return Promise.all(runs.map(settle));
}
