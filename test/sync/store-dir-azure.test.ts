/**
 * The dir store on a real folder, and the azure store against Azurite (Microsoft's Azure
 * Storage emulator from npm, a real local process, started with --disableTelemetry so it
 * sends nothing off the machine; it verifies the SharedKey signatures).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { azureStoreSchema } from '../../src/config/sync.js';
import { DirStore } from '../../src/sync/stores/dir.js';
import { openStore } from '../../src/sync/stores/index.js';
import { KEY, blob, checkStoreContract } from './support/store-cases.js';

/** Azurite's documented development account and key. */
const ACCOUNT = 'devstoreaccount1';
const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

let dir: string;
let azurite: ChildProcess | undefined;
let azuriteUrl = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'registry-edge-stores-'));
  const child = spawn(join(process.cwd(), 'node_modules', '.bin', 'azurite-blob'), [
    '--disableTelemetry', '--silent', '--skipApiVersionCheck', '--blobHost', '127.0.0.1', '--blobPort', '0', '--location', join(dir, 'azurite'),
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  azurite = child;
  azuriteUrl = await new Promise<string>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`azurite did not start:\n${output}`)), 15_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listens on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] ?? '');
      }
    });
    child.once('exit', () => reject(new Error(`azurite exited:\n${output}`)));
  });
  await writeFile(join(dir, 'azure-key'), `${DEV_KEY}\n`);
});

afterAll(async () => {
  azurite?.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

describe('dir store', () => {
  it('keeps the contract, and clears temporary files only of writers that are gone', async () => {
    const store = new DirStore(join(dir, 'dir'));
    await checkStoreContract(store, blob('dir good', 300_000), blob('dir bad', 200_000));
    const folder = join(dir, 'dir', 'containers', 'images');
    await writeFile(join(folder, '.sha256:aa.999999999-0123abcd.partial'), 'left by a killed sync');
    await writeFile(join(folder, `.sha256:bb.${process.pid}-0123abcd.partial`), 'being written now');
    await store.prepare('containers/images/');
    const names = await readdir(folder);
    expect(names.filter((name) => name.endsWith('.partial'))).toEqual([`.sha256:bb.${process.pid}-0123abcd.partial`]);
    expect((await new DirStore(join(dir, 'nothing')).list('containers/images/'))?.size).toBe(0);
  });
});

describe('azure store (Azurite)', () => {
  it('keeps the contract: blocks are committed only after the last, verified byte', async () => {
    const config = v.parse(azureStoreSchema('/'), {
      type: 'azure', account: ACCOUNT, container: 'blobs', endpoint: `${azuriteUrl}/${ACCOUNT}`, account_key_file: join(dir, 'azure-key'), block_size_mib: 1,
    });
    const store = await openStore(config, {});
    const { BlobServiceClient, StorageSharedKeyCredential } = await import('@azure/storage-blob');
    await new BlobServiceClient(`${azuriteUrl}/${ACCOUNT}`, new StorageSharedKeyCredential(ACCOUNT, DEV_KEY)).getContainerClient('blobs').createIfNotExists();
    await checkStoreContract(store, blob('azure good', 2_500_000), blob('azure bad', 2_200_000));
    expect(await store.stat(KEY(`sha256:${'1'.repeat(64)}`))).toBeUndefined();
  });

  it('takes the key from AZURE_STORAGE_KEY, and names the setting when there is none', async () => {
    const config = v.parse(azureStoreSchema('/'), { type: 'azure', account: ACCOUNT, container: 'blobs', endpoint: `${azuriteUrl}/${ACCOUNT}` });
    const store = await openStore(config, { AZURE_STORAGE_KEY: DEV_KEY });
    expect(await store.list('containers/images/')).toBeInstanceOf(Map);
    await expect(openStore(config, {})).rejects.toThrow(/set store.account_key_file or AZURE_STORAGE_KEY/);
    const wrong = await openStore(config, { AZURE_STORAGE_KEY: Buffer.from('wrong key').toString('base64') });
    await expect(wrong.stat(KEY(`sha256:${'2'.repeat(64)}`))).rejects.toThrow();
  });
});
