// Processes the bench starts and watches: servers pinned to one core, the load generator to
// another, and /proc readings of a server's CPU time and peak memory.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';
import process from 'node:process';

/** @returns {boolean} */
export function tasksetAvailable() {
  return spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' }).status === 0;
}

/** @returns {number} */
export function clockTicksPerSecond() {
  const out = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const value = Number(out.stdout?.trim());
  return Number.isFinite(value) && value > 0 ? value : 100;
}

/** CPU time (user+system, in clock ticks) a process has used so far, or undefined. @param {number} pid */
export function cpuTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself contain spaces or parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return undefined;
  }
}

/** A /proc/<pid>/status memory line (VmHWM, VmRSS) in kB, or undefined. @param {number} pid @param {string} field */
export function memoryKb(pid, field) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** An ephemeral loopback port that was free a moment ago. */
export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise((resolve) => server.close(() => resolve(undefined)));
  return port;
}

/**
 * Spawns COMMAND pinned to CORE when possible. stdout goes to STDOUTFILE when given (a server's
 * log lines written to a file, as users run it), else it is parsed for the
 * `"msg":"listening"` line; everything else is kept (last lines only) for error messages.
 * @param {{ command: string, args: string[], core: number | undefined, env?: NodeJS.ProcessEnv, stdoutFile?: string }} spec
 */
export function spawnPinned(spec) {
  const pin = spec.core !== undefined;
  const file = pin ? 'taskset' : spec.command;
  const args = pin ? ['-c', String(spec.core), spec.command, ...spec.args] : spec.args;
  const out = spec.stdoutFile === undefined ? 'pipe' : openSync(spec.stdoutFile, 'a');
  const child = spawn(file, args, { stdio: ['ignore', out, 'pipe'], env: spec.env ?? process.env });
  if (typeof out === 'number') closeSync(out);
  /** @type {string[]} */
  const tail = [];
  /** @type {((info: { host?: string, port?: number }) => void)[]} */
  const listeners = [];
  let buffered = '';
  const keep = (/** @type {string} */ line) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
  };
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (/** @type {string} */ chunk) => {
    buffered += chunk;
    let newline;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      if (line.includes('"listening"')) {
        try {
          const info = JSON.parse(line);
          for (const listener of listeners.splice(0)) listener(info);
        } catch {
          keep(line);
        }
      } else {
        keep(line);
      }
    }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (/** @type {string} */ chunk) => {
    for (const line of chunk.split('\n')) if (line) keep(line);
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    pid: /** @type {number} */ (child.pid),
    exited,
    output: () => tail.join('\n'),
    onListening: (/** @type {(info: { host?: string, port?: number }) => void} */ listener) => listeners.push(listener),
  };
}

/** @typedef {ReturnType<typeof spawnPinned>} Spawned */

/** One GET, with no redirect following. @param {string} url @param {Record<string, string>} [headers] @param {number} [timeoutMs] */
export function fetchOnce(url, headers = {}, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const request = url.startsWith('https:') ? httpsRequest : httpRequest;
    const req = request(url, { method: 'GET', headers: { connection: 'close', ...headers }, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (error) => resolve({ status: 0, location: undefined, error: String(error.message) }));
    req.end();
  });
}

/**
 * Starts a server process and resolves once GET /v2/ gets a ready answer (200, or any answer
 * when `anyStatus`: the baseline redirects everything), with the time from spawn to that
 * answer. The port comes from the listening line when the server prints one, else from PORT
 * given up front (registry-edge logs nothing at level warn).
 * onSpawn: gets the process at once, so an interrupted start-up can still be stopped.
 * @param {{ command: string, args: string[], core: number | undefined, port: number, anyStatus?: boolean, timeoutMs?: number, env?: NodeJS.ProcessEnv, stdoutFile?: string, onSpawn?: (spawned: Spawned) => void }} spec
 */
export async function startServer(spec) {
  const started = performance.now();
  const spawned = spawnPinned(spec);
  spec.onSpawn?.(spawned);
  let port = spec.port;
  let host = '127.0.0.1';
  let wake = () => {};
  spawned.onListening((info) => {
    if (typeof info.port === 'number' && info.port > 0) port = info.port;
    if (typeof info.host === 'string' && info.host && info.host !== '0.0.0.0' && info.host !== '::') host = info.host;
    wake();
  });
  let exited = false;
  spawned.exited.then(() => {
    exited = true;
    wake();
  });
  const deadline = started + (spec.timeoutMs ?? 15_000);
  while (performance.now() < deadline && !exited) {
    if (port > 0) {
      const answer = /** @type {{ status: number }} */ (await fetchOnce(`http://${host.includes(':') ? `[${host}]` : host}:${port}/v2/`, {}, 1000));
      if (answer.status === 200 || (spec.anyStatus && answer.status > 0)) {
        return { spawned, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, startupMs: performance.now() - started, firstStatus: answer.status };
      }
    }
    // Poll every few ms, but answer at once when the listening line arrives.
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, 2);
      wake = () => {
        clearTimeout(timer);
        resolve(undefined);
      };
    });
  }
  const why = exited ? `exited (${JSON.stringify(await spawned.exited)})` : `did not answer GET /v2/ within ${spec.timeoutMs ?? 15_000} ms`;
  await stopProcess(spawned);
  throw new Error(`${spec.command} ${spec.args.join(' ')} ${why}:\n${spawned.output()}`);
}

/** The version a node binary reports (`v20.19.2`), or undefined when it does not run. @param {string} path */
export function nodeVersion(path) {
  const out = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 20_000 });
  const version = out.status === 0 ? out.stdout.trim() : '';
  return /^v\d+\.\d+\.\d+/.test(version) ? version : undefined;
}

/** Pins this process (the bench itself: bucket server, bookkeeping) to CORE. @param {number} core */
export function pinSelf(core) {
  return spawnSync('taskset', ['-cp', String(core), String(process.pid)], { stdio: 'ignore' }).status === 0;
}

/** SIGTERM, then SIGKILL if it lingers. Only ever called on processes this bench spawned. @param {Spawned} spawned */
export async function stopProcess(spawned) {
  if (spawned.child.exitCode !== null || spawned.child.signalCode !== null) return;
  spawned.child.kill('SIGTERM');
  const timer = setTimeout(() => spawned.child.kill('SIGKILL'), 3000);
  await spawned.exited;
  clearTimeout(timer);
}
