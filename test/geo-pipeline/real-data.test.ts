/**
 * The ranges database compiled from the real AWS and Google Cloud feeds in ../shared/ranges,
 * checked against a brute-force longest-prefix search over the raw JSON (independent of
 * geo/feeds.ts), through maxmind, libmaxminddb's mmdblookup and our own reader.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Reader } from 'maxmind';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { updateGeo, type UpdateGeoResult } from '../../geo/update.js';
import { MmdbReader } from '../../geo/mmdb/reader.js';
import { mapLimited, mmdblookup, seededRandom, SHARED_RANGES, sharedRangesFile, tempDir } from '../support/geo.js';

interface RawPrefix {
  cidr: string;
  provider: string;
  region?: string;
  v6: boolean;
  start: bigint;
  length: number;
}

function toBigInt(address: string): bigint {
  if (!address.includes(':')) return address.split('.').reduce((sum, octet) => (sum << 8n) | BigInt(octet), 0n);
  const [head = '', tail = ''] = address.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...headGroups, ...new Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups] : headGroups;
  return groups.reduce((sum, group) => (sum << 16n) | BigInt(parseInt(group, 16)), 0n);
}

function toText(value: bigint, v6: boolean): string {
  if (!v6) return [24n, 16n, 8n, 0n].map((shift) => Number((value >> shift) & 0xffn)).join('.');
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(((value >> shift) & 0xffffn).toString(16));
  return groups.join(':');
}

function rawPrefixes(): RawPrefix[] {
  const aws = JSON.parse(readFileSync(sharedRangesFile('aws-ip-ranges.json'), 'utf8')) as {
    prefixes: Array<{ ip_prefix: string; region: string }>;
    ipv6_prefixes: Array<{ ipv6_prefix: string; region: string }>;
  };
  const gcp = JSON.parse(readFileSync(sharedRangesFile('gcp-cloud.json'), 'utf8')) as {
    prefixes: Array<{ ipv4Prefix?: string; ipv6Prefix?: string; scope: string }>;
  };
  const entry = (cidr: string, provider: string, region: string | undefined): RawPrefix => {
    const [address = '', length = '0'] = cidr.split('/');
    return { cidr, provider, ...(region ? { region } : {}), v6: cidr.includes(':'), start: toBigInt(address), length: Number(length) };
  };
  return [
    ...aws.prefixes.map((p) => entry(p.ip_prefix, 'aws', p.region === 'GLOBAL' ? undefined : p.region)),
    ...aws.ipv6_prefixes.map((p) => entry(p.ipv6_prefix, 'aws', p.region === 'GLOBAL' ? undefined : p.region)),
    ...gcp.prefixes.map((p) => entry((p.ipv4Prefix ?? p.ipv6Prefix) as string, 'gcp', p.scope === 'global' ? undefined : p.scope)),
  ];
}

const bits = (v6: boolean) => (v6 ? 128n : 32n);
const contains = (prefix: RawPrefix, address: bigint, v6: boolean) =>
  prefix.v6 === v6 && address >> (bits(v6) - BigInt(prefix.length)) === prefix.start >> (bits(v6) - BigInt(prefix.length));

/** Longest matching prefix; among equal ones (duplicates per service) one with a region. */
function expected(prefixes: RawPrefix[], address: bigint, v6: boolean): Record<string, string> | null {
  let best: RawPrefix | undefined;
  for (const prefix of prefixes) {
    if (!contains(prefix, address, v6)) continue;
    if (!best || prefix.length > best.length || (prefix.length === best.length && !best.region && prefix.region)) best = prefix;
  }
  if (!best) return null;
  return best.region ? { provider: best.provider, region: best.region } : { provider: best.provider };
}

let work: ReturnType<typeof tempDir>;
let out = '';
let result: UpdateGeoResult;
let prefixes: RawPrefix[] = [];
let viaMaxmind: Reader<Record<string, string>>;
let viaReader: MmdbReader;
/** Addresses sampled inside prefixes of every region, plus random ones; [text, v6, value]. */
const samples: Array<[string, boolean, bigint]> = [];

