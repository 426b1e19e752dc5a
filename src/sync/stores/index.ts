import type { StoreConfig } from '../settings.js';
import type { BlobStore } from './types.js';

/**
 * The store a bucket's `store:` section describes. Cloud clients are imported only when a
 * bucket uses them: loading all three SDKs costs a dir-only sync most of its start-up.
 */
export async function openStore(config: StoreConfig, env: NodeJS.ProcessEnv): Promise<BlobStore> {
  switch (config.type) {
    case 'dir': {
      const { DirStore } = await import('./dir.js');
      return new DirStore(config.path);
    }
    case 's3': {
      const { S3Store } = await import('./s3.js');
      return S3Store.create(config);
    }
    case 'gcs': {
      const { GcsStore } = await import('./gcs.js');
      return new GcsStore(config);
    }
    case 'azure': {
      const { AzureStore } = await import('./azure.js');
      return AzureStore.create(config, env);
    }
  }
}

export { keyPrefix, objectKey, StoreConfigError, type BlobStore } from './types.js';
