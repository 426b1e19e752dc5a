#!/usr/bin/env node
/**
 * Geo benchmark (runs against dist/: `npm run build` first).
 *
 *   node bench/geo-lookup.js [--shared DIR] [--locations FILE] [--rounds N]
 *
 * Reports, in one run:
 * - compile time of the cloud ranges database from the shared AWS + Google feeds;
 * - median time of one full lookup (ranges + geolocation + nearest-bucket choice) beside a
 *   bare `maxmind` lookup in the same ranges file and in the same geolocation file;
 * - peak RSS of a fresh node process that loads the locator and serves lookups.
 * Without --locations it uses data/locations.mmdb (what `geo update` writes), compiling one first when missing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import maxmind from 'maxmind';
import { seededRandom } from './lib/feed.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = (path) => join(root, 'dist', path);

function argument(name, fallback) {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

/** A mix of cloud addresses (from the feeds), random public IPv4 and some IPv6. */
async function sampleAddresses(sharedDir, count) {
  const { readFile } = await import('node:fs/promises');
  const aws = JSON.parse(await readFile(join(sharedDir, 'aws-ip-ranges.json'), 'utf8'));
  const gcp = JSON.parse(await readFile(join(sharedDir, 'gcp-cloud.json'), 'utf8'));
  const next = seededRandom(42);
  const cloudV4 = [...aws.prefixes.map((p) => p.ip_prefix), ...gcp.prefixes.filter((p) => p.ipv4Prefix).map((p) => p.ipv4Prefix)];
  const cloudV6 = aws.ipv6_prefixes.map((p) => p.ipv6_prefix);
  const addresses = [];
  for (let i = 0; i < count; i++) {
    const kind = next();
    if (kind < 0.4) {
      const [base, length] = cloudV4[Math.floor(next() * cloudV4.length)].split('/');
      const value = base.split('.').reduce((sum, octet) => sum * 256 + Number(octet), 0);
      const span = 2 ** (32 - Number(length));
      const address = value + Math.floor(next() * span);
      addresses.push([24, 16, 8, 0].map((shift) => Math.floor(address / 2 ** shift) % 256).join('.'));
    } else if (kind < 0.85) {
      addresses.push([1 + Math.floor(next() * 222), 0, 0, 0].map((octet, index) => (index === 0 ? octet : Math.floor(next() * 256))).join('.'));
    } else if (kind < 0.92) {
      const [base] = cloudV6[Math.floor(next() * cloudV6.length)].split('/');
      addresses.push(base.replace(/::$/, `::${Math.floor(next() * 65536).toString(16)}`));
    } else {
      const groups = [0x2000 + Math.floor(next() * 0x1fff)];
      for (let g = 0; g < 3; g++) groups.push(Math.floor(next() * 65536));
      addresses.push(`${groups.map((group) => group.toString(16)).join(':')}::1`);
    }
  }
  return addresses;
}

/** One bucket per AWS region in regions.json (the registry.k8s.io layout) plus a lab bucket. */
function benchBuckets(regions) {
  const buckets = [...(regions.get('aws')?.keys() ?? [])].map((region) => ({
    name: `aws-${region}`,
    url: `https://bucket-${region}.example`,
    provider: 'aws',
    regions: [region],
    networks: [],
  }));
  buckets.push({ name: 'lab', url: 'http://127.0.0.1:5101', regions: [], networks: [], location: { lat: 48.85, lon: 2.35 } });
  return buckets;
}

/**
 * The server's own bucket choice (routing plan + candidate list, memoised per location),
 * over the bench buckets with routing.others: nearest so every client gets a distance ranking.
 */
async function serverChoice() {
  const { validateConfig } = await import(dist('src/config/load.js'));
  const { buildPlan } = await import(dist('src/routing/plan.js'));
  const { blobCandidates } = await import(dist('src/routing/candidates.js'));
  const { nearestRanker } = await import(dist('src/server/build.js'));
  const { loadRegions } = await import(dist('src/geo/nearest.js'));
  const regions = loadRegions();
  const config = validateConfig({ origin: { url: 'https://origin.example' }, buckets: benchBuckets(regions), routing: { others: 'nearest' } }, 'bench');
  const plan = buildPlan(config, nearestRanker(regions));
  return (ip, where) => blobCandidates(plan, ip, ip.includes(':') ? 'ipv6' : 'ipv4', where)[0];
}

