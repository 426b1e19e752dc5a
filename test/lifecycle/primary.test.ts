import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { serveArgs, servePrimary } from '../../src/commands/serve.js';
import type { Service } from '../../src/lifecycle/lifecycle.js';
import { createLogger } from '../../src/log.js';
import { CLI } from '../support/cli.js';
import { get, LogCapture } from '../support/harness.js';
import { post, scrape, scratch, value, writeConfig } from '../support/serve.js';
import { until } from '../support/wait.js';

const MANIFEST = '/v2/app/manifests/1.0';


/**
 * The --workers primary run in this process (so its code is measured), forking the built CLI
 * as its workers; workers.test.ts drives the same thing through the binary and signals.
 */
describe('cluster primary (in-process; workers are the built CLI, run "npm run build" first)', () => {
  const dir = scratch();
  const logs = new LogCapture();
  let file: string;
  let service: Service;
  let admin: string;
  let publicUrl: string;

  const workers = async (): Promise<Array<{ worker: number; pid: number; state: string; restarts: number }>> =>
    JSON.parse((await get(admin, '/debug/workers')).body).workers;

  beforeAll(async () => {
    file = writeConfig(`${dir.path}/edge.yaml`, { origin: { url: 'https://first.example' }, log: { level: 'warn' } });
    const io = { stdout: new Writable(), stderr: new Writable(), env: {} };
    service = await servePrimary(serveArgs(['--config', file]), 2, io, {
      logger: createLogger('info', logs),
      exec: { file: CLI, args: ['serve', '--config', file, '--workers', '2'] },
      // A streak never ends within this test, so each restart waits twice as long as the one before.
      restartPolicy: { firstDelayMs: 50, maxDelayMs: 100, stableAfterMs: 60_000 },
    });
    admin = `http://127.0.0.1:${service.adminPort}`;
    publicUrl = `http://127.0.0.1:${logs.messages('listening')[0]?.port as number}`;
  });
  afterAll(async () => {
    await service?.stop();
    dir.cleanup();
  });

  it('logs one listening line with the public port, the admin port and the worker pids', async () => {
    const [listening] = logs.messages('listening');
    expect(listening).toMatchObject({ admin_port: service.adminPort, workers: 2, worker_pids: [expect.any(Number), expect.any(Number)] });
    expect((await get(publicUrl, MANIFEST)).headers.location).toBe(`https://first.example${MANIFEST}`);
    expect(JSON.parse((await get(admin, '/readyz')).body)).toMatchObject({ ready: true, workers_listening: 2 });
  });

  it('answers /debug/route through a worker', async () => {
    const res = await get(admin, `/debug/route?ip=192.0.2.1&path=${MANIFEST}`);
    expect(JSON.parse(res.body)).toMatchObject({ route: 'manifest', status: 307, location: `https://first.example${MANIFEST}` });
  });

  it('sums the workers\' metrics with its own', async () => {
    const before = value(await scrape(admin), 'registry_edge_requests_total', { kind: 'manifest' });
    for (let i = 0; i < 10; i++) await get(publicUrl, MANIFEST);
    const samples = await scrape(admin);
    expect(value(samples, 'registry_edge_requests_total', { kind: 'manifest' }) - before).toBe(10);
    expect(value(samples, 'registry_edge_workers', { state: 'listening' })).toBe(2);
    expect(value(samples, 'registry_edge_build_info')).toBe(1);
  });

  it('POST /reload reloads every worker and reports each; a bad file fails on all and changes nothing', async () => {
    writeConfig(file, { origin: { url: 'https://second.example' }, log: { level: 'warn' } });
    const good = await post(admin, '/reload');
    expect(good.status).toBe(200);
    expect(JSON.parse(good.body)).toMatchObject({ ok: true, workers: [{ ok: true }, { ok: true }] });
    for (let i = 0; i < 6; i++) expect((await get(publicUrl, MANIFEST)).headers.location).toBe(`https://second.example${MANIFEST}`);

    writeConfig(file, { origin: { url: 'not a url' } });
    const bad = await post(admin, '/reload');
    expect(bad.status).toBe(422);
    expect(JSON.parse(bad.body)).toMatchObject({ ok: false, error: expect.stringContaining('origin.url'), workers: [{ ok: false }, { ok: false }] });
    expect((await get(publicUrl, MANIFEST)).headers.location).toBe(`https://second.example${MANIFEST}`);
    const samples = await scrape(admin);
    expect(value(samples, 'registry_edge_reloads_total', { result: 'success' })).toBe(2);
    expect(value(samples, 'registry_edge_reloads_total', { result: 'failure' })).toBe(2);
    writeConfig(file, { origin: { url: 'https://second.example' }, log: { level: 'warn' } });
  });

  it('restarts a worker that keeps dying with a growing delay', async () => {
    for (let round = 0; round < 3; round++) {
      const victim = (await workers()).find((w) => w.worker === 1)?.pid as number;
      process.kill(victim, 'SIGKILL');
      await until('the replacement', async () => {
        const slot = (await workers()).find((w) => w.worker === 1);
        return slot?.state === 'listening' && slot.pid !== victim ? slot : undefined;
      });
    }
    const exits = logs.messages('worker exited; restarting').filter((l) => l.worker === 1);
    expect(exits.map((l) => l.restart_in_ms)).toEqual([50, 100, 100]);
    expect((await workers()).find((w) => w.worker === 1)?.restarts).toBe(3);
    expect(value(await scrape(admin), 'registry_edge_worker_restarts_total')).toBe(3);
  });

  it('stop() drains the workers and closes the admin port', async () => {
    const pids = (await workers()).map((w) => w.pid);
    await service.stop();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    await expect(get(admin, '/healthz')).rejects.toThrow();
    // The reloaded file says log.level: warn and the primary follows it; lifecycle lines still come.
    expect(service.logger.level).toBe('warn');
    expect(logs.messages('stopped')).toHaveLength(1);
  });
});
