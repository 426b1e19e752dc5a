import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { stringify } from 'yaml';
import { serveArgs, serveHere, type InProcessOptions, type ServeHandle } from '../../src/commands/serve.js';
import { createLogger } from '../../src/log.js';
import { get, LogCapture } from './harness.js';
import { freePortSync } from './ports.js';

/** A scratch directory for config and data files, removed by `cleanup`. */
export function scratch(prefix = 'registry-edge-ops-'): { path: string; file(name: string, text: string): string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return {
    path,
    file(name, text) {
      const target = join(path, name);
      writeFileSync(target, text);
      return target;
    },
    cleanup: () => rmSync(path, { recursive: true, force: true }),
  };
}

/** Loopback listeners on free ports and no geo data unless a test names some. */
export function configDoc(doc: Record<string, unknown>): Record<string, unknown> {
  return {
    listen: { host: '127.0.0.1', port: 0, shutdown_timeout_ms: 1000 },
    admin: { host: '127.0.0.1', port: freePortSync() },
    geo: { ranges: '/nonexistent/cloud-ranges.mmdb' },
    ...doc,
  };
}

const adminPorts = new Map<string, number>();

/** Rewriting a file keeps its admin port: a changed port would (rightly) need a restart. */
export function writeConfig(path: string, doc: Record<string, unknown>): string {
  const full = configDoc(doc);
  const admin = full.admin as { port: number };
  admin.port = adminPorts.get(path) ?? admin.port;
  adminPorts.set(path, admin.port);
  writeFileSync(path, stringify(full));
  return path;
}

class Discard extends Writable {
  override _write(_chunk: Buffer, _enc: string, done: () => void): void {
    done();
  }
}

export interface Served {
  handle: ServeHandle;
  url: string;
  admin: string;
  logs: LogCapture;
  stop(): Promise<void>;
}

/**
 * Runs `registry-edge serve --config FILE` in-process (the same code the binary runs), with
 * the clocks and the feed download a test may replace.
 */
export async function startServe(
  configFile: string,
  level: 'info' | 'debug' | 'warn' = 'info',
  options: Omit<InProcessOptions, 'logger'> = {},
  serve: { args?: string[]; requireAdmin?: boolean } = {},
): Promise<Served> {
  const logs = new LogCapture();
  const io = { stdout: new Discard(), stderr: new Discard(), env: {} };
  const handle = await serveHere(serveArgs(['--config', configFile, ...(serve.args ?? [])]), io, { ...options, logger: createLogger(level, logs) });
  if (handle.adminPort === undefined && serve.requireAdmin !== false) {
    await handle.stop();
    throw new Error('admin listener is off');
  }
  return {
    handle,
    url: `http://127.0.0.1:${handle.running.port}`,
    admin: `http://127.0.0.1:${handle.adminPort}`,
    logs,
    stop: () => handle.stop(),
  };
}

export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (the subset prom-client writes). */
export function parseMetrics(text: string): MetricSample[] {
  const samples: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`unparsable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1] as string] = pair[2] as string;
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

export async function scrape(adminUrl: string): Promise<MetricSample[]> {
  const res = await get(adminUrl, '/metrics');
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${res.body}`);
  return parseMetrics(res.body);
}

/** Sum of the samples called `name` whose labels include `labels`. */
export function value(samples: MetricSample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

export function has(samples: MetricSample[], name: string, labels: Record<string, string> = {}): boolean {
  return samples.some((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

export async function post(base: string, path: string): Promise<{ status: number; body: string }> {
  const res = await get(base, path, { method: 'POST' });
  return { status: res.status, body: res.body };
}

/** A small AWS-format feed: enough for `geo update --from` to compile a ranges MMDB. */
export function awsFeed(createDate = '2026-01-01-00-00-00'): string {
  return JSON.stringify({
    syncToken: '1',
    createDate,
    prefixes: [
      { ip_prefix: '15.188.0.0/16', region: 'eu-west-3', service: 'EC2', network_border_group: 'eu-west-3' },
      { ip_prefix: '3.5.140.0/22', region: 'ap-northeast-2', service: 'AMAZON', network_border_group: 'ap-northeast-2' },
    ],
    ipv6_prefixes: [{ ipv6_prefix: '2a05:d012::/40', region: 'eu-west-3', service: 'EC2', network_border_group: 'eu-west-3' }],
  });
}