/** Median per-operation time in ns over `rounds` passes of `fn` over all addresses. */
function measure(addresses, rounds, fn) {
  for (let i = 0; i < 3; i++) for (const address of addresses) fn(address);
  const perOp = [];
  for (let round = 0; round < rounds; round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < addresses.length; i++) fn(addresses[i]);
    perOp.push(Number(process.hrtime.bigint() - started) / addresses.length);
  }
  perOp.sort((a, b) => a - b);
  return { medianNs: perOp[Math.floor(perOp.length / 2)], p90Ns: perOp[Math.floor(perOp.length * 0.9)] };
}

/**
 * Peak RSS of this process image. Not resourceUsage().maxRSS: on Linux a spawned child
 * inherits the parent's high-water mark from before exec, so it would report the parent.
 */
function peakRssMb() {
  const status = readFileSync('/proc/self/status', 'utf8');
  const match = /VmHWM:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) / 1024 : process.resourceUsage().maxRSS / 1024;
}

async function rssChild(ranges, locations) {
  const { createLocator } = await import(dist('src/geo/locator.js'));
  const before = process.memoryUsage().rss;
  const locator = await createLocator({ ranges, locations: locations ? [locations] : [], log: () => undefined, compactLocations: join(tmpdir(), 'no-such-compact.mmdb') });
  const choose = await serverChoice();
  const next = seededRandom(7);
  for (let i = 0; i < 200_000; i++) {
    const ip = `${1 + Math.floor(next() * 222)}.${Math.floor(next() * 256)}.${Math.floor(next() * 256)}.${Math.floor(next() * 256)}`;
    choose(ip, locator.locate(ip));
  }
  process.stdout.write(
    JSON.stringify({ rssBeforeMb: before / 2 ** 20, rssMb: process.memoryUsage().rss / 2 ** 20, peakRssMb: peakRssMb(), bytesLoaded: locator.bytesLoaded }),
  );
}

