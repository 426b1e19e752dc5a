import type { KeyObject } from 'node:crypto';
import type { BlobSigner } from './types.js';
import { hmacSignature, methodSigner, rsaSignature, V4QuerySigner, type V4Dialect } from './v4.js';

/** A service account's identity and RSA key (`GOOG4-RSA-SHA256`). */
export interface GcsServiceAccount {
  kind: 'service-account';
  clientEmail: string;
  privateKey: KeyObject;
}

/** An HMAC key (`GOOG4-HMAC-SHA256`), as created by `gcloud storage hmac create`. */
export interface GcsHmacKey {
  kind: 'hmac';
  accessId: string;
  secret: string;
}

export interface GcsSignerOptions {
  expiresS: number;
  credentials: GcsServiceAccount | GcsHmacKey;
}

function dialectFor(algorithm: V4Dialect['algorithm']): V4Dialect {
  // GCS accepts `auto` as the location of every bucket; the SDK signs with it too.
  return { algorithm, prefix: 'X-Goog-', region: 'auto', service: 'storage', terminator: 'goog4_request', afterAlgorithm: '', signatureLast: true };
}

/** V4 signed URLs for Cloud Storage, path-style, virtual-hosted or behind a custom host. */
export function gcsSigner(options: GcsSignerOptions): BlobSigner {
  const { credentials, expiresS } = options;
  let v4: V4QuerySigner;
  if (credentials.kind === 'service-account') {
    const dialect = dialectFor('GOOG4-RSA-SHA256');
    v4 = new V4QuerySigner(dialect, credentials.clientEmail, undefined, expiresS, rsaSignature(credentials.privateKey));
  } else {
    const dialect = dialectFor('GOOG4-HMAC-SHA256');
    v4 = new V4QuerySigner(dialect, credentials.accessId, undefined, expiresS, hmacSignature('GOOG4', credentials.secret, dialect));
  }
  return methodSigner('gcs', expiresS, v4);
}
