/**
 * `store: { type: gcs }` through @google-cloud/storage. Small blobs go up in one multipart
 * request, large ones as a resumable upload; either is finalised only by the body's last
 * bytes, which the digest guard releases only for the right content. GCS checks MD5/CRC32C,
 * not SHA-256, so the guard is what stands between a wrong byte and the key.
 */
import { Storage, type StorageOptions } from '@google-cloud/storage';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { GcsStoreConfig } from '../settings.js';
import type { BlobStore } from './types.js';

const MIB = 1024 * 1024;

function storageOptions(config: GcsStoreConfig): StorageOptions {
  const options: StorageOptions = {};
  if (config.endpoint !== '') {
    options.apiEndpoint = config.endpoint;
    // An emulator takes no credentials; a private endpoint with a key file still signs.
    options.useAuthWithCustomEndpoint = config.credentials_file !== '';
  }
  if (config.credentials_file !== '') options.keyFilename = config.credentials_file;
  if (config.project !== '') options.projectId = config.project;
  return options;
}

function isNotFound(error: unknown): boolean {
  return (error as { code?: unknown }).code === 404;
}

export class GcsStore implements BlobStore {
  readonly description: string;
  private readonly storage: Storage;

  constructor(private readonly config: GcsStoreConfig) {
    this.description = `gs://${config.bucket}`;
    this.storage = new Storage(storageOptions(config));
  }

  private bucket() {
    return this.storage.bucket(this.config.bucket);
  }

  async list(prefix: string): Promise<Map<string, number>> {
    const [files] = await this.bucket().getFiles({ prefix, autoPaginate: true });
    const sizes = new Map<string, number>();
    for (const file of files) sizes.set(file.name, Number(file.metadata.size ?? 0));
    return sizes;
  }

  async stat(key: string): Promise<number | undefined> {
    try {
      const [metadata] = await this.bucket().file(key).getMetadata();
      return Number(metadata.size ?? 0);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async put(key: string, body: Readable, blob: { digest: string; size: number }): Promise<void> {
    const writer = this.bucket().file(key).createWriteStream({
      resumable: blob.size > this.config.resumable_threshold_mib * MIB,
      validation: false,
      contentType: 'application/octet-stream',
      metadata: { metadata: { digest: blob.digest } },
    });
    await pipeline(body, writer);
  }

  async read(key: string): Promise<Readable> {
    return this.bucket().file(key).createReadStream({ validation: false });
  }
}
