import type { Worker } from 'node:cluster';
import type { RouteQuery } from '../ops/admin.js';
import type { GenerationStatus } from './readiness.js';

/**
 * The messages a --workers primary and its workers exchange over node:cluster's IPC channel.
 * The primary asks (metrics, reload, explain, memory) and waits for the answer with a deadline; a
 * worker says when it listens, when a reload changed what it serves, and why it could not start.
 */

export const CHANNEL = 'registry-edge';

export type Question = 'metrics' | 'reload' | 'explain' | 'memory';

/** Primary to worker. */
export interface QuestionMessage {
  channel: typeof CHANNEL;
  op: Question;
  id: number;
  request?: RouteQuery;
  reason?: string;
}

/** Worker to primary. */
export type WorkerMessage =
  | { channel: typeof CHANNEL; op: 'reply'; id: number; ok: boolean; value?: unknown; error?: string }
  | { channel: typeof CHANNEL; op: 'listening'; host: string; port: number; status: GenerationStatus }
  | { channel: typeof CHANNEL; op: 'status'; status: GenerationStatus }
  | { channel: typeof CHANNEL; op: 'failed'; error: string };

export type ReplyMessage = Extract<WorkerMessage, { op: 'reply' }>;

export function isChannelMessage(message: unknown): message is { channel: typeof CHANNEL; op: string } {
  return typeof message === 'object' && message !== null && (message as { channel?: unknown }).channel === CHANNEL;
}

/** Questions the primary sent that no worker has answered yet. */
export class PendingQuestions {
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (reply: ReplyMessage) => void; timer: NodeJS.Timeout }>();

  /** Resolves with the worker's reply, or with a failed one when it does not answer within `timeoutMs`. */
  ask(worker: Worker, op: Question, timeoutMs: number, extra: Pick<QuestionMessage, 'request' | 'reason'> = {}): Promise<ReplyMessage> {
    const id = this.nextId++;
    const failed = (error: string): ReplyMessage => ({ channel: CHANNEL, op: 'reply', id, ok: false, error });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        resolve(failed(`worker ${worker.process.pid} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, { resolve, timer });
      const message: QuestionMessage = { channel: CHANNEL, op, id, ...extra };
      worker.send(message, (error: Error | null) => {
        if (error === null) return;
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(failed(error.message));
      });
    });
  }

  settle(reply: ReplyMessage): void {
    const entry = this.waiting.get(reply.id);
    if (entry === undefined) return;
    clearTimeout(entry.timer);
    this.waiting.delete(reply.id);
    entry.resolve(reply);
  }
}
