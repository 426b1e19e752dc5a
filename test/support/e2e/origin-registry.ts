/** The origin: the CNCF distribution registry (Debian `docker-registry`) on a loopback port. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseCombinedLog, type AccessRecord } from './access-log.js';
import { ManagedProcess, startOnFreePort } from './processes.js';

export const REGISTRY_BINARY = '/usr/bin/docker-registry';

/**
 * Plain HTTP, filesystem storage and nothing that reaches beyond the machine: no redis, no
 * notifications, no debug server, no storage health probe, no background upload purge.
 */
export function originRegistryConfig(storageDir: string, port: number): string {
  return [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: false',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(storageDir)}`,
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    // A fixed secret silences the multi-instance warning; uploads never leave this process.
    '  secret: registry-edge-e2e',
    'health:',
    '  storagedriver:',
    '    enabled: false',
    '',
  ].join('\n');
}

export class OriginRegistry {
  constructor(readonly process: ManagedProcess, readonly url: string) {}

  /** Every request the registry has logged so far. */
  records(): AccessRecord[] {
    return parseCombinedLog(this.process.output);
  }

  get host(): string {
    return new URL(this.url).host;
  }
}

export async function startOriginRegistry(workDir: string): Promise<OriginRegistry> {
  const storageDir = join(workDir, 'storage');
  await mkdir(storageDir, { recursive: true });
  return startRegistryOver(storageDir, workDir, 'docker-registry');
}

/** A docker-registry serving STORAGE_DIR on a free loopback port; several may share one storage (origin replicas). */
export async function startRegistryOver(storageDir: string, workDir: string, label: string): Promise<OriginRegistry> {
  await mkdir(workDir, { recursive: true });
  return startOnFreePort(async (port) => {
    const configFile = join(workDir, 'config.yml');
    await writeFile(configFile, originRegistryConfig(storageDir, port));
    const registry = new ManagedProcess(label, REGISTRY_BINARY, ['serve', configFile], { cwd: workDir });
    const url = `http://127.0.0.1:${port}`;
    try {
      await registry.waitUntil(async () => (await fetch(`${url}/v2/`)).status === 200, 15_000);
    } catch (error) {
      await registry.stop();
      throw error;
    }
    return new OriginRegistry(registry, url);
  });
}