async function main() {
  if (process.argv[2] === '--rss-child') return rssChild(process.argv[3], process.argv[4]);
  const sharedDir = resolve(argument('--shared', join(root, '..', 'shared', 'ranges')));
  const rounds = Number(argument('--rounds', '41'));
  if (!existsSync(join(sharedDir, 'aws-ip-ranges.json'))) {
    throw new Error(`shared feeds not found in ${sharedDir} (pass --shared DIR)`);
  }
  const { updateGeo } = await import(dist('geo/update.js'));
  const { compileLocations, bundledCitySources } = await import(dist('geo/locations.js'));
  const { createLocator } = await import(dist('src/geo/locator.js'));

  const work = mkdtempSync(join(tmpdir(), 'geo-bench-'));
  try {
    const ranges = join(work, 'cloud-ranges.mmdb');
    const started = process.hrtime.bigint();
    const update = await updateGeo({ from: sharedDir, out: ranges, locations: false });
    const updateSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (!update.written) throw new Error(`geo update failed: ${JSON.stringify(update.errors)}`);
    console.log(`ranges: ${JSON.stringify(update.counts)} -> ${update.stats.fileBytes} bytes, ${update.stats.nodeCount} nodes`);
    console.log(`ranges compile (AWS + Google): ${update.compileSeconds.toFixed(3)} s; whole geo update (read, parse, compile, verify, write): ${updateSeconds.toFixed(3)} s`);

    let locations = argument('--locations', join(root, 'data', 'locations.mmdb'));
    if (!existsSync(locations)) {
      locations = join(work, 'locations.mmdb');
      const compiled = await compileLocations({ sources: bundledCitySources(), out: locations, attribution: 'Source: DB-IP City Lite (https://db-ip.com), CC BY 4.0.' });
      console.log(`compact locations compiled in ${compiled.seconds.toFixed(1)} s: ${compiled.stats.fileBytes} bytes, ${compiled.stats.nodeCount} nodes`);
    }

    const locator = await createLocator({ ranges, locations: [locations], log: () => undefined });
    const choose = await serverChoice();
    const addresses = await sampleAddresses(sharedDir, 20_000);
    let sink = 0;
    const full = measure(addresses, rounds, (ip) => {
      if (choose(ip, locator.locate(ip))) sink++;
    });
    const locateOnly = measure(addresses, rounds, (ip) => {
      if (locator.locate(ip).provider) sink++;
    });
    const bareRanges = await maxmind.open(ranges);
    const bareLocations = await maxmind.open(locations);
    const maxmindRanges = measure(addresses, rounds, (ip) => {
      if (bareRanges.get(ip)) sink++;
    });
    const maxmindLocations = measure(addresses, rounds, (ip) => {
      if (bareLocations.get(ip)) sink++;
    });
    const format = (result) => `median ${(result.medianNs / 1000).toFixed(3)} µs, p90 ${(result.p90Ns / 1000).toFixed(3)} µs`;
    console.log(`lookup = ranges + geolocation + nearest bucket (${addresses.length} addresses x ${rounds} rounds): ${format(full)}`);
    console.log(`locate only (ranges + geolocation): ${format(locateOnly)}`);
    console.log(`bare maxmind get, ranges file: ${format(maxmindRanges)}`);
    console.log(`bare maxmind get, locations file: ${format(maxmindLocations)}`);
    console.log(`target: full lookup <= 2 µs median: ${full.medianNs <= 2000 ? 'met' : 'NOT met'}`);

    for (const [label, file] of [['compact locations', locations], ['raw DB-IP files (no compact file)', '']]) {
      const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--rss-child', ranges, file], { encoding: 'utf8' });
      if (child.status !== 0) throw new Error(child.stderr);
      const rss = JSON.parse(child.stdout);
      console.log(
        `RSS with ${label}: peak ${rss.peakRssMb.toFixed(1)} MB (node before loading ${rss.rssBeforeMb.toFixed(1)} MB, after ${rss.rssMb.toFixed(1)} MB; ${(rss.bytesLoaded / 2 ** 20).toFixed(1)} MB of databases)`,
      );
    }
    // How far the compact file moves answers, against the raw DB-IP files it came from.
    const { haversineKm } = await import(dist('src/geo/nearest.js'));
    const raw = await createLocator({ ranges, locations: bundledCitySources(), log: () => undefined });
    const next = seededRandom(99);
    const distances = [];
    let compared = 0;
    let sameCountry = 0;
    let missing = 0;
    for (let i = 0; i < 20_000; i++) {
      const ip = i % 4 === 3 ? `2${Math.floor(next() * 0xfff).toString(16).padStart(3, '0')}:${Math.floor(next() * 65536).toString(16)}::1` : `${1 + Math.floor(next() * 222)}.${Math.floor(next() * 256)}.${Math.floor(next() * 256)}.${Math.floor(next() * 256)}`;
      const want = raw.describe(ip);
      if (want.lat === undefined) continue;
      const got = locator.describe(ip);
      compared++;
      if (got.country === want.country) sameCountry++;
      if (got.lat === undefined) missing++;
      else distances.push(haversineKm(want, got));
    }
    raw.close();
    distances.sort((a, b) => a - b);
    const at = (q) => distances[Math.min(distances.length - 1, Math.floor(distances.length * q))].toFixed(1);
    console.log(
      `compact vs raw DB-IP on ${compared} located addresses: same country ${((100 * sameCountry) / compared).toFixed(2)}%, no coordinates ${missing}, distance p50 ${at(0.5)} km, p99 ${at(0.99)} km, max ${distances[distances.length - 1].toFixed(1)} km`,
    );

    if (sink < 0) console.log(sink);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
