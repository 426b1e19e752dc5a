import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Reader } from 'maxmind';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { FEEDS } from '../../geo/sources.js';
import { MmdbWriter } from '../../geo/mmdb/writer.js';
import { OutputFolderError, updateGeo, type GeoLogLevel } from '../../geo/update.js';
import { parseMetadata } from '../../src/geo/mmdb-format.js';
import { FIXTURES, mmdblookup, tempDir } from '../support/geo.js';

type LogLine = { level: GeoLogLevel; msg: string; fields?: Record<string, unknown> };

function recorder() {
  const lines: LogLine[] = [];
  return { lines, log: (level: GeoLogLevel, msg: string, fields?: Record<string, unknown>) => lines.push({ level, msg, ...(fields ? { fields } : {}) }) };
}

let work: ReturnType<typeof tempDir>;
beforeEach(() => {
  work = tempDir();
});
afterEach(() => work.cleanup());

/** A --from directory holding the named fixture feeds, plus overrides written verbatim. */
function feedDir(names: string[], overrides: Record<string, string> = {}): string {
  const directory = join(work.path, `feeds-${Math.random().toString(36).slice(2)}`);
  mkdirSync(directory);
  for (const name of names) copyFileSync(join(FIXTURES, name), join(directory, name));
  for (const [name, text] of Object.entries(overrides)) writeFileSync(join(directory, name), text);
  return directory;
}

const ALL_FEEDS = FEEDS.map((feed) => feed.file);
const tempFiles = (directory: string) => readdirSync(directory).filter((name) => name.endsWith('.tmp'));

