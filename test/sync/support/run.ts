/** Running sync and verify in-process with captured output and a clock that never waits. */
import { afterEach, beforeEach } from 'vitest';
import { ScriptedRegistry } from './scripted-registry.js';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { SyncArgs, VerifyArgs } from '../../../src/sync/args.js';
import { runSync } from '../../../src/sync/run.js';
import { SYNC_DEFAULTS, type SyncSection, type SyncSettings } from '../../../src/sync/settings.js';
import { runVerify } from '../../../src/sync/verify.js';

export class Capture extends Writable {
  text = '';
  isTTY = false;
  columns = 100;
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }

  events(): Array<Record<string, unknown>> {
    return this.text.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);
  }
}

export interface Ran {
  code: number;
  stdout: Capture;
  stderr: Capture;
  sleeps: number[];
}

export const NO_ARGS: SyncArgs = { config: undefined, dryRun: false, repositories: [], buckets: [], json: true };

function io(env: NodeJS.ProcessEnv = {}, tty = false) {
  const stdout = new Capture();
  stdout.isTTY = tty;
  const stderr = new Capture();
  const sleeps: number[] = [];
  return { stdout, stderr, sleeps, env, sleep: async (ms: number) => void sleeps.push(ms), random: () => 0.5 };
}

export async function sync(settings: SyncSettings, args: Partial<SyncArgs> = {}, options: { env?: NodeJS.ProcessEnv; tty?: boolean } = {}): Promise<Ran> {
  const streams = io(options.env, options.tty);
  const code = await runSync({ settings, args: { ...NO_ARGS, ...args } }, streams);
  return { code, ...streams };
}

export async function verify(settings: SyncSettings, args: Partial<VerifyArgs> = {}, tty = false): Promise<Ran> {
  const streams = io({}, tty);
  const code = await runVerify({ settings, args: { config: undefined, buckets: [], deep: false, json: !tty, ...args } }, streams);
  return { code, ...streams };
}

export function settingsFor(originUrl: string, root: string, sync: Partial<SyncSection>, inventory = join(root, 'inventory.json')): SyncSettings {
  return {
    origin: { url: originUrl, path: '' },
    blobs: { key: '/containers/images/{digest}', inventory },
    buckets: [{ name: 'local', url: 'http://127.0.0.1:9', store: { type: 'dir', path: join(root, 'store') } }],
    sync: { ...SYNC_DEFAULTS, origin_rps: 0, ...sync },
  };
}

export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'registry-edge-sync-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** Key → whether its bytes hash to its name, for every visible object of a dir store. */
export async function storeContents(root: string): Promise<Map<string, boolean>> {
  const folder = join(root, 'store', 'containers', 'images');
  const names = (await readdir(folder).catch(() => [] as string[])).filter((name) => !name.startsWith('.'));
  const contents = new Map<string, boolean>();
  for (const name of names.sort()) {
    const hex = createHash('sha256').update(await readFile(join(folder, name))).digest('hex');
    contents.set(name, name === `sha256:${hex}`);
  }
  return contents;
}

/** A fresh scripted origin and temp folder for every test of the file that calls this. */
export function perTest(): { origin: ScriptedRegistry; temp: { dir: string; remove: () => Promise<void> } } {
  const context = {} as { origin: ScriptedRegistry; temp: { dir: string; remove: () => Promise<void> } };
  beforeEach(async () => {
    context.origin = await new ScriptedRegistry().start();
    context.temp = await tempDir();
  });
  afterEach(async () => {
    await context.origin.stop();
    await context.temp.remove();
  });
  return context;
}
