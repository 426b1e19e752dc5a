/**
 * skopeo confined to the suite's temp dir: its own policy, auth file, registries config,
 * temp dir and HOME, so it neither reads nor writes anything of the machine's user.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand, type CommandResult } from './processes.js';

export const SKOPEO_BINARY = '/usr/bin/skopeo';

export class Skopeo {
  private constructor(private readonly dir: string) {}

  static async create(dir: string): Promise<Skopeo> {
    await mkdir(join(dir, 'tmp'), { recursive: true });
    await mkdir(join(dir, 'home'), { recursive: true });
    await mkdir(join(dir, 'registries.d'), { recursive: true });
    // Signature checks are not what this suite is about; digests are verified regardless.
    await writeFile(join(dir, 'policy.json'), JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    await writeFile(join(dir, 'auth.json'), JSON.stringify({ auths: {} }));
    await writeFile(join(dir, 'registries.conf'), 'unqualified-search-registries = []\n');
    return new Skopeo(dir);
  }

  get policyFile(): string {
    return join(this.dir, 'policy.json');
  }

  get env(): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: join(this.dir, 'home'),
      TMPDIR: join(this.dir, 'tmp'),
      XDG_RUNTIME_DIR: join(this.dir, 'tmp'),
      REGISTRY_AUTH_FILE: join(this.dir, 'auth.json'),
      CONTAINERS_REGISTRIES_CONF: join(this.dir, 'registries.conf'),
    };
  }

  async run(args: string[]): Promise<CommandResult> {
    const globalFlags = [
      '--policy', this.policyFile,
      '--registries.d', join(this.dir, 'registries.d'),
      '--tmpdir', join(this.dir, 'tmp'),
    ];
    return runCommand(SKOPEO_BINARY, [...globalFlags, ...args], { env: this.env });
  }

  /** Pushes `oci:LAYOUT:TAG` to a plain-HTTP registry. */
  async push(layoutDir: string, tag: string, destination: string, all = false): Promise<CommandResult> {
    return this.run(['copy', ...(all ? ['--all'] : []), '--dest-tls-verify=false', `oci:${layoutDir}:${tag}`, `docker://${destination}`]);
  }

  /** Pulls from a plain-HTTP registry into `oci:LAYOUT:TAG`. */
  async pull(source: string, layoutDir: string, tag: string, all = false): Promise<CommandResult> {
    return this.run(['copy', ...(all ? ['--all'] : []), '--src-tls-verify=false', `docker://${source}`, `oci:${layoutDir}:${tag}`]);
  }
}

export function describeFailure(what: string, result: CommandResult): string {
  return `${what} exited ${result.code}\nstdout:\n${result.stdout}\nstderr:\n${result.stderr}`;
}
