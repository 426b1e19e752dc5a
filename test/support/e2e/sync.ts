/**
 * Running `registry-edge sync` / `verify` as a process, and reading what it left in a `dir`
 * store, through the built CLI.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PROJECT_ROOT } from './front-door.js';
import { ManagedProcess, runCommand, type CommandResult } from './processes.js';

export const SYNC_ENTRY = [join(PROJECT_ROOT, 'dist', 'bundle', 'cli.js')];
export const KEY_FOLDER = join('containers', 'images');

export interface SyncEvent {
  event: string;
  [field: string]: unknown;
}

export function syncEvents(stdout: string): SyncEvent[] {
  return stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as SyncEvent);
}

export async function writeConfig(dir: string, name: string, document: Record<string, unknown>): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, JSON.stringify(document, null, 2));
  return file;
}

function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.REGISTRY_EDGE_CONFIG;
  delete env.DOCKER_CONFIG;
  return env;
}

export async function runSyncCommand(command: 'sync' | 'verify', args: string[], env?: NodeJS.ProcessEnv): Promise<CommandResult & { events: SyncEvent[] }> {
  const result = await runCommand(process.execPath, [...SYNC_ENTRY, command, ...args], { env: childEnv(env) }, 120_000);
  return { ...result, events: syncEvents(result.stdout) };
}

export function spawnSync(args: string[]): ManagedProcess {
  return new ManagedProcess('registry-edge sync', process.execPath, [...SYNC_ENTRY, 'sync', ...args], { env: childEnv() });
}

/** Key → sha256 hex of every visible file in the store's key folder. */
export async function storeSnapshot(root: string): Promise<Map<string, string>> {
  const folder = join(root, KEY_FOLDER);
  const names = (await readdir(folder).catch(() => [] as string[])).filter((name) => !name.startsWith('.')).sort();
  const snapshot = new Map<string, string>();
  for (const name of names) snapshot.set(name, createHash('sha256').update(await readFile(join(folder, name))).digest('hex'));
  return snapshot;
}

/** Keys whose bytes are not the content their digest names: must always be empty. */
export function wrongKeys(snapshot: ReadonlyMap<string, string>): string[] {
  return [...snapshot].filter(([key, hex]) => key !== `sha256:${hex}`).map(([key]) => key);
}

export function describeRun(what: string, result: CommandResult): string {
  return `${what} exited ${result.code}\nstdout:\n${result.stdout.slice(-4000)}\nstderr:\n${result.stderr.slice(-4000)}`;
}
