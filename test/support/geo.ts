import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const FIXTURES = join(HERE, '..', 'geo-pipeline', 'fixtures');

/**
 * The shared data folder: $REGISTRY_EDGE_SHARED when set, else `../shared` beside the project
 * root (a checkout and CI), else /work/shared (where a worktree finds it).
 */
function sharedFolder(): string {
  const named = process.env.REGISTRY_EDGE_SHARED;
  if (named !== undefined && named !== '') return resolve(named);
  const beside = resolve(HERE, '..', '..', '..', 'shared');
  return existsSync(beside) ? beside : '/work/shared';
}

export const SHARED_RANGES = join(sharedFolder(), 'ranges');

/** Path of a file in the shared ranges folder, failing with a clear message when it is not there. */
export function sharedRangesFile(name: string): string {
  const path = join(SHARED_RANGES, name);
  if (!existsSync(path)) {
    throw new Error(`shared data file missing: ${path} (tests marked "(shared)" need ../shared/ranges beside the project root, or REGISTRY_EDGE_SHARED)`);
  }
  return path;
}

/** A temporary directory removed by the returned cleanup function. */
export function tempDir(): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), 'registry-edge-geo-'));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

let mmdblookupChecked = false;

function requireMmdblookup(): void {
  if (mmdblookupChecked) return;
  const probe = spawnSync('mmdblookup', ['--version'], { encoding: 'utf8' });
  if (probe.error) {
    throw new Error('mmdblookup (libmaxminddb) is not installed: apt-get install mmdb-bin');
  }
  mmdblookupChecked = true;
}

export type FlatRecord = Record<string, string | number | boolean>;

/**
 * Parses mmdblookup's dump of a flat map record, e.g.
 *   {
 *     "provider":
 *       "aws" <utf8_string>
 *     "latitude":
 *       48.900000 <double>
 *   }
 */
export function parseMmdblookupOutput(text: string): FlatRecord {
  const record: FlatRecord = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const key = /^\s*"([^"]+)":\s*$/.exec(lines[i] ?? '');
    if (!key?.[1]) continue;
    const value = /^\s*(.*?) <(\w+)>\s*$/.exec(lines[i + 1] ?? '');
    if (!value?.[1] || !value[2]) throw new Error(`unexpected mmdblookup output near: ${lines[i + 1]}`);
    const [, raw, type] = value;
    if (type === 'utf8_string') record[key[1]] = JSON.parse(raw) as string;
    else if (type === 'boolean') record[key[1]] = raw === 'true';
    else record[key[1]] = Number(raw);
    i++;
  }
  return record;
}

/** Looks `ip` up with libmaxminddb's mmdblookup; null when it reports no entry. */
export function mmdblookup(file: string, ip: string): Promise<FlatRecord | null> {
  requireMmdblookup();
  return new Promise((resolvePromise, reject) => {
    execFile('mmdblookup', ['--file', file, '--ip', ip], { encoding: 'utf8' }, (error, stdout, stderr) => {
      if (stderr.includes('Could not find an entry')) return resolvePromise(null);
      if (error) return reject(new Error(`mmdblookup ${ip} failed: ${stderr || error.message}`));
      resolvePromise(parseMmdblookupOutput(stdout));
    });
  });
}

/** mmdblookup's verbose metadata block (it validates the metadata types while opening). */
export function mmdblookupMetadata(file: string, ip: string): string {
  requireMmdblookup();
  const result = spawnSync('mmdblookup', ['--file', file, '--ip', ip, '--verbose'], { encoding: 'utf8' });
  if (result.status !== 0 && !result.stderr.includes('Could not find an entry')) {
    throw new Error(`mmdblookup --verbose failed: ${result.stderr}`);
  }
  return result.stdout;
}

/** Runs `task` over `items` with at most `width` in flight (mmdblookup is a process per IP). */
export async function mapLimited<T, R>(items: readonly T[], width: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T);
    }
  });
  await Promise.all(workers);
  return results;
}

/** Deterministic PRNG (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Text of a 32-bit IPv4 value. */
export function ipv4Text(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join('.');
}

/** Text of 16 bytes as a full (uncompressed) IPv6 address. */
export function ipv6Text(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let g = 0; g < 8; g++) groups.push((((bytes[g * 2] ?? 0) << 8) | (bytes[g * 2 + 1] ?? 0)).toString(16));
  return groups.join(':');
}
