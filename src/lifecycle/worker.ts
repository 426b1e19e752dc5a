import cluster from 'node:cluster';
import type { RouteQuery } from '../ops/admin.js';
import type { ReloadReport } from '../ops/reload.js';
import { CHANNEL, isChannelMessage, type QuestionMessage, type WorkerMessage } from './channel.js';

export const isClusterWorker = (): boolean => cluster.isWorker;

/** A worker message without the channel mark, which tellPrimary adds. */
type Outgoing<M = WorkerMessage> = M extends WorkerMessage ? Omit<M, 'channel'> : never;

/** Sends a message to the primary; `then` runs once it is written (or at once without a primary). */
export function tellPrimary(message: Outgoing, then?: () => void): void {
  if (!process.connected || process.send === undefined) {
    then?.();
    return;
  }
  process.send({ channel: CHANNEL, ...message }, undefined, undefined, () => then?.());
}

/** What a worker answers the primary with. */
export interface WorkerEndpoints {
  metricsJson(): Promise<unknown>;
  reload(reason: string): Promise<ReloadReport>;
  explain(request: RouteQuery): Promise<unknown>;
  memory(): Promise<unknown>;
}

function answer(endpoints: WorkerEndpoints, op: QuestionMessage['op'], request: RouteQuery | undefined, reason: string | undefined): Promise<unknown> {
  if (op === 'metrics') return endpoints.metricsJson();
  if (op === 'reload') return endpoints.reload(`${reason ?? 'reload'} (primary)`);
  if (op === 'memory') return endpoints.memory();
  return endpoints.explain(request as RouteQuery);
}

/** In a worker: answer the primary's questions from now on. */
export function answerPrimary(endpoints: WorkerEndpoints): void {
  process.on('message', (message: unknown) => {
    if (!isChannelMessage(message) || message.op === 'reply') return;
    const { id, op, request, reason } = message as QuestionMessage;
    const work = answer(endpoints, op, request, reason);
    work.then(
      (value) => tellPrimary({ op: 'reply', id, ok: true, value }),
      (error: unknown) => tellPrimary({ op: 'reply', id, ok: false, error: error instanceof Error ? error.message : String(error) }),
    );
  });
}

/**
 * A worker that cannot start tells the primary why and lets go of the channel: the primary
 * prints the reason once for all its workers, and this process then exits on its own.
 */
export function reportFailure(error: string): Promise<void> {
  return new Promise((resolve) =>
    tellPrimary({ op: 'failed', error }, () => {
      if (process.connected) process.disconnect();
      resolve();
    }),
  );
}