describe('geo update --from DIR', () => {
  test('compiles all four providers into one database read identically by maxmind and mmdblookup', async () => {
    const out = join(work.path, 'cloud-ranges.mmdb');
    const now = new Date('2026-07-29T10:00:00Z');
    const result = await updateGeo({ from: feedDir(ALL_FEEDS), out, locations: false, now });
    expect(result).toMatchObject({ written: true, failed: [], skipped: [] });
    // AWS lists 3 of its 10 prefixes twice (one per service): 7 distinct networks.
    expect(result.counts).toEqual({ aws: 7, gcp: 4, azure: 7, oracle: 4, total: 22 });

    const reader = new Reader(readFileSync(out));
    expect(reader.metadata.databaseType).toBe('registry-edge-cloud-ranges');
    expect(reader.metadata.buildEpoch.toISOString()).toBe('2026-07-29T10:00:00.000Z');
    expect((reader.metadata.description as unknown as Record<string, string>)['en']).toMatch(/aws \(2024-01-01-00-00-00\).*oracle/);
    // The oldest feed: Google's syncToken 1700000000000 (AWS, Oracle: 2024-01-01; Azure has no time).
    expect(parseMetadata(readFileSync(out)).feedsPublishedAt?.toISOString()).toBe('2023-11-14T22:13:20.000Z');
    expect(result.feedsPublishedAt?.toISOString()).toBe('2023-11-14T22:13:20.000Z');

    const expectations: Array<[string, Record<string, string> | null]> = [
      ['15.237.1.2', { provider: 'aws', region: 'eu-west-3' }],
      ['3.5.143.255', { provider: 'aws', region: 'ap-northeast-2' }],
      ['64.252.81.9', { provider: 'aws', region: 'sa-east-1' }],
      ['64.252.82.9', { provider: 'aws' }],
      ['2a05:d012:0fff::1', { provider: 'aws', region: 'eu-west-3' }],
      ['2600:9000:1::', { provider: 'aws' }],
      ['34.155.3.4', { provider: 'gcp', region: 'europe-west9' }],
      ['35.190.1.1', { provider: 'gcp' }],
      ['2600:1900:4001::5', { provider: 'gcp', region: 'us-central1' }],
      ['20.4.200.1', { provider: 'azure', region: 'westeurope' }],
      ['20.38.98.77', { provider: 'azure', region: 'eastus' }],
      ['20.5.0.1', { provider: 'azure' }],
      ['13.69.127.255', { provider: 'azure', region: 'westeurope' }],
      ['13.70.0.1', { provider: 'azure' }],
      ['2603:1020:203::1', { provider: 'azure', region: 'westeurope' }],
      ['2603:10ff::1', { provider: 'azure' }],
      ['13.107.246.1', null],
      ['129.146.7.1', { provider: 'oracle', region: 'us-phoenix-1' }],
      ['130.61.255.255', { provider: 'oracle', region: 'eu-frankfurt-1' }],
      ['2603:c020:ff::', { provider: 'oracle', region: 'eu-frankfurt-1' }],
      ['8.8.8.8', null],
      ['::1', null],
    ];
    for (const [ip, expected] of expectations) {
      expect(reader.get(ip), ip).toEqual(expected);
      expect(await mmdblookup(out, ip), ip).toEqual(expected);
    }
    expect(tempFiles(work.path)).toEqual([]);
  });

  test('any subset of providers may be present', async () => {
    const out = join(work.path, 'cloud-ranges.mmdb');
    const result = await updateGeo({ from: feedDir(['oracle-public-ip-ranges.json']), out, locations: false });
    expect(result).toMatchObject({ written: true, failed: [], skipped: ['aws', 'gcp', 'azure'], counts: { oracle: 4, total: 4 } });
    expect(new Reader(readFileSync(out)).get('129.146.0.1')).toEqual({ provider: 'oracle', region: 'us-phoenix-1' });
  });

  test('a prefix listed with and without a region keeps the region', async () => {
    const aws = JSON.stringify({
      prefixes: [
        { ip_prefix: '10.0.0.0/16', region: 'GLOBAL', service: 'AMAZON', network_border_group: 'GLOBAL' },
        { ip_prefix: '10.0.0.0/16', region: 'eu-west-3', service: 'EC2', network_border_group: 'eu-west-3' },
        { ip_prefix: '10.0.0.0/16', region: 'GLOBAL', service: 'CLOUDFRONT', network_border_group: 'GLOBAL' },
      ],
      ipv6_prefixes: [],
    });
    const out = join(work.path, 'cloud-ranges.mmdb');
    const result = await updateGeo({ from: feedDir([], { 'aws-ip-ranges.json': aws }), out, locations: false });
    expect(result.counts).toEqual({ aws: 1, total: 1 });
    expect(new Reader(readFileSync(out)).get('10.0.1.1')).toEqual({ provider: 'aws', region: 'eu-west-3' });
  });

  test('warns about regions that have no coordinates in geo/regions.json', async () => {
    const aws = JSON.stringify({ prefixes: [{ ip_prefix: '10.0.0.0/16', region: 'xx-nowhere-1' }], ipv6_prefixes: [] });
    const { lines, log } = recorder();
    await updateGeo({ from: feedDir([], { 'aws-ip-ranges.json': aws }), out: join(work.path, 'r.mmdb'), locations: false, log });
    expect(lines).toContainEqual(expect.objectContaining({ level: 'warn', fields: { regions: ['aws/xx-nowhere-1'] } }));
  });
});

