import { afterAll, describe, expect, it } from 'vitest';
import { generationStatus, readinessOf } from '../../src/lifecycle/readiness.js';
import { spawnServe, type Spawned } from '../support/cli.js';
import { get } from '../support/harness.js';
import { scratch, writeConfig } from '../support/serve.js';

const STATUS = generationStatus({ source: 'edge.yaml', geo: { rangesLoaded: true, rangesBuiltAt: new Date(0), locationsLoaded: false } });
const GEO = { ranges_loaded: true, ranges_built_at: '1970-01-01T00:00:00.000Z', locations_loaded: false, locations_loading: false };
const LOADING = generationStatus({ source: 'edge.yaml', geo: { rangesLoaded: true, rangesBuiltAt: new Date(0), locationsLoaded: false, locationsLoading: true } });
const FAILED = generationStatus({ source: 'edge.yaml', geo: { rangesLoaded: true, rangesBuiltAt: new Date(0), locationsLoaded: false, locationsFailed: 'EIO' } });

describe('the /readyz document', () => {
  it.each<[string, Parameters<typeof readinessOf>, Record<string, unknown>]>([
    ['starting', ['starting', undefined, { listening: 0, total: 1 }], { ready: false, reason: 'starting', workers_listening: 0, workers: 1 }],
    ['serving', ['serving', STATUS, { listening: 1, total: 1 }], { ready: true, config: 'edge.yaml', geo: GEO, workers_listening: 1, workers: 1 }],
    ['serving, some workers down', ['serving', STATUS, { listening: 1, total: 4 }], { ready: true, config: 'edge.yaml', geo: GEO, workers_listening: 1, workers: 4 }],
    ['city data still loading', ['serving', LOADING, { listening: 1, total: 1 }], { ready: false, reason: 'loading geolocation', config: 'edge.yaml', geo: { ...GEO, locations_loading: true }, workers_listening: 1, workers: 1 }],
    [
      'city data failed to load',
      ['serving', FAILED, { listening: 1, total: 1 }],
      { ready: false, reason: 'geolocation failed to load: EIO', config: 'edge.yaml', geo: { ...GEO, locations_error: 'EIO' }, workers_listening: 1, workers: 1 },
    ],
    ['no worker listening', ['serving', undefined, { listening: 0, total: 2 }], { ready: false, reason: 'no worker is listening', workers_listening: 0, workers: 2 }],
    ['draining', ['draining', STATUS, { listening: 2, total: 2 }], { ready: false, reason: 'draining', workers_listening: 2, workers: 2 }],
  ])('%s', (_name, args, expected) => {
    expect(readinessOf(...args)).toEqual(expected);
  });
});

/** Every key path of a JSON document: its shape, without the values. */
function shape(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null) return [prefix];
  return Object.entries(value).flatMap(([key, inner]) => shape(inner, prefix === '' ? key : `${prefix}.${key}`)).sort();
}

describe('/readyz of the built binary, single process and --workers', () => {
  const dir = scratch();
  const started: Spawned[] = [];
  afterAll(async () => {
    for (const edge of started) await edge.stop('SIGKILL');
    dir.cleanup();
  });

  async function readyz(args: string[]): Promise<Record<string, unknown>> {
    const file = writeConfig(`${dir.path}/edge-${started.length}.yaml`, { origin: { url: 'https://o.example' } });
    const edge = await spawnServe(['--config', file, ...args]);
    started.push(edge);
    const admin = edge.lines.find((l) => l.msg === 'listening')?.admin_port as number;
    const res = await get(`http://127.0.0.1:${admin}`, '/readyz');
    expect(res.status).toBe(200);
    return JSON.parse(res.body) as Record<string, unknown>;
  }

  it('answers the same JSON shape in both', async () => {
    const single = await readyz([]);
    const workers = await readyz(['--workers', '2']);
    expect(single).toMatchObject({ ready: true, workers_listening: 1, workers: 1, geo: { ranges_loaded: false } });
    expect(workers).toMatchObject({ ready: true, workers_listening: 2, workers: 2, geo: { ranges_loaded: false } });
    expect(shape(workers)).toEqual(shape(single));
  });
});