beforeAll(async () => {
  prefixes = rawPrefixes();
  work = tempDir();
  out = join(work.path, 'cloud-ranges.mmdb');
  result = await updateGeo({ from: SHARED_RANGES, out, locations: false });
  const file = readFileSync(out);
  viaMaxmind = new Reader(file);
  viaReader = new MmdbReader(file);

  const next = seededRandom(2026);
  const byRegion = new Map<string, RawPrefix[]>();
  for (const prefix of prefixes) {
    const key = `${prefix.provider}/${prefix.region ?? '-'}/${prefix.v6 ? 6 : 4}`;
    byRegion.set(key, [...(byRegion.get(key) ?? []), prefix]);
  }
  for (const group of byRegion.values()) {
    for (let i = 0; i < 3; i++) {
      const prefix = group[Math.floor(next() * group.length)] as RawPrefix;
      const hostBits = bits(prefix.v6) - BigInt(prefix.length);
      const offset = hostBits === 0n ? 0n : BigInt(Math.floor(next() * 2 ** 31)) % (1n << hostBits);
      const value = prefix.start + offset;
      samples.push([toText(value, prefix.v6), prefix.v6, value]);
    }
  }
  for (let i = 0; i < 100; i++) {
    const value = BigInt(Math.floor(next() * 2 ** 32));
    samples.push([toText(value, false), false, value]);
  }
});
afterAll(() => work?.cleanup());

describe('cloud ranges from the real AWS and Google Cloud feeds (shared: ../shared/ranges)', () => {
  test('compiles every distinct prefix of both feeds (shared)', () => {
    const distinct = (provider: string) => new Set(prefixes.filter((p) => p.provider === provider).map((p) => p.cidr)).size;
    expect(result.written).toBe(true);
    expect(result.counts['aws']).toBe(distinct('aws'));
    expect(result.counts['gcp']).toBe(distinct('gcp'));
    expect(result.counts['aws']).toBeGreaterThan(10_000);
    expect(result.failed).toEqual([]);
  });

  test('sampled IPv4 and IPv6 addresses of every region resolve like a brute-force longest-prefix search (shared)', () => {
    const regions = new Set<string>();
    let v6Checked = 0;
    for (const [ip, v6, value] of samples) {
      const want = expected(prefixes, value, v6);
      expect(viaMaxmind.get(ip), ip).toEqual(want);
      expect(viaReader.get(ip), ip).toEqual(want);
      if (want?.['region']) regions.add(`${want['provider']}/${want['region']}`);
      if (v6) v6Checked++;
    }
    // 42 AWS regions and 47 Google Cloud regions appear in the feeds.
    expect(regions.size).toBeGreaterThan(80);
    expect(v6Checked).toBeGreaterThan(100);
  });

  test('a region prefix with a more specific prefix of another region inside: the longest prefix wins (shared)', () => {
    // Sorted by start address, the prefixes nested in `outer` follow it directly.
    const aws = prefixes.filter((p) => p.provider === 'aws' && !p.v6).sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.length - b.length));
    const pairs: Array<[RawPrefix, RawPrefix]> = [];
    for (let i = 0; i < aws.length && pairs.length < 20; i++) {
      const outer = aws[i] as RawPrefix;
      for (let j = i + 1; j < aws.length && contains(outer, (aws[j] as RawPrefix).start, false); j++) {
        const inner = aws[j] as RawPrefix;
        if (inner.length > outer.length && inner.region !== outer.region) pairs.push([outer, inner]);
      }
    }
    expect(pairs.length).toBeGreaterThan(0);
    for (const [outer, inner] of pairs) {
      const innerWant = inner.region ? { provider: 'aws', region: inner.region } : { provider: 'aws' };
      expect(viaMaxmind.get(toText(inner.start, false)), `${inner.cidr} inside ${outer.cidr}`).toEqual(innerWant);
      // The outer prefix still answers outside every more specific prefix it contains.
      const hostBits = 32n - BigInt(outer.length);
      for (let candidate = outer.start; candidate < outer.start + (1n << hostBits); candidate += 1n << (hostBits > 8n ? hostBits - 8n : 0n)) {
        if (prefixes.some((p) => p.length > outer.length && contains(p, candidate, false))) continue;
        expect(viaMaxmind.get(toText(candidate, false)), `${toText(candidate, false)} in ${outer.cidr}`).toEqual(expected(prefixes, candidate, false));
        expect(viaMaxmind.get(toText(candidate, false))).toEqual(outer.region ? { provider: 'aws', region: outer.region } : { provider: 'aws' });
        break;
      }
    }
  });

  test('libmaxminddb (mmdblookup) reads the same answers as maxmind (shared)', async () => {
    const chosen = samples.filter((_, index) => index % 3 === 0).slice(0, 200);
    const answers = await mapLimited(chosen, 8, ([ip]) => mmdblookup(out, ip));
    chosen.forEach(([ip], index) => {
      expect(answers[index], ip).toEqual(viaMaxmind.get(ip));
    });
    expect(answers.filter((answer) => answer !== null).length).toBeGreaterThan(100);
  });

  test('build_epoch is stored so the server can report the data age (shared)', () => {
    expect(Math.abs(viaMaxmind.metadata.buildEpoch.getTime() - Date.now())).toBeLessThan(60_000);
    expect(viaReader.metadata.databaseType).toBe('registry-edge-cloud-ranges');
  });
});
