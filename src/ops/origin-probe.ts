/**
 * Background health probes of the origin replicas: `GET /v2/` every few seconds (with jitter,
 * so replicas and workers do not probe in step), 200 or 401 within the timeout counting as up.
 * After `failures` failed probes in a row a replica is down and requests skip it; one good
 * probe brings it back. Requests only read the result (OriginStates): none waits on a probe.
 */
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Logger } from '../log.js';
import type { OriginStates, PlannedOrigin } from '../routing/origin-choice.js';

/** Timers and randomness, injected so tests drive the probes with a fake clock. */
export interface ProbeTimers {
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Milliseconds, for the probe latency. */
  now(): number;
  /** In [0, 1): the jitter. */
  random(): number;
}

export const REAL_TIMERS: ProbeTimers = {
  setTimeout: (run, ms) => setTimeout(run, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  now: () => performance.now(),
  random: Math.random,
};

/** Called after every probe: the metrics feed a latency histogram from it. */
export type ProbeHook = (host: string, up: boolean, durationMs: number) => void;

export interface ProbeSettings {
  interval_ms: number;
  timeout_ms: number;
  failures: number;
}

export interface OriginProbes {
  /** Stops every timer and aborts probes in flight: a retired generation keeps nothing running. */
  stop(): void;
}

/** One probe: resolves with the failure, or undefined when the replica answered 200 or 401. */
function probeOnce(origin: PlannedOrigin, timeoutMs: number, inflight: Set<ClientRequest>): Promise<string | undefined> {
  return new Promise((resolve) => {
    const send = origin.url.startsWith('https:') ? httpsRequest : httpRequest;
    // No agent: a probe's connection closes with it, so a stopped replica is seen as stopped.
    const req = send(`${origin.url}/v2/`, { method: 'GET', agent: false, timeout: timeoutMs, headers: { 'User-Agent': 'registry-edge' } });
    inflight.add(req);
    const done = (failure: string | undefined): void => {
      inflight.delete(req);
      resolve(failure);
    };
    req.on('response', (res: IncomingMessage) => {
      res.resume();
      done(res.statusCode === 200 || res.statusCode === 401 ? undefined : `status ${res.statusCode ?? 'none'}`);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
    req.end();
  });
}

export interface ProbeOptions {
  origins: readonly PlannedOrigin[];
  states: OriginStates;
  settings: ProbeSettings;
  logger: Logger;
  onProbe?: ProbeHook;
  timers?: ProbeTimers;
}

/** Starts probing every replica; the first probe of each comes within one interval. */
export function startOriginProbes(options: ProbeOptions): OriginProbes {
  const { origins, states, settings, logger, onProbe } = options;
  const timers = options.timers ?? REAL_TIMERS;
  const handles = new Map<number, unknown>();
  const inflight = new Set<ClientRequest>();
  const failures = new Uint16Array(origins.length);
  let stopped = false;
  // ±20 % around the interval.
  const nextDelay = (): number => Math.round(settings.interval_ms * (0.8 + 0.4 * timers.random()));
  const schedule = (origin: PlannedOrigin, ms: number): void => {
    handles.set(origin.index, timers.setTimeout(() => void probe(origin), ms));
  };
  const settle = (origin: PlannedOrigin, failure: string | undefined, ms: number): void => {
    onProbe?.(origin.host, failure === undefined, ms);
    if (failure === undefined) {
      failures[origin.index] = 0;
      if (states.set(origin.index, true)) logger.info({ origin: origin.host, ms: Math.round(ms) }, 'origin replica up');
      return;
    }
    failures[origin.index] = Math.min(65535, (failures[origin.index] ?? 0) + 1);
    if ((failures[origin.index] ?? 0) >= settings.failures && states.set(origin.index, false)) {
      logger.warn({ origin: origin.host, failures: failures[origin.index], error: failure }, 'origin replica down');
    }
  };
  const probe = async (origin: PlannedOrigin): Promise<void> => {
    handles.delete(origin.index);
    const started = timers.now();
    const failure = await probeOnce(origin, settings.timeout_ms, inflight);
    if (stopped) return;
    settle(origin, failure, timers.now() - started);
    schedule(origin, nextDelay());
  };
  for (const origin of origins) schedule(origin, Math.round(settings.interval_ms * timers.random()));
  return {
    stop() {
      stopped = true;
      for (const handle of handles.values()) timers.clearTimeout(handle);
      handles.clear();
      for (const req of inflight) req.destroy();
      inflight.clear();
    },
  };
}
