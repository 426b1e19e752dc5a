/**
 * A folder laid out like a Kubernetes Secret volume: `tls.crt` and `tls.key` are symlinks into
 * `..data`, itself a symlink to a timestamped folder. `update` writes what the kubelet writes
 * when cert-manager renews: a new timestamped folder, a `..data_tmp` link renamed over `..data`
 * (one atomic rename), then the old folder removed.
 */
import { copyFile, mkdir, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';

export class SecretMount {
  private generation = 0;
  private current: string | undefined;

  constructor(readonly dir: string) {}

  get cert(): string {
    return join(this.dir, 'tls.crt');
  }

  get key(): string {
    return join(this.dir, 'tls.key');
  }

  get ca(): string {
    return join(this.dir, 'ca.crt');
  }

  /** Publishes a new cert/key (and ca) the way the kubelet does. */
  async update(files: { cert: string; key: string; ca?: string }): Promise<void> {
    this.generation += 1;
    const name = `..2026_01_01_00_00_0${this.generation}.000000${this.generation}`;
    const folder = join(this.dir, name);
    await mkdir(folder, { recursive: true });
    await copyFile(files.cert, join(folder, 'tls.crt'));
    await copyFile(files.key, join(folder, 'tls.key'));
    if (files.ca !== undefined) await copyFile(files.ca, join(folder, 'ca.crt'));
    await symlink(name, join(this.dir, '..data_tmp'));
    await rename(join(this.dir, '..data_tmp'), join(this.dir, '..data'));
    if (this.current === undefined) {
      for (const file of ['tls.crt', 'tls.key', 'ca.crt']) await symlink(join('..data', file), join(this.dir, file));
    } else {
      await rm(join(this.dir, this.current), { recursive: true, force: true });
    }
    this.current = name;
  }
}
