import { Writable } from 'node:stream';
import { validateConfig } from '../../src/config/load.js';
import { createLogger, type Logger } from '../../src/log.js';
import { buildRuntime } from '../../src/server/build.js';
import { RuntimeHolder } from '../../src/server/runtime.js';
import { startServer, type RunningServer } from '../../src/server/serve.js';
import type { AppHooks } from '../../src/server/app.js';
import type { ProbeHook, ProbeTimers } from '../../src/ops/origin-probe.js';

/** Collects a logger's JSON lines so tests can assert on what operators would read. */
export class LogCapture extends Writable {
  readonly lines: Array<Record<string, unknown>> = [];
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') this.lines.push(JSON.parse(line));
    done();
  }
  messages(msg: string): Array<Record<string, unknown>> {
    return this.lines.filter((l) => l.msg === msg);
  }
}

export interface EdgeUnderTest {
  url: string;
  port: number;
  running: RunningServer;
  holder: RuntimeHolder;
  logs: LogCapture;
  logger: Logger;
  close(): Promise<void>;
}

/** Starts the real public server in-process on an ephemeral loopback port. */
export async function startEdge(
  doc: Record<string, unknown>,
  options: { now?: () => number; limiterClock?: () => number; hooks?: AppHooks; probeTimers?: ProbeTimers; onProbe?: ProbeHook } = {},
): Promise<EdgeUnderTest> {
  // No geo data unless a test names some: results must not depend on what `geo update` left behind.
  const merged = { listen: { host: '127.0.0.1', port: 0 }, admin: { port: 0 }, geo: { ranges: '/nonexistent/cloud-ranges.mmdb' }, ...doc };
  const config = validateConfig(merged, 'test');
  const logs = new LogCapture();
  const logger = createLogger(config.log.level, logs);
  const holder = new RuntimeHolder(await buildRuntime({ config, source: 'test' }, logger, { now: options.now, limiterClock: options.limiterClock, probeTimers: options.probeTimers, onProbe: options.onProbe }));
  const running = await startServer(config, holder, logger, options.hooks);
  return {
    url: `http://127.0.0.1:${running.port}`,
    port: running.port,
    running,
    holder,
    logs,
    logger,
    async close() {
      await running.shutdown();
      await holder.current.close();
    },
  };
}

/** A request that never follows redirects and never normalises the path (fetch would do both). */
export async function get(base: string, path: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<{
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}> {
  const { request } = await import('node:http');
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, path, method: init.method ?? 'GET', headers: init.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

export const DIGEST_A = `sha256:${'a'.repeat(64)}`;
export const DIGEST_B = `sha256:${'b'.repeat(64)}`;
export const DIGEST_512 = `sha512:${'c'.repeat(128)}`;
