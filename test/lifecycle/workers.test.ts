import { spawnSync } from 'node:child_process';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, CLI, gone, spawnServe, type Spawned } from '../support/cli.js';
import { get } from '../support/harness.js';
import { scrape, scratch, value, writeConfig } from '../support/serve.js';
import { until } from '../support/wait.js';

const MANIFEST = '/v2/app/manifests/1.0';

/** One request on a fresh connection, with a client timeout like any registry client has. */
function attempt(port: number, timeoutMs = 1000): Promise<{ status: number; location: string | undefined } | Error> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: MANIFEST, agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location }));
    });
    req.on('timeout', () => req.destroy(new Error('client timeout')));
    req.on('error', (error) => resolve(error));
    req.end();
  });
}


interface WorkerInfo {
  worker: number;
  pid: number | undefined;
  state: string;
  restarts: number;
}

describe('serve --workers 2 (the built binary; run "npm run build" first)', () => {
  const dir = scratch();
  let file: string;
  let edge: Spawned;
  let admin: string;
  let firstPids: number[];

  const workers = async (): Promise<WorkerInfo[]> => (JSON.parse((await get(admin, '/debug/workers')).body) as { workers: WorkerInfo[] }).workers;

  beforeAll(async () => {
    file = writeConfig(`${dir.path}/edge.yaml`, { origin: { url: 'https://first.example' } });
    edge = await spawnServe(['--config', file, '--workers', '2']);
    const listening = edge.lines.find((l) => l.msg === 'listening') as Record<string, unknown>;
    admin = `http://127.0.0.1:${listening.admin_port as number}`;
    firstPids = listening.worker_pids as number[];
  });
  afterAll(async () => {
    if (edge?.child.exitCode === null) await edge.stop('SIGKILL');
    dir.cleanup();
  });

  it('starts two workers on one port and reports them in /debug/workers and /readyz', async () => {
    expect(firstPids).toHaveLength(2);
    expect(firstPids).not.toContain(edge.child.pid);
    expect((await workers()).map((w) => w.state)).toEqual(['listening', 'listening']);
    expect(JSON.parse((await get(admin, '/readyz')).body)).toMatchObject({ ready: true, workers_listening: 2 });
  });

  it('/metrics in the primary sums every worker', async () => {
    for (let i = 0; i < 20; i++) expect(await attempt(edge.port)).toMatchObject({ status: 307 });
    const samples = await scrape(admin);
    expect(value(samples, 'registry_edge_requests_total', { kind: 'manifest', status: '307' })).toBe(20);
    expect(value(samples, 'registry_edge_workers', { state: 'listening' })).toBe(2);
  });

  it('keeps answering while a worker is killed, and starts a replacement', async () => {
    const victim = firstPids[0] as number;
    let running = true;
    let succeeded = 0;
    const failures: string[] = [];
    // Four clients that, like registry clients, retry once when a connection breaks.
    const client = async (): Promise<void> => {
      while (running) {
        let result = await attempt(edge.port);
        if (result instanceof Error || result.status !== 307) result = await attempt(edge.port);
        if (result instanceof Error) failures.push(result.message);
        else if (result.status !== 307) failures.push(`status ${result.status}`);
        else succeeded++;
      }
    };
    const clients = Promise.all([client(), client(), client(), client()]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    process.kill(victim, 'SIGKILL');
    const replaced = await until('a replacement worker', async () => {
      const list = await workers();
      return list.every((w) => w.state === 'listening' && w.pid !== victim) ? list : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    running = false;
    await clients;

    expect(failures).toEqual([]);
    expect(succeeded).toBeGreaterThan(50);
    expect(alive(victim)).toBe(false);
    expect(replaced.find((w) => w.worker === 0)).toMatchObject({ restarts: 1, state: 'listening' });
    expect(replaced.map((w) => w.pid)).not.toContain(victim);
    expect(edge.lines.find((l) => l.msg === 'worker exited; restarting')).toMatchObject({ level: 'warn', worker_pid: victim, signal: 'SIGKILL' });
    // Once the primary knows, every fresh connection lands on a live worker at the first try.
    for (let i = 0; i < 20; i++) expect(await attempt(edge.port)).toMatchObject({ status: 307 });
    expect(value(await scrape(admin), 'registry_edge_worker_restarts_total')).toBe(1);
  });

  it('SIGHUP to the primary reloads every worker', async () => {
    writeConfig(file, { origin: { url: 'https://second.example' } });
    edge.child.kill('SIGHUP');
    await until('the reload', () => edge.lines.find((l) => l.msg === 'workers reloaded'));
    for (let i = 0; i < 20; i++) expect(await attempt(edge.port)).toMatchObject({ status: 307, location: `https://second.example${MANIFEST}` });
    expect(value(await scrape(admin), 'registry_edge_reloads_total', { result: 'success' })).toBe(2);
  });

  it('SIGTERM drains every worker and exits 0', async () => {
    const pids = (await workers()).map((w) => w.pid as number);
    expect(await edge.stop('SIGTERM')).toBe(0);
    expect(edge.lines.some((l) => l.msg === 'stopped' && l.pid === edge.child.pid)).toBe(true);
    for (const pid of pids) await gone(pid, 3000);
  });
});

describe('serve --workers 2: summed counters when a worker dies (the built binary)', () => {
  const dir = scratch();
  let edge: Spawned;
  afterAll(async () => {
    if (edge?.child.exitCode === null) await edge.stop('SIGKILL');
    dir.cleanup();
  });

  it('keeps the dead worker\'s counts in the sums, so totals never go down (no rate() spike)', async () => {
    edge = await spawnServe(['--config', writeConfig(`${dir.path}/edge.yaml`, { origin: { url: 'https://o.example' } }), '--workers', '2']);
    const listening = edge.lines.find((l) => l.msg === 'listening') as Record<string, unknown>;
    const admin = `http://127.0.0.1:${listening.admin_port as number}`;
    const [, victim] = listening.worker_pids as number[];
    // Fresh connections are dealt to the workers in turn: both count some of these.
    for (let i = 0; i < 20; i++) expect(await attempt(edge.port)).toMatchObject({ status: 307 });
    const totals = async (): Promise<number[]> => {
      const samples = await scrape(admin);
      return [value(samples, 'registry_edge_requests_total'), value(samples, 'registry_edge_request_duration_seconds_count')];
    };
    expect(await totals()).toEqual([20, 20]);

    process.kill(victim as number, 'SIGKILL');
    await until('a replacement worker', async () => {
      const { workers } = JSON.parse((await get(admin, '/debug/workers')).body) as { workers: WorkerInfo[] };
      return workers.every((w) => w.state === 'listening' && w.pid !== victim) || undefined;
    });
    expect(await totals()).toEqual([20, 20]);
    for (let i = 0; i < 4; i++) expect(await attempt(edge.port)).toMatchObject({ status: 307 });
    expect(await totals()).toEqual([24, 24]);
    expect(await edge.stop('SIGTERM')).toBe(0);
  });
});

describe('serve --workers when the workers cannot start', () => {
  it('exits 1 with the reason instead of restarting them in a loop', async () => {
    const dir = scratch();
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const file = writeConfig(`${dir.path}/edge.yaml`, { origin: { url: 'https://o.example' } });
      const port = String((taken.address() as AddressInfo).port);
      const started = Date.now();
      const result = spawnSync(process.execPath, [CLI, 'serve', '--config', file, '--workers', '2', '--port', port], { encoding: 'utf8', timeout: 15_000 });
      expect(result.status).toBe(1);
      // One line, from the primary, however many workers hit the taken port.
      expect(result.stderr).toBe(`registry-edge: listen.port: 127.0.0.1:${port} is in use; set listen.port, or 0 for any free port\n`);
      expect(result.stdout).not.toContain('"msg":"listening"');
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      taken.close();
      dir.cleanup();
    }
  });
});
