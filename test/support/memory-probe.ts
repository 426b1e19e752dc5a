import { join } from 'node:path';
// @ts-expect-error bench/ is plain JavaScript without declarations
import * as amplifiers from '../../bench/lib/amplifiers.js';
import { spawnServe, type Spawned } from './cli.js';
import { flood } from './flood.js';
import { get } from './harness.js';
import { scratch, writeConfig } from './serve.js';
import { until } from './wait.js';

// The built binary under --expose-gc with a preloaded heap probe, for the memory-amplification
// tests: what they measure is retained heap, read from outside the process after forced GCs.

const PROBE = join(import.meta.dirname, 'heap-probe.mjs');
const MiB = 1024 * 1024;
const WARM_DIGEST = `sha256:${'a'.repeat(64)}`;

/**
 * What traffic leaves in the heap whatever it asks (compiled code, socket and parser pools,
 * metric series): the control case of test/hostile/memory.test.ts measures it.
 */
export const TRAFFIC_ALLOWANCE = 2 * MiB;

export type CacheFigure = 'entries' | 'bytes' | 'max_entries' | 'max_bytes';

export interface AmplifierRequest {
  path: string;
  headers?: Record<string, string>;
}

/** One memory-amplification input (bench/lib/amplifiers.js). */
export interface Amplifier {
  name: string;
  fills: string;
  caches: string[];
  filled: string[];
  requests: number;
  extraBoundBytes?: number;
  holdsEveryBlob?: boolean;
  env?: Record<string, string>;
  config(bucketUrl: string): Record<string, unknown>;
  next(i: number): AmplifierRequest;
}

export const AMPLIFIERS = amplifiers.AMPLIFIERS as Amplifier[];
export const chain14k = amplifiers.chain14k as (i: number) => string;

export interface ProbedEdge {
  url: string;
  admin: string;
  /** Heap used after garbage collection until it stops shrinking. */
  retainedHeap(): Promise<number>;
  /** The retained heap after 500 identical requests (JIT, connections, the one existence answer). */
  warmedHeap(): Promise<number>;
  /** `registry_edge_cache_<what>{cache}` as the admin listener exports it now. */
  figure(what: CacheFigure, cache: string): Promise<number>;
  stop(): Promise<void>;
}

/** Serves one bucket `lab` for loopback and 10/8 clients behind one trusted proxy, as the memory tests want. */
export async function startProbedEdge(bucketUrl: string, extra: Record<string, unknown>, env: Record<string, string> = {}): Promise<ProbedEdge> {
  const dir = scratch('registry-edge-memory-');
  const file = writeConfig(join(dir.path, 'memory.yaml'), {
    origin: { url: 'https://origin.example' },
    log: { level: 'error' },
    client_ip: { trusted_hops: 1 },
    limits: { per_ip_rps: 100_000, max_clients: 12_000 },
    buckets: [{ name: 'lab', url: bucketUrl, networks: ['10.0.0.0/8', '127.0.0.0/8'] }],
    ...extra,
  });
  let edge: Spawned;
  try {
    edge = await spawnServe(['--config', file], env, ['--expose-gc', '--import', PROBE]);
  } catch (error) {
    dir.cleanup();
    throw error;
  }
  const url = `http://127.0.0.1:${edge.port}`;
  const listening = edge.lines.find((line) => line.msg === 'listening');
  const admin = `http://127.0.0.1:${listening?.admin_port as number}`;
  const retainedHeap = async (): Promise<number> => {
    const before = edge.lines.length;
    edge.child.kill('SIGUSR2');
    const line = await until('the heap probe line', () => edge.lines.slice(before).find((l) => l.msg === 'heap probe'));
    return line.heapUsed as number;
  };
  return {
    url,
    admin,
    retainedHeap,
    async warmedHeap() {
      await flood(url, { amount: 500, connections: 16, next: () => ({ path: `/v2/lab/blobs/${WARM_DIGEST}`, headers: { 'X-Forwarded-For': '10.1.2.3' } }) });
      return retainedHeap();
    },
    async figure(what, cache) {
      const text = (await get(admin, '/metrics')).body;
      const match = new RegExp(`^registry_edge_cache_${what}\\{cache="${cache}"\\} (\\S+)$`, 'm').exec(text);
      if (match === null) throw new Error(`registry_edge_cache_${what}{cache="${cache}"} is not exported`);
      return Number(match[1]);
    },
    async stop() {
      await edge.stop('SIGKILL');
      dir.cleanup();
    },
  };
}
