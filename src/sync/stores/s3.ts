/**
 * `store: { type: s3 }` through the AWS SDK. Blobs up to the multipart threshold go up in one
 * streamed PUT carrying `x-amz-checksum-sha256` (the digest itself, so S3 refuses bytes that
 * do not match); larger blobs go up in parts, each with its own SHA-256 checksum, and the
 * upload is aborted (never completed) when the guarded body fails.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import type { S3StoreConfig } from '../settings.js';
import { optionalSecretFile, readSecretFile } from './credentials.js';
import type { BlobStore } from './types.js';

const MIB = 1024 * 1024;

const quiet = (): void => undefined;
const SILENT_LOGGER = { trace: quiet, debug: quiet, info: quiet, warn: quiet, error: quiet };

/** The digest's hex as S3 wants a SHA-256 checksum: base64 of the 32 bytes. */
export function sha256ChecksumHeader(digest: string): string | undefined {
  if (!digest.startsWith('sha256:')) return undefined;
  return Buffer.from(digest.slice('sha256:'.length), 'hex').toString('base64');
}

async function clientConfig(config: S3StoreConfig): Promise<S3ClientConfig> {
  const settings: S3ClientConfig = {
    region: config.region,
    forcePathStyle: config.path_style,
    // Checksums are set by us from the digest; the SDK's own CRC trailers (aws-chunked
    // bodies) would double the work and are not understood by every S3-compatible server.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Failures are reported by sync, per blob; the SDK's own console warnings would only
    // break the JSON lines on stderr.
    logger: SILENT_LOGGER,
  };
  if (config.endpoint !== '') settings.endpoint = config.endpoint;
  if (config.access_key_id_file !== '' || config.secret_access_key_file !== '') {
    const sessionToken = await optionalSecretFile(config.session_token_file, 'store.session_token_file');
    settings.credentials = {
      accessKeyId: await readSecretFile(config.access_key_id_file, 'store.access_key_id_file'),
      secretAccessKey: await readSecretFile(config.secret_access_key_file, 'store.secret_access_key_file'),
      ...(sessionToken === undefined ? {} : { sessionToken }),
    };
  }
  return settings;
}

function isNotFound(error: unknown): boolean {
  const record = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return record.name === 'NotFound' || record.name === 'NoSuchKey' || record.$metadata?.httpStatusCode === 404;
}

export class S3Store implements BlobStore {
  readonly description: string;

  private constructor(private readonly client: S3Client, private readonly config: S3StoreConfig) {
    this.description = `s3://${config.bucket}`;
  }

  static async create(config: S3StoreConfig): Promise<S3Store> {
    // The SDK warns on stderr about Node versions its future releases drop; a sync's output is
    // read by scripts line by line, and the pinned SDK supports this Node.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    return new S3Store(new S3Client(await clientConfig(config)), config);
  }

  async list(prefix: string): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.config.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const item of page.Contents ?? []) if (item.Key !== undefined) sizes.set(item.Key, item.Size ?? 0);
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return sizes;
  }

  async stat(key: string): Promise<number | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.config.bucket, Key: key }));
      return head.ContentLength ?? 0;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async put(key: string, body: Readable, blob: { digest: string; size: number }): Promise<void> {
    const common = { Bucket: this.config.bucket, Key: key, ContentType: 'application/octet-stream' };
    if (blob.size <= this.config.multipart_threshold_mib * MIB) {
      const checksum = sha256ChecksumHeader(blob.digest);
      const command = new PutObjectCommand({ ...common, Body: body, ContentLength: blob.size, ...(checksum === undefined ? {} : { ChecksumSHA256: checksum }) });
      try {
        await this.sendWhileBodyHolds(command, body);
      } catch (error) {
        // S3 refuses a short or mismatched body; some S3-compatible servers keep what they got.
        // The key was absent or wrong before this copy, so removing it loses nothing.
        await this.client.send(new DeleteObjectCommand({ Bucket: this.config.bucket, Key: key })).catch(() => undefined);
        throw error;
      }
      return;
    }
    const upload = new Upload({
      client: this.client,
      params: { ...common, Body: body, ChecksumAlgorithm: 'SHA256' },
      partSize: this.config.part_size_mib * MIB,
      // Two parts in memory per blob: enough to keep the connection busy, flat in size.
      queueSize: 2,
      leavePartsOnError: false,
    });
    // lib-storage aborts the multipart upload when the body fails; our guard fails it before
    // the last part, so CompleteMultipartUpload is never sent for wrong bytes.
    await upload.done();
  }

  /**
   * The SDK keeps waiting for a response when a streamed body fails (the server still expects
   * the announced length), so a failing body aborts the request, and its error is the answer.
   */
  private async sendWhileBodyHolds(command: PutObjectCommand, body: Readable): Promise<void> {
    const abort = new AbortController();
    let bodyError: Error | undefined;
    const onError = (error: Error): void => {
      bodyError = error;
      abort.abort(error);
    };
    body.once('error', onError);
    try {
      await this.client.send(command, { abortSignal: abort.signal });
    } catch (error) {
      throw bodyError ?? error;
    } finally {
      body.off('error', onError);
    }
  }

  async read(key: string): Promise<Readable> {
    const object = await this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key: key }));
    if (!(object.Body instanceof Readable)) throw new Error(`${this.description}/${key}: no body`);
    return object.Body;
  }
}
