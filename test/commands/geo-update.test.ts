// `registry-edge geo update` as users run it: the built CLI, started from folders other than the
// package, writing where `serve` (started from yet another folder) reads.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Reader } from 'maxmind';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MmdbWriter } from '../../geo/mmdb/writer.js';
import type { UpdateGeoResult } from '../../geo/update.js';
import { describeUpdate } from '../../src/commands/geo-update.js';
import { FIXTURES } from '../support/geo.js';
import { CLI, runCli } from '../support/cli.js';

const work = mkdtempSync(join(tmpdir(), 'registry-edge-geo-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A tiny city database, so that the compact file takes milliseconds rather than the bundled 20 s. */
const CITY = join(work, 'city.mmdb');
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" first`);
  const writer = new MmdbWriter({ databaseType: 'city' });
  writer.insertCidr('81.2.69.0/24', { country_code: 'GB', latitude: 51.5143, longitude: -0.0912 });
  writeFileSync(CITY, writer.build().file);
});

/** A fresh folder under the scratch folder. */
function folder(name: string): string {
  const path = join(work, `${name}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(path);
  return path;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment every run gets: no config from the caller, the tiny city file. */
function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env, REGISTRY_EDGE_GEO_CITY_FILES: CITY };
  delete base['REGISTRY_EDGE_CONFIG'];
  delete base['REGISTRY_EDGE_DATA_DIR'];
  return { ...base, ...extra };
}

function geoUpdate(args: string[], cwd: string, extra: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, 'geo', 'update', ...args], { cwd, env: env(extra), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `serve` in `cwd` and resolves its "listening" log line; the server is stopped at once. */
function serveListeningLine(cwd: string, config: string, extra: Record<string, string>): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, [CLI, 'serve', '--config', config, '--port', '0'], { cwd, env: env(extra), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let listening: Record<string, unknown> | undefined;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve did not log "listening" within 10 s; stderr: ${stderr}`));
    }, 10_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      if (entry['msg'] !== 'listening') return;
      clearTimeout(timer);
      listening = entry;
      child.kill('SIGTERM');
    });
    void exited.then(() => (listening ? resolve(listening) : reject(new Error(`serve exited before listening; stderr: ${stderr}`))));
  });
}

/** A configuration with ephemeral ports and no geo.ranges of its own: the data folder's file. */
function serveConfig(): string {
  const path = join(folder('config'), 'edge.yaml');
  writeFileSync(path, 'listen: { host: 127.0.0.1, port: 0 }\nadmin: { port: 0 }\norigin: { url: "https://origin.example" }\n');
  return path;
}

describe('geo update writes where serve reads, whatever folder either starts from', () => {
  test('run from a folder outside the package, it fills the data folder; serve started elsewhere loads it', async () => {
    const data = join(work, 'data-outside');
    const run = await geoUpdate(['--from', FIXTURES], folder('anywhere'), { REGISTRY_EDGE_DATA_DIR: data });
    expect(run.stderr).not.toMatch(/ENOENT|at .*\.js:\d+/);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`wrote ${join(data, 'cloud-ranges.mmdb')}\nwrote ${join(data, 'locations.mmdb')}\n`);
    expect(new Reader(readFileSync(join(data, 'cloud-ranges.mmdb'))).get('15.237.1.2')).toEqual({ provider: 'aws', region: 'eu-west-3' });

    const listening = await serveListeningLine(folder('elsewhere'), serveConfig(), { REGISTRY_EDGE_DATA_DIR: data });
    expect(listening).toMatchObject({ geo_ranges: true });
  });

  test('run from a folder that has a geo/ of its own, it still writes the data folder, not that geo/', async () => {
    const data = join(work, 'data-beside-geo');
    const cwd = folder('project');
    mkdirSync(join(cwd, 'geo'));
    const run = await geoUpdate(['--from', FIXTURES], cwd, { REGISTRY_EDGE_DATA_DIR: data });
    expect(run.code).toBe(0);
    expect(readdirSync(join(cwd, 'geo'))).toEqual([]);
    expect(existsSync(join(data, 'cloud-ranges.mmdb'))).toBe(true);
  });

  test.each(['--config', 'REGISTRY_EDGE_CONFIG'])('with a configuration named by %s, it writes that configuration’s geo.ranges', async (how) => {
    const target = join(folder('configured'), 'ranges.mmdb');
    const config = join(folder('config'), 'edge.yaml');
    writeFileSync(config, `origin: { url: "https://origin.example" }\ngeo: { ranges: ${JSON.stringify(target)} }\n`);
    const data = join(work, `data-unused-${how}`);
    const args = how === '--config' ? ['--from', FIXTURES, '--config', config] : ['--from', FIXTURES];
    const extra: Record<string, string> = how === '--config' ? { REGISTRY_EDGE_DATA_DIR: data } : { REGISTRY_EDGE_DATA_DIR: data, REGISTRY_EDGE_CONFIG: config };
    const run = await geoUpdate(args, folder('anywhere'), extra);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`wrote ${target}\n`);
    expect(existsSync(data)).toBe(false);
  });
});

