/**
 * The hashing thread: digests of large blobs computed beside the main thread. Sync's main
 * thread parses the origin's responses and feeds the stores; hashing every byte there as well
 * made it the bottleneck of a copy (issue 14's bench: 0.7 s of its ~2.2 s per GiB). Batches
 * travel by transfer: the main thread hands a filled batch buffer over, the thread hashes it
 * and hands the same memory back, in order, to be filled again.
 */
import { Worker } from 'node:worker_threads';

export type ToHasher =
  | { kind: 'open'; id: number; algorithm: string }
  | { kind: 'data'; id: number; batch: ArrayBuffer; length: number }
  | { kind: 'finish'; id: number }
  | { kind: 'drop'; id: number };

export type FromHasher = { id: number; batch: ArrayBuffer; length: number } | { id: number; hex: string } | { id: number; error: string };

interface Port {
  on(event: 'message', listener: (message: ToHasher) => void): unknown;
  postMessage(message: FromHasher, transfer?: ArrayBuffer[]): void;
}

/**
 * The worker's side. Self-contained (it is sent to the worker as source text, so a bundled
 * build needs no separate file): everything it uses arrives as an argument.
 */
export function serveHashes(port: Port, makeHash: (algorithm: string) => { update(data: Uint8Array): unknown; digest(encoding: 'hex'): string }): void {
  const open = new Map<number, ReturnType<typeof makeHash>>();
  port.on('message', (message) => {
    if (message.kind === 'open') {
      try {
        open.set(message.id, makeHash(message.algorithm));
      } catch (error) {
        port.postMessage({ id: message.id, error: String(error) });
      }
      return;
    }
    const hash = open.get(message.id);
    if (message.kind === 'data') {
      // Handed back even for a dropped blob: the main thread reuses the memory.
      hash?.update(new Uint8Array(message.batch, 0, message.length));
      port.postMessage({ id: message.id, batch: message.batch, length: message.length }, [message.batch]);
      return;
    }
    open.delete(message.id);
    if (message.kind === 'finish' && hash !== undefined) port.postMessage({ id: message.id, hex: hash.digest('hex') });
  });
}

const WORKER_SOURCE = `const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
(${serveHashes.toString()})(parentPort, createHash);`;

/** What a transport to the hashing side needs: tests can serve it on a MessageChannel. */
export interface HasherLink {
  post(message: ToHasher, transfer?: ArrayBuffer[]): void;
  /** Called with every answer; `failed` when the hashing side is gone. */
  listen(answer: (message: FromHasher) => void, failed: (error: Error) => void): void;
  /** Whether the link may keep the process alive (only while a blob waits on it). */
  hold(held: boolean): void;
}

/** The worker thread, started on first use and replaced if it ever dies. */
export function workerLink(): HasherLink {
  let worker: Worker | undefined;
  let onAnswer: (message: FromHasher) => void = () => undefined;
  let onFailure: (error: Error) => void = () => undefined;
  const started = (): Worker => {
    if (worker !== undefined) return worker;
    const thread = new Worker(WORKER_SOURCE, { eval: true });
    const lost = (error: Error): void => {
      if (worker === thread) worker = undefined;
      onFailure(error);
    };
    thread.on('message', (message: FromHasher) => onAnswer(message));
    thread.once('error', lost);
    thread.once('exit', (code) => lost(new Error(`the hashing thread exited (${code})`)));
    thread.unref();
    worker = thread;
    return thread;
  };
  return {
    post: (message, transfer) => started().postMessage(message, transfer),
    listen: (answer, failed) => {
      onAnswer = answer;
      onFailure = failed;
    },
    hold: (held) => {
      if (held) started().ref();
      else worker?.unref();
    },
  };
}
