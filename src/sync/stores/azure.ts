/**
 * `store: { type: azure }` through @azure/storage-blob. A blob goes up as staged blocks and
 * appears at its name only when the block list is committed, after the body's last byte,
 * which the digest guard releases only for the right content.
 */
import { BlobServiceClient, StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob';
import type { Readable } from 'node:stream';
import type { AzureStoreConfig } from '../settings.js';
import { readSecretFile } from './credentials.js';
import { StoreConfigError, type BlobStore } from './types.js';

const MIB = 1024 * 1024;

function isNotFound(error: unknown): boolean {
  return (error as { statusCode?: unknown }).statusCode === 404;
}

async function accountKey(config: AzureStoreConfig, env: NodeJS.ProcessEnv): Promise<string> {
  if (config.account_key_file !== '') return readSecretFile(config.account_key_file, 'store.account_key_file');
  const key = env.AZURE_STORAGE_KEY ?? env.AZURE_STORAGE_ACCESS_KEY;
  if (key === undefined || key === '') {
    throw new StoreConfigError(`azure account ${config.account}: set store.account_key_file or AZURE_STORAGE_KEY`);
  }
  return key;
}

export class AzureStore implements BlobStore {
  readonly description: string;

  private constructor(private readonly container: ContainerClient, private readonly config: AzureStoreConfig) {
    this.description = `azure ${config.account}/${config.container}`;
  }

  static async create(config: AzureStoreConfig, env: NodeJS.ProcessEnv): Promise<AzureStore> {
    const credential = new StorageSharedKeyCredential(config.account, await accountKey(config, env));
    const endpoint = config.endpoint !== '' ? config.endpoint : `https://${config.account}.blob.core.windows.net`;
    const service = new BlobServiceClient(endpoint, credential);
    return new AzureStore(service.getContainerClient(config.container), config);
  }

  async list(prefix: string): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    for await (const item of this.container.listBlobsFlat({ prefix })) sizes.set(item.name, item.properties.contentLength ?? 0);
    return sizes;
  }

  async stat(key: string): Promise<number | undefined> {
    try {
      const properties = await this.container.getBlockBlobClient(key).getProperties();
      return properties.contentLength ?? 0;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async put(key: string, body: Readable): Promise<void> {
    await this.container.getBlockBlobClient(key).uploadStream(body, this.config.block_size_mib * MIB, 2, {
      blobHTTPHeaders: { blobContentType: 'application/octet-stream' },
    });
  }

  async read(key: string): Promise<Readable> {
    const download = await this.container.getBlockBlobClient(key).download();
    const stream = download.readableStreamBody;
    if (stream === undefined) throw new Error(`${this.description}/${key}: no body`);
    return stream as Readable;
  }
}
