/**
 * Child processes owned by the suite. Every process started here is remembered by PID and
 * killed on normal teardown and again from a process 'exit' hook, so a failed assertion or a
 * crashed worker never leaves a registry, nginx or front door running.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { rmSync } from 'node:fs';
import { freePort } from '../ports.js';

const owned = new Set<ChildProcess>();
const scratchDirs = new Set<string>();

/** A temp dir removed on process exit unless `forgetScratchDir` is called after a normal cleanup. */
export function registerScratchDir(dir: string): void {
  scratchDirs.add(dir);
}

export function forgetScratchDir(dir: string): void {
  scratchDirs.delete(dir);
}

function killOwned(): void {
  for (const child of owned) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // Already gone between the check and the kill.
      }
    }
  }
  for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
}

process.once('exit', killOwned);
// Node does not emit 'exit' when a signal terminates it, so the runner stopping this worker
// (or a CI timeout) would otherwise orphan the servers.
for (const [signal, number] of [['SIGTERM', 15], ['SIGHUP', 1]] as const) {
  process.once(signal, () => {
    killOwned();
    process.exit(128 + number);
  });
}

export class ManagedProcess {
  readonly child: ChildProcess;
  readonly output: string[] = [];
  readonly stdoutLines: string[] = [];
  private readonly exited: Promise<void>;
  private readonly lineWaiters = new Set<() => void>();

  constructor(readonly label: string, command: string, args: string[], options: SpawnOptions = {}) {
    this.child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    owned.add(this.child);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', () => {
        owned.delete(this.child);
        this.notify();
        resolve();
      });
      this.child.once('error', (error) => {
        this.output.push(`[spawn error] ${error.message}`);
        owned.delete(this.child);
        this.notify();
        resolve();
      });
    });
    this.collect(this.child.stdout, this.stdoutLines);
    this.collect(this.child.stderr);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && owned.has(this.child);
  }

  private collect(stream: NodeJS.ReadableStream | null, also?: string[]): void {
    if (!stream) return;
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const pieces = (partial + chunk).split('\n');
      partial = pieces.pop() ?? '';
      for (const line of pieces) {
        this.output.push(line);
        also?.push(line);
      }
      this.notify();
    });
  }

  private notify(): void {
    for (const wake of this.lineWaiters) wake();
  }

  /** The last lines of combined output, for failure messages. */
  tail(lines = 30): string {
    return this.output.slice(-lines).join('\n');
  }

  /** Resolves with the first stdout line accepted by `matches`; rejects if the process exits first. */
  async waitForStdoutLine(matches: (line: string) => boolean, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      let seen = 0;
      const timer = setTimeout(() => finish(new Error(`${this.label}: no matching output within ${timeoutMs} ms\n${this.tail()}`)), timeoutMs);
      const finish = (error: Error | null, line?: string): void => {
        clearTimeout(timer);
        this.lineWaiters.delete(check);
        if (error) reject(error);
        else resolve(line ?? '');
      };
      const check = (): void => {
        for (; seen < this.stdoutLines.length; seen += 1) {
          const line = this.stdoutLines[seen] ?? '';
          if (matches(line)) return finish(null, line);
        }
        if (!this.running) finish(new Error(`${this.label} exited (code ${this.child.exitCode}, signal ${this.child.signalCode}) before it was ready\n${this.tail()}`));
      };
      this.lineWaiters.add(check);
      check();
    });
  }

  /** Polls `probe` until it returns true; rejects early if the process dies. */
  async waitUntil(probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new Error(`${this.label} exited (code ${this.child.exitCode}, signal ${this.child.signalCode}) before it was ready\n${this.tail()}`);
      }
      if (await probe().catch(() => false)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`${this.label}: not ready within ${timeoutMs} ms\n${this.tail()}`);
  }

  /** SIGTERM, then SIGKILL if the process ignores it. */
  async stop(graceMs = 3000): Promise<void> {
    if (!this.running || this.pid === undefined) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => {
      if (this.running) this.child.kill('SIGKILL');
    }, graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * Starts a server on a port picked by `freePort`, retrying with a new port when the
 * server dies because another process took the port in between.
 */
export async function startOnFreePort<T>(start: (port: number) => Promise<T>, attempts = 5): Promise<T> {
  let lastError: unknown;
  for (let attempt = 0; attempt < attempts; attempt += 1) {
    const port = await freePort();
    try {
      return await start(port);
    } catch (error) {
      lastError = error;
      if (!/address already in use|EADDRINUSE/i.test(String(error))) throw error;
    }
  }
  throw lastError;
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
}

/** Runs a short-lived command to completion (tracked like servers, so it is killed on exit). */
export async function runCommand(
  command: string,
  args: string[],
  options: SpawnOptions & { input?: Buffer } = {},
  timeoutMs = 90_000,
): Promise<CommandResult> {
  const started = Date.now();
  const { input, ...spawnOptions } = options;
  const child = spawn(command, args, { ...spawnOptions, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  owned.add(child);
  if (input !== undefined) {
    // A child that exits early closes the pipe; its exit code tells the story, not EPIPE.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input);
  }
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => {
    child.once('error', (error) => {
      stderr.push(Buffer.from(`[spawn error] ${error.message}`));
      resolve(null);
    });
    child.once('close', (exitCode) => resolve(exitCode));
  });
  clearTimeout(timer);
  owned.delete(child);
  return {
    code,
    stdout: Buffer.concat(stdout).toString('utf8'),
    stderr: Buffer.concat(stderr).toString('utf8'),
    durationMs: Date.now() - started,
  };
}