describe('a failed feed keeps the previous file', () => {
  const previousBytes = Buffer.from('previous database');

  test.each([
    ['truncated JSON', 'azure-service-tags.json', readFileSync(join(FIXTURES, 'azure-service-tags.json'), 'utf8').slice(0, 300), 'azure', /not valid JSON/],
    ['bad CIDR', 'oracle-public-ip-ranges.json', '{"regions": [{"region": "us-phoenix-1", "cidrs": [{"cidr": "129.146.0.0/33"}]}]}', 'oracle', /bad CIDR/],
    ['empty feed', 'gcp-cloud.json', '{"prefixes": []}', 'gcp', /no prefixes/],
    ['unreadable feed', 'aws-ip-ranges.json', '', 'aws', /not valid JSON/],
  ])('%s: says which feed failed, writes nothing', async (_label, file, text, provider, reason) => {
    const out = join(work.path, 'cloud-ranges.mmdb');
    writeFileSync(out, previousBytes);
    const before = statSync(out);
    const { lines, log } = recorder();
    const others = ALL_FEEDS.filter((name) => name !== file);
    const result = await updateGeo({ from: feedDir(others, { [file]: text }), out, locations: false, log });
    expect(result.written).toBe(false);
    expect(result.failed).toEqual([provider]);
    expect(result.errors[provider]).toMatch(reason);
    expect(lines).toContainEqual(expect.objectContaining({ level: 'error', fields: expect.objectContaining({ feed: provider }) }));
    expect(readFileSync(out)).toEqual(previousBytes);
    expect(statSync(out).mtimeMs).toBe(before.mtimeMs);
    expect(tempFiles(work.path)).toEqual([]);
  });

  test('no feed files at all: every feed is reported missing and nothing is written', async () => {
    const out = join(work.path, 'cloud-ranges.mmdb');
    writeFileSync(out, previousBytes);
    const result = await updateGeo({ from: feedDir([]), out, locations: false });
    expect(result.written).toBe(false);
    expect(result.failed).toEqual(['aws', 'gcp', 'azure', 'oracle']);
    expect(result.errors['aws']).toMatch(/no aws-ip-ranges.json in/);
    expect(readFileSync(out)).toEqual(previousBytes);
  });

  test('a missing output folder rejects before any feed is read or compiled', async () => {
    const { lines, log } = recorder();
    const out = join(work.path, 'absent', 'r.mmdb');
    await expect(updateGeo({ from: feedDir(ALL_FEEDS), out, locations: false, log })).rejects.toThrow(
      new OutputFolderError(`the folder of ${out} (${join(work.path, 'absent')}) does not exist or is not a folder`),
    );
    expect(lines).toEqual([]);
    expect(existsSync(join(work.path, 'absent'))).toBe(false);
  });

  test('so does a missing folder for the compact city file', async () => {
    const locations = { out: join(work.path, 'absent', 'locations.mmdb') };
    await expect(updateGeo({ from: feedDir(ALL_FEEDS), out: join(work.path, 'r.mmdb'), locations })).rejects.toThrow(OutputFolderError);
    expect(existsSync(join(work.path, 'r.mmdb'))).toBe(false);
  });
});

describe('atomic replacement', () => {
  test('the new file replaces the old one by rename: a reader holding the old file keeps reading it whole', async () => {
    const out = join(work.path, 'cloud-ranges.mmdb');
    await updateGeo({ from: feedDir(['oracle-public-ip-ranges.json']), out, locations: false });
    const oldBytes = readFileSync(out);
    const held = openSync(out, 'r');
    try {
      const result = await updateGeo({ from: feedDir(ALL_FEEDS), out, locations: false });
      expect(result.written).toBe(true);
      const fromHeld = Buffer.alloc(oldBytes.length + 16);
      const read = readSync(held, fromHeld, 0, fromHeld.length, 0);
      expect(fromHeld.subarray(0, read)).toEqual(oldBytes);
      expect(new Reader(readFileSync(out)).get('20.4.0.1')).toEqual({ provider: 'azure', region: 'westeurope' });
    } finally {
      closeSync(held);
    }
    expect(tempFiles(work.path)).toEqual([]);
  });
});

