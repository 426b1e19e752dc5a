/**
 * A private containerd daemon of the suite's own (Debian `containerd`, 1.6 on Debian 12): its
 * own root, state, socket and config in the suite's temp dir, the CRI plugin off, so it never
 * meets the machine's containerd (if any) and nothing is left in /var, /run or /opt. `ctr`
 * talks to it by `--address`.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ManagedProcess, runCommand, type CommandResult } from './processes.js';

export const CONTAINERD_BINARY = '/usr/bin/containerd';
export const CTR_BINARY = '/usr/bin/ctr';

/** Why containerd cannot run here, or undefined when it can. */
export function containerdUnavailableReason(): string | undefined {
  for (const binary of [CONTAINERD_BINARY, CTR_BINARY]) {
    if (!existsSync(binary)) return `${binary} is not installed (Debian package: containerd)`;
  }
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'containerd needs root; this run is unprivileged';
  return undefined;
}

export function containerdConfig(dir: string): string {
  const path = (name: string): string => JSON.stringify(join(dir, name));
  return [
    'version = 2',
    `root = ${path('root')}`,
    `state = ${path('state')}`,
    // No Kubernetes here, and snapshotters this machine may not support stay quiet.
    'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]',
    '[grpc]',
    `  address = ${path('containerd.sock')}`,
    '[ttrpc]',
    `  address = ${path('containerd.sock.ttrpc')}`,
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${path('opt')}`,
    // Each namespace downloads its own copy, so every test's pull really crosses the wire.
    '[plugins."io.containerd.metadata.v1.bolt"]',
    '  content_sharing_policy = "isolated"',
    '',
  ].join('\n');
}

export interface PullOptions {
  /** The `--hosts-dir` holding `<registry>/hosts.toml`. */
  hostsDir: string;
  namespace: string;
  allPlatforms?: boolean;
}

export class Containerd {
  private constructor(
    readonly dir: string,
    readonly process: ManagedProcess,
  ) {}

  get socket(): string {
    return join(this.dir, 'containerd.sock');
  }

  static async start(dir: string): Promise<Containerd> {
    await mkdir(dir, { recursive: true });
    const configFile = join(dir, 'config.toml');
    await writeFile(configFile, containerdConfig(dir));
    const daemon = new ManagedProcess('containerd', CONTAINERD_BINARY, [
      '--config', configFile, '--root', join(dir, 'root'), '--state', join(dir, 'state'), '--address', join(dir, 'containerd.sock'),
    ]);
    const containerd = new Containerd(dir, daemon);
    try {
      await daemon.waitUntil(async () => (await containerd.ctr(['version'], 'default')).code === 0, 20_000);
    } catch (error) {
      await daemon.stop();
      throw error;
    }
    return containerd;
  }

  ctr(args: string[], namespace: string): Promise<CommandResult> {
    return runCommand(CTR_BINARY, ['--address', this.socket, '--namespace', namespace, ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  }

  /** `ctr images pull --hosts-dir DIR REF`, unpacked with the native snapshotter (works everywhere). */
  pull(reference: string, options: PullOptions): Promise<CommandResult> {
    return this.ctr([
      'images', 'pull', '--hosts-dir', options.hostsDir, '--snapshotter', 'native',
      ...(options.allPlatforms === true ? ['--all-platforms'] : []),
      reference,
    ], options.namespace);
  }

  /** The digest an image name resolved to in a namespace, or undefined. */
  async imageDigest(reference: string, namespace: string): Promise<string | undefined> {
    const listed = await this.ctr(['images', 'ls'], namespace);
    const line = listed.stdout.split('\n').find((row) => row.split(/\s+/)[0] === reference);
    return line?.split(/\s+/).find((field) => field.startsWith('sha256:'));
  }

  /** Content the namespace holds: digest → size, from `ctr content ls`. */
  async content(namespace: string): Promise<Map<string, number>> {
    const listed = await this.ctr(['content', 'ls'], namespace);
    const content = new Map<string, number>();
    for (const row of listed.stdout.split('\n').slice(1)) {
      const [digest, size] = row.split(/\s+/);
      if (digest?.startsWith('sha256:') === true) content.set(digest, Number.parseInt(size ?? '', 10));
    }
    return content;
  }

  /** sha256 of the bytes the content store holds for `digest` (undefined when absent). */
  async storedDigest(digest: string): Promise<string | undefined> {
    const path = join(this.dir, 'root', 'io.containerd.content.v1.content', 'blobs', 'sha256', digest.slice('sha256:'.length));
    const bytes = await readFile(path).catch(() => undefined);
    return bytes === undefined ? undefined : `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  }
}
