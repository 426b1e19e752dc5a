import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createInterface } from 'node:readline';
import { run, type Io } from '../../src/main.js';
import { until } from './wait.js';

export const ROOT = join(import.meta.dirname, '..', '..');
/** The built binary as it ships (the bundle `npm start` and the image run); REGISTRY_EDGE_CLI runs the binary tests against another build (an older one, to see a test fail). */
export const CLI = process.env.REGISTRY_EDGE_CLI ?? join(ROOT, 'dist', 'bundle', 'cli.js');

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

/** Runs a command in-process (the same `run` the binary calls) and captures its output. */
export async function runCli(argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Sink();
  const stderr = new Sink();
  const io: Io = { stdout, stderr, env };
  const result = await run(argv, io);
  if (!('code' in result)) {
    await result.serving.stop();
    throw new Error('runCli does not serve');
  }
  return { code: result.code, stdout: stdout.text, stderr: stderr.text };
}

export interface Spawned {
  child: ChildProcess;
  port: number;
  lines: Array<Record<string, unknown>>;
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts the built binary (with `nodeArgs` for node itself) and waits for its "listening" log line. */
export async function spawnServe(args: string[], env: NodeJS.ProcessEnv = {}, nodeArgs: string[] = []): Promise<Spawned> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first`);
  const child = spawn(process.execPath, [...nodeArgs, CLI, 'serve', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no listening line within 10 s; stderr: ${stderr}`));
    }, 10_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        lines.push(entry);
        if (entry.msg === 'listening') {
          clearTimeout(timer);
          resolve(entry.port as number);
        }
      } catch {
        lines.push({ raw: line });
      }
    });
    void exited.then((code) => reject(new Error(`exited with ${code} before listening; stderr: ${stderr}`)));
  });
  return {
    child,
    port,
    lines,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs the built binary to its end (for commands that exit, and serves that fail to start). */
export function runBinary(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 15_000): { status: number | null; stdout: string; stderr: string; ms: number } {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first`);
  const started = Date.now();
  const result = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, ...env } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, ms: Date.now() - started };
}

/** Whether a process with this pid is still running. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits until the process is gone, or fails after `timeoutMs`. */
export async function gone(pid: number, timeoutMs = 5000): Promise<void> {
  await until(`process ${pid} to exit`, () => !alive(pid), { timeoutMs });
}
