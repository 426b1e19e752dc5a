/**
 * podman as a second real client, with vfs storage and every state directory it allows to be
 * moved placed in the suite's temp dir.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand, type CommandResult } from './processes.js';

export const PODMAN_BINARY = '/usr/bin/podman';

/** Why podman cannot be used here, or undefined when it can. */
export function podmanUnavailableReason(): string | undefined {
  if (!existsSync(PODMAN_BINARY)) return `${PODMAN_BINARY} is not installed (Debian package: podman)`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return 'podman with vfs storage in a private --root needs root; this run is unprivileged';
  }
  return undefined;
}

export class Podman {
  private constructor(private readonly dir: string, private readonly policyFile: string, private readonly baseEnv: NodeJS.ProcessEnv) {}

  static async create(dir: string, policyFile: string, baseEnv: NodeJS.ProcessEnv): Promise<Podman> {
    for (const sub of ['root', 'runroot', 'tmp', 'networks']) await mkdir(join(dir, sub), { recursive: true });
    const quoted = (sub: string): string => JSON.stringify(join(dir, sub));
    await writeFile(join(dir, 'containers.conf'), [
      '[engine]',
      `tmp_dir = ${quoted('tmp')}`,
      // The default file logger would write under /run/libpod.
      'events_logger = "none"',
      '[network]',
      `network_config_dir = ${quoted('networks')}`,
      '',
    ].join('\n'));
    await writeFile(join(dir, 'storage.conf'), [
      '[storage]',
      'driver = "vfs"',
      `graphroot = ${quoted('root')}`,
      `runroot = ${quoted('runroot')}`,
      '',
    ].join('\n'));
    return new Podman(dir, policyFile, baseEnv);
  }

  async pull(reference: string): Promise<CommandResult> {
    const env = {
      ...this.baseEnv,
      CONTAINERS_CONF: join(this.dir, 'containers.conf'),
      CONTAINERS_STORAGE_CONF: join(this.dir, 'storage.conf'),
    };
    return runCommand(PODMAN_BINARY, [
      '--root', join(this.dir, 'root'),
      '--runroot', join(this.dir, 'runroot'),
      '--storage-driver', 'vfs',
      'pull', '--tls-verify=false', '--signature-policy', this.policyFile,
      reference,
    ], { env });
  }
}
