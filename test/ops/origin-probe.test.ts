import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { startOriginProbes, type ProbeSettings } from '../../src/ops/origin-probe.js';
import { OriginStates, type PlannedOrigin } from '../../src/routing/origin-choice.js';
import { LogCapture } from '../support/harness.js';
import { ManualProbeTimers } from '../support/origins.js';

// The prober against real local servers answering each way a replica can: 200, 401 (a registry
// that wants a token is alive), 500, and not at all within the timeout.

function origin(url: string, index: number): PlannedOrigin {
  return { url, host: new URL(url).host, prefix: `${url}/v2/`, provider: undefined, regions: [], location: undefined, index };
}

describe('origin probes', () => {
  const servers: http.Server[] = [];
  const urls: Record<'ok' | 'token' | 'broken' | 'silent', string> = { ok: '', token: '', broken: '', silent: '' };
  const paths: string[] = [];

  beforeAll(async () => {
    const statuses = { ok: 200, token: 401, broken: 500, silent: 0 } as const;
    for (const [name, status] of Object.entries(statuses) as Array<[keyof typeof statuses, number]>) {
      const server = http.createServer((req, res) => {
        paths.push(`${name} ${req.method} ${req.url}`);
        if (status === 0) return; // never answers
        res.writeHead(status).end();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers.push(server);
      urls[name] = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    }
  });

  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  const settings: ProbeSettings = { interval_ms: 1000, timeout_ms: 150, failures: 1 };

  it('counts 200 and 401 as up, a 500 and a timeout as down, logging each change once', async () => {
    const replicas = [origin(urls.ok, 0), origin(urls.token, 1), origin(urls.broken, 2), origin(urls.silent, 3)];
    const states = new OriginStates(replicas.length);
    const timers = new ManualProbeTimers();
    const logs = new LogCapture();
    const probed: string[] = [];
    const probes = startOriginProbes({ origins: replicas, states, settings, logger: createLogger('info', logs), timers, onProbe: (host, up) => probed.push(`${host} ${up}`) });
    expect(timers.scheduled).toBe(4);
    await timers.round();
    expect(replicas.map((r) => states.isUp(r.index))).toEqual([true, true, false, false]);
    expect(probed.sort()).toEqual(replicas.map((r, i) => `${r.host} ${i < 2}`).sort());
    expect(paths.filter((p) => p.endsWith('GET /v2/'))).toHaveLength(4);
    const down = logs.messages('origin replica down');
    expect(down.map((l) => [l.origin, l.error])).toEqual(
      expect.arrayContaining([
        [replicas[2]?.host, 'status 500'],
        [replicas[3]?.host, 'no answer in 150 ms'],
      ]),
    );
    await timers.round();
    // Still down: no second log line for the same state.
    expect(logs.messages('origin replica down')).toHaveLength(2);
    probes.stop();
    expect(timers.scheduled).toBe(0);
  });

  it('stops a probe in flight and schedules nothing after stop', async () => {
    const states = new OriginStates(1);
    const timers = new ManualProbeTimers();
    const probes = startOriginProbes({ origins: [origin(urls.silent, 0)], states, settings: { ...settings, timeout_ms: 60_000 }, logger: createLogger('silent'), timers });
    const before = paths.length;
    expect(timers.fire()).toBe(1);
    while (paths.length === before) await new Promise((resolve) => setImmediate(resolve));
    probes.stop();
    await new Promise((resolve) => setImmediate(resolve));
    expect(timers.scheduled).toBe(0);
    expect(states.isUp(0)).toBe(true);
  });
});
