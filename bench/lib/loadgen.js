// Parent side of the load generator: one long-lived child (pinned to its own core), so the
// generator's JIT is warm and its start-up never lands inside a measured round.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import process from 'node:process';

const CHILD = fileURLToPath(new URL('./load-child.js', import.meta.url));

/** @param {{ core: number | undefined }} options */
export function startLoadGenerator({ core }) {
  const file = core !== undefined ? 'taskset' : process.execPath;
  const args = core !== undefined ? ['-c', String(core), process.execPath, CHILD] : [CHILD];
  const child = spawn(file, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let nextId = 1;
  /** @type {Map<number, { resolve: (value: any) => void, reject: (error: Error) => void }>} */
  const pending = new Map();
  child.on('message', (/** @type {any} */ message) => {
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.error) waiter.reject(new Error(message.error));
    else waiter.resolve(message.result);
  });
  child.on('exit', (code, signal) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`load generator exited (${code ?? signal})`));
    pending.clear();
  });
  return {
    pid: child.pid,
    /**
     * @param {{ url: string, connections: number, duration: number, requests: import('./scenarios.js').BenchRequest[], rotate: boolean }} job
     * @returns {Promise<any>}
     */
    run(job) {
      const id = nextId;
      nextId += 1;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send({ ...job, id });
      });
    },
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}