describe('downloads (local HTTP server standing in for the providers)', () => {
  let server: Server;
  let base = '';
  /** A loopback port nothing listens on any more (bound, then released). */
  let closedPort = 0;
  const routes = new Map<string, (response: import('node:http').ServerResponse) => void>();
  const sendFile = (name: string) => (response: import('node:http').ServerResponse) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(readFileSync(join(FIXTURES, name)));
  };

  beforeAll(async () => {
    server = createServer((request, response) => {
      const route = routes.get(request.url ?? '');
      if (route) route(response);
      else {
        response.writeHead(404);
        response.end('not found');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    routes.set('/aws.json', sendFile('aws-ip-ranges.json'));
    routes.set('/gcp.json', sendFile('gcp-cloud.json'));
    routes.set('/oracle.json', sendFile('oracle-public-ip-ranges.json'));
    routes.set('/download/ServiceTags_Public_20260727.json', sendFile('azure-service-tags.json'));
    routes.set('/azure-page', (response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end(`<html><body><a href="${base}/download/ServiceTags_Public_20260727.json">Download</a></body></html>`);
    });
    routes.set('/azure-page-without-link', (response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html>This download is no longer available</html>');
    });
    routes.set('/hang', () => undefined);
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    closedPort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const urls = () => ({ aws: `${base}/aws.json`, gcp: `${base}/gcp.json`, azure: `${base}/azure-page`, oracle: `${base}/oracle.json` });

  test('fetches every feed, finding the Azure file through its download page', async () => {
    const out = join(work.path, 'cloud-ranges.mmdb');
    const result = await updateGeo({ out, urls: urls(), locations: false });
    expect(result).toMatchObject({ written: true, failed: [], counts: { aws: 7, gcp: 4, azure: 7, oracle: 4, total: 22 } });
  });

  test('URLs can be overridden through REGISTRY_EDGE_GEO_*_URL', async () => {
    const saved = process.env['REGISTRY_EDGE_GEO_AWS_URL'];
    process.env['REGISTRY_EDGE_GEO_AWS_URL'] = `${base}/missing-aws.json`;
    try {
      const { aws: _aws, ...others } = urls();
      const result = await updateGeo({ out: join(work.path, 'r.mmdb'), urls: others, locations: false });
      expect(result.failed).toEqual(['aws']);
      expect(result.errors['aws']).toContain('/missing-aws.json failed: HTTP 404');
    } finally {
      if (saved === undefined) delete process.env['REGISTRY_EDGE_GEO_AWS_URL'];
      else process.env['REGISTRY_EDGE_GEO_AWS_URL'] = saved;
    }
  });

  test.each([
    ['HTTP 404', { gcp: '/nope.json' }, 'gcp', /HTTP 404/],
    ['a timeout', { oracle: '/hang' }, 'oracle', /failed: .*(timeout|aborted)/i],
    ['an Azure page without the JSON link', { azure: '/azure-page-without-link' }, 'azure', /no ServiceTags_Public_\*\.json link.*REGISTRY_EDGE_GEO_AZURE_URL/],
    ['a refused connection', { aws: 'closed-port' }, 'aws', /failed: fetch failed.*ECONNREFUSED/],
  ])('%s fails that feed and keeps the previous file', async (_label, override, provider, reason) => {
    const out = join(work.path, 'cloud-ranges.mmdb');
    writeFileSync(out, 'previous');
    const overrides = Object.fromEntries(
      Object.entries(override).map(([key, value]) => [key, value === 'closed-port' ? `http://127.0.0.1:${closedPort}/aws.json` : `${base}${value}`]),
    );
    const result = await updateGeo({ out, urls: { ...urls(), ...overrides }, fetchTimeoutMs: 300, locations: false });
    expect(result.written).toBe(false);
    expect(result.failed).toEqual([provider]);
    expect(result.errors[provider]).toMatch(reason);
    expect(readFileSync(out, 'utf8')).toBe('previous');
  });
});

describe('compact geolocation refresh', () => {
  function citySource(path: string): void {
    const writer = new MmdbWriter({ databaseType: 'city ipv4' });
    writer.insertCidr('81.2.69.0/24', { city: 'London', country_code: 'GB', latitude: 51.5143, longitude: -0.0912, state1: 'England' });
    writer.insertCidr('2a00:1450::/32', { city: 'Warsaw', country_code: 'PL', latitude: 52.2297, longitude: 21.0122 });
    writeFileSync(path, writer.build().file);
  }

  test('is compiled next to the ranges file, skipped while up to date, rebuilt with force', async () => {
    const source = join(work.path, 'city.mmdb');
    citySource(source);
    const from = feedDir(['gcp-cloud.json']);
    const out = join(work.path, 'cloud-ranges.mmdb');
    const first = await updateGeo({ from, out, locations: { sources: [source] } });
    expect(first.locations).toMatchObject({ out: join(work.path, 'locations.mmdb'), written: true, networks: 2 });
    const compact = new Reader(readFileSync(join(work.path, 'locations.mmdb')));
    expect(compact.metadata.databaseType).toBe('registry-edge-locations');
    expect(compact.get('81.2.69.160')).toEqual({ country_code: 'GB', latitude: 51.5, longitude: -0.1 });

    const second = await updateGeo({ from, out, locations: { sources: [source] } });
    expect(second.locations).toEqual({ out: join(work.path, 'locations.mmdb'), written: false, upToDate: true });
    const forced = await updateGeo({ from, out, locations: { sources: [source], force: true } });
    expect(forced.locations?.written).toBe(true);
  });

  test('a failing geolocation source is reported without blocking the ranges update', async () => {
    const out = join(work.path, 'cloud-ranges.mmdb');
    const result = await updateGeo({ from: feedDir(['gcp-cloud.json']), out, locations: { sources: [join(work.path, 'absent.mmdb')], out: join(work.path, 'loc.mmdb') } });
    expect(result.written).toBe(true);
    expect(result.failed).toEqual(['locations']);
    expect(result.errors['locations']).toMatch(/ENOENT/);
    expect(existsSync(join(work.path, 'loc.mmdb'))).toBe(false);
  });
});

describe('both files commit together', () => {
  function citySource(path: string): void {
    const writer = new MmdbWriter({ databaseType: 'city ipv4' });
    writer.insertCidr('81.2.69.0/24', { country_code: 'GB', latitude: 51.5143, longitude: -0.0912 });
    writeFileSync(path, writer.build().file);
  }

  test('a compact file that cannot be written (a full disk, an unwritable folder) leaves the ranges file unchanged too', async () => {
    const source = join(work.path, 'city.mmdb');
    citySource(source);
    const out = join(work.path, 'cloud-ranges.mmdb');
    writeFileSync(out, 'previous');
    // sysfs refuses to create files, even for root: the second file fails while it is staged.
    const locations = { sources: [source], out: '/sys/registry-edge-locations.mmdb' };
    const result = await updateGeo({ from: feedDir(['gcp-cloud.json']), out, locations });
    expect(result).toMatchObject({ written: false, failed: ['locations'], locations: { written: false } });
    expect(result.errors['locations']).toMatch(/^cannot write \/sys\/registry-edge-locations\.mmdb: /);
    expect(readFileSync(out, 'utf8')).toBe('previous');
    expect(tempFiles(work.path)).toEqual([]);
  });

  test('when a rename fails part way, the result says exactly which file was replaced', async () => {
    const source = join(work.path, 'city.mmdb');
    citySource(source);
    const out = join(work.path, 'cloud-ranges.mmdb');
    writeFileSync(out, 'previous');
    // A folder where the compact file belongs: its temp file is written, the rename over it fails.
    mkdirSync(join(work.path, 'locations.mmdb', 'occupied'), { recursive: true });
    const result = await updateGeo({ from: feedDir(['gcp-cloud.json']), out, locations: { sources: [source], force: true } });
    expect(result).toMatchObject({ written: true, failed: ['locations'], locations: { written: false } });
    expect(new Reader(readFileSync(out)).get('34.155.3.4')).toEqual({ provider: 'gcp', region: 'europe-west9' });
    expect(tempFiles(work.path)).toEqual([]);
  });
});
