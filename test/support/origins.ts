import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ProbeTimers } from '../../src/ops/origin-probe.js';

/**
 * A local stand-in for one origin replica: answers the `/v2/` probe and every manifest with 200,
 * and records the paths it served (its access log). It can be stopped and started again on the
 * same port, as a regional outage and its end.
 */
export interface LocalOrigin {
  readonly name: string;
  readonly url: string;
  readonly host: string;
  readonly served: string[];
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startLocalOrigin(name: string): Promise<LocalOrigin> {
  const served: string[] = [];
  let server: http.Server | undefined;
  let port = 0;
  const start = async (): Promise<void> => {
    const next = http.createServer((req, res) => {
      served.push(req.url ?? '');
      res.writeHead(200, { 'Content-Type': 'application/json', 'Docker-Distribution-Api-Version': 'registry/2.0' });
      res.end('{}');
    });
    await new Promise<void>((resolve, reject) => {
      next.once('error', reject);
      next.listen(port, '127.0.0.1', () => resolve());
    });
    port = (next.address() as AddressInfo).port;
    server = next;
  };
  await start();
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    served,
    start,
    async stop() {
      const running = server;
      server = undefined;
      if (running === undefined) return;
      running.closeAllConnections();
      await new Promise<void>((resolve) => running.close(() => resolve()));
    },
  };
}

/**
 * Probe timers a test drives: nothing runs until `round()`, which fires every due probe and
 * waits until each has settled and scheduled its next one. No real-clock sleep.
 */
export class ManualProbeTimers implements ProbeTimers {
  private pending = new Map<number, () => void>();
  private nextId = 1;
  private clock = 0;

  setTimeout(run: () => void, _ms: number): unknown {
    const id = this.nextId++;
    this.pending.set(id, run);
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  now(): number {
    return this.clock;
  }

  random(): number {
    return 0.5;
  }

  get scheduled(): number {
    return this.pending.size;
  }

  /** Starts every due probe at once, without waiting for any; returns how many. */
  fire(): number {
    const due = [...this.pending.values()];
    this.pending.clear();
    this.clock += 5;
    for (const run of due) run();
    return due.length;
  }

  /** Runs one probe of every replica and resolves once all of them have settled. */
  async round(): Promise<void> {
    const expected = this.fire();
    const deadline = Date.now() + 10_000;
    while (this.pending.size < expected) {
      if (Date.now() > deadline) throw new Error(`probes did not settle: ${this.pending.size} of ${expected} rescheduled`);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
