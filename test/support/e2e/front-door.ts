/** The system under test: the built `registry-edge serve` process. */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManagedProcess } from './processes.js';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CLI = join(PROJECT_ROOT, 'dist', 'bundle', 'cli.js');

export interface FrontDoorBucket {
  name: string;
  url: string;
  networks?: string[];
  /** A private bucket's `signing:` block, written as is. */
  signing?: Record<string, unknown>;
}

export interface FrontDoorSetup {
  originUrl: string;
  buckets: FrontDoorBucket[];
  /** Bucket name or URL; empty sends unmatched clients' blobs to the origin. */
  defaultBucket: string;
  /** Where `geo.ranges` points; a missing file is allowed (loopback clients match no cloud). */
  rangesFile: string;
  /** Extra `listen` fields (`tls`); with `tls` the door's URL is https. */
  listen?: Record<string, unknown>;
  /** `blobs.inventory`: digests known to be in the buckets, redirected without a HEAD. */
  inventory?: string;
  /** The admin listener's port (from `freePort`); without it the admin listener is off. */
  adminPort?: number;
  /** Top-level sections that replace the ones built here (`origin` with `mirrors`, `routing`). */
  sections?: Record<string, unknown>;
}

/** The config document; YAML is a superset of JSON, so it is written as JSON. */
export function frontDoorConfig(setup: FrontDoorSetup): Record<string, unknown> {
  return {
    listen: { host: '127.0.0.1', port: 0, ...setup.listen },
    origin: { url: setup.originUrl, path: '' },
    client_ip: { trusted_hops: 0 },
    geo: { ranges: setup.rangesFile },
    blobs: {
      key: '/containers/images/{digest}',
      ...(setup.inventory === undefined ? {} : { inventory: setup.inventory }),
      check: { timeout_ms: 5000, ttl_s: 21600, negative_ttl_s: 60, max_entries: 100000 },
    },
    providers: {},
    buckets: setup.buckets.map((bucket) => ({
      name: bucket.name,
      url: bucket.url,
      networks: bucket.networks ?? [],
      ...(bucket.signing === undefined ? {} : { signing: bucket.signing }),
    })),
    default_bucket: setup.defaultBucket,
    // Port 0 (off) unless asked: several front doors run at once and must not fight over the default admin port.
    admin: { host: '127.0.0.1', port: setup.adminPort ?? 0 },
    log: { level: 'info', client_ip: 'full' },
    ...setup.sections,
  };
}

/** Environment variables the CLI honours as archeio-compatible overrides; kept out of the child. */
const OVERRIDE_VARIABLES = [
  'PORT', 'UPSTREAM_REGISTRY_ENDPOINT', 'UPSTREAM_REGISTRY_PATH', 'SIGNATURE_UPSTREAM_ENDPOINT',
  'DEFAULT_AWS_BASE_URL', 'TRUSTED_PROXY_HOPS', 'REGISTRY_EDGE_CONFIG',
];

export class FrontDoor {
  constructor(readonly label: string, readonly process: ManagedProcess, readonly url: string, readonly configFile: string) {}

  get host(): string {
    return new URL(this.url).host;
  }
}

/** Parses the `"msg":"listening"` JSON line; undefined for any other line. */
export function listeningPort(line: string): number | undefined {
  if (!line.includes('"listening"')) return undefined;
  try {
    const record = JSON.parse(line) as { msg?: unknown; port?: unknown };
    return record.msg === 'listening' && typeof record.port === 'number' && record.port > 0 ? record.port : undefined;
  } catch {
    return undefined;
  }
}

export async function startFrontDoor(label: string, workDir: string, setup: FrontDoorSetup): Promise<FrontDoor> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm run test:e2e does)`);
  const configFile = join(workDir, `${label}.yaml`);
  await writeFile(configFile, JSON.stringify(frontDoorConfig(setup), null, 2));
  const env = { ...process.env };
  for (const name of OVERRIDE_VARIABLES) delete env[name];
  const frontDoor = new ManagedProcess(`registry-edge ${label}`, process.execPath, [CLI, 'serve', '--config', configFile, '--port', '0'], {
    cwd: workDir,
    env,
  });
  try {
    const line = await frontDoor.waitForStdoutLine((candidate) => listeningPort(candidate) !== undefined, 20_000);
    const scheme = setup.listen?.tls === undefined ? 'http' : 'https';
    return new FrontDoor(label, frontDoor, `${scheme}://127.0.0.1:${listeningPort(line) ?? 0}`, configFile);
  } catch (error) {
    await frontDoor.stop();
    throw error;
  }
}