describe('geo update --out', () => {
  test('into a missing folder fails at once with one line and exit 73, before reading any feed', async () => {
    const out = join(work, 'no-such-folder', 'ranges.mmdb');
    const run = await geoUpdate(['--from', FIXTURES, '--out', out], folder('anywhere'), {});
    expect(run.code).toBe(73);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^registry-edge: geo update: the folder of .*no-such-folder\/ranges\.mmdb .* does not exist/)]);
  });

  test('when the city file cannot replace the old one, it says the ranges file was replaced and the city file was not', async () => {
    const target = folder('out');
    const out = join(target, 'ranges.mmdb');
    writeFileSync(out, 'previous');
    // A folder in the city file's place: its new version is written beside it, the rename fails.
    mkdirSync(join(target, 'locations.mmdb', 'occupied'), { recursive: true });
    // Older than its source, so that geo update rebuilds it rather than keep it as up to date.
    utimesSync(join(target, 'locations.mmdb'), 0, 0);
    const run = await geoUpdate(['--from', FIXTURES, '--out', out], folder('anywhere'), {});
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      new RegExp(`registry-edge: geo update failed for locations \\(cannot write ${join(target, 'locations.mmdb')}: .*\\); ${out} was replaced; ${join(target, 'locations.mmdb')} was not changed\\n`),
    );
    expect(run.stderr).not.toContain(`${out} was not changed`);
    expect(readFileSync(out, 'utf8')).not.toBe('previous');
    expect(readdirSync(target).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });
});

describe('what geo update reports (describeUpdate)', () => {
  const base: UpdateGeoResult = { written: true, out: '/d/r.mmdb', counts: { aws: 2, total: 2 }, failed: [], errors: {}, skipped: [], compileSeconds: 0 };
  test.each<[string, Partial<UpdateGeoResult>, number, string[], string[]]>([
    ['both written', { locations: { out: '/d/l.mmdb', written: true } }, 0, ['aws: 2 prefixes', 'total: 2 prefixes', 'wrote /d/r.mmdb', 'wrote /d/l.mmdb'], []],
    ['city file up to date', { locations: { out: '/d/l.mmdb', written: false, upToDate: true } }, 0, ['aws: 2 prefixes', 'total: 2 prefixes', 'wrote /d/r.mmdb', 'kept /d/l.mmdb (up to date)'], []],
    ['without the city file', {}, 0, ['aws: 2 prefixes', 'total: 2 prefixes', 'wrote /d/r.mmdb'], []],
    [
      'a feed failed',
      { written: false, counts: {}, failed: ['gcp'], errors: { gcp: 'HTTP 404' }, locations: { out: '/d/l.mmdb', written: false, upToDate: true } },
      1,
      [],
      ['registry-edge: geo update failed for gcp (HTTP 404); /d/r.mmdb was not changed; /d/l.mmdb was not changed'],
    ],
    [
      'the city file failed after the ranges were replaced',
      { failed: ['locations'], errors: { locations: 'cannot write /d/l.mmdb: ENOSPC' }, locations: { out: '/d/l.mmdb', written: false } },
      1,
      ['aws: 2 prefixes', 'total: 2 prefixes'],
      ['registry-edge: geo update failed for locations (cannot write /d/l.mmdb: ENOSPC); /d/r.mmdb was replaced; /d/l.mmdb was not changed'],
    ],
  ])('%s', (_label, change, code, stdout, stderr) => {
    expect(describeUpdate({ ...base, ...change })).toEqual({ code, stdout, stderr });
  });
});

describe('geo update in process (the same run() the binary calls)', () => {
  const saved = process.env['REGISTRY_EDGE_GEO_CITY_FILES'];
  beforeAll(() => {
    process.env['REGISTRY_EDGE_GEO_CITY_FILES'] = CITY;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env['REGISTRY_EDGE_GEO_CITY_FILES'];
    else process.env['REGISTRY_EDGE_GEO_CITY_FILES'] = saved;
  });

  test('creates the data folder it owns on first use and reports both files', async () => {
    const data = join(work, 'in-process', 'data');
    const run = await runCli(['geo', 'update', '--from', FIXTURES], { REGISTRY_EDGE_DATA_DIR: data });
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`total: 22 prefixes\nwrote ${join(data, 'cloud-ranges.mmdb')}\nwrote ${join(data, 'locations.mmdb')}\n`);
    const again = await runCli(['geo', 'update', '--from', FIXTURES], { REGISTRY_EDGE_DATA_DIR: data });
    expect(again.stdout).toContain(`kept ${join(data, 'locations.mmdb')} (up to date)\n`);
  });

  test('a folder it does not own must exist: exit 73 and one line', async () => {
    const run = await runCli(['geo', 'update', '--from', FIXTURES, '--out', join(work, 'missing', 'r.mmdb')], {});
    expect(run).toMatchObject({ code: 73, stdout: '' });
    expect(run.stderr).toMatch(/^registry-edge: geo update: the folder of .*missing\/r\.mmdb .*; create it first, or leave --out out to write to the data folder \(.*\)\n$/);
  });

  test('a failed feed exits 1, keeps the ranges file and says the city file (built anyway) was replaced', async () => {
    const feeds = folder('broken-feeds');
    writeFileSync(join(feeds, 'gcp-cloud.json'), '{"prefixes": []}');
    const target = folder('out');
    const out = join(target, 'r.mmdb');
    const run = await runCli(['geo', 'update', '--from', feeds, '--out', out], {});
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `registry-edge: geo update failed for gcp (gcp: feed lists no prefixes); ${join(target, 'locations.mmdb')} was replaced; ${out} was not changed\n`,
    );
    expect(existsSync(out)).toBe(false);
  });

  test('an unknown subcommand is a usage error', async () => {
    expect((await runCli(['geo', 'download'], {})).code).toBe(64);
  });
});

