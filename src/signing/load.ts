import * as v from 'valibot';
import { azureSigner } from './azure.js';
import { cloudFrontSigner } from './cloudfront.js';
import { base64Key, checkToken, defaultSecretSource, fileOrEnv, readSecretFile, rsaPrivateKey, type SecretSource } from './credentials.js';
import { issueField, SigningConfigError } from './errors.js';
import { gcsSigner, type GcsHmacKey, type GcsServiceAccount } from './gcs.js';
import { s3Signer, type S3Credentials } from './s3.js';
import {
  signingSchema,
  type AzureSigningConfig,
  type CloudFrontSigningConfig,
  type GcsSigningConfig,
  type S3SigningConfig,
  type SigningConfig,
} from './schema.js';
import type { BlobSigner } from './types.js';

export interface SignerContext {
  /** Where the block sits, for errors: `buckets[2].signing`. */
  field: string;
  /** The bucket's base URL; checked against what the signature needs. */
  bucketUrl: string;
  /** Environment, base directory for relative paths and file reader; default the process's. */
  secrets?: Partial<SecretSource>;
}

/** Validates a raw `signing:` block on its own (the config schema embeds `signingSchema`). */
export function parseSigning(raw: unknown, field: string): SigningConfig {
  const result = v.safeParse(signingSchema, raw);
  if (result.success) return result.output;
  const issue = result.issues[0];
  // valibot words a missing key as "Invalid key: Expected ..."; say what a person would.
  const missingKey = issue.input === undefined && (issue.path?.length ?? 0) > 0;
  throw new SigningConfigError(issueField(field, issue), missingKey ? 'required' : issue.message);
}

/**
 * Reads the credentials a `signing:` block names and builds its signer. Throws
 * `SigningConfigError` naming the field for anything that could never sign a valid URL; call
 * it at load (exit 78) and on reload (keep the old state on error).
 */
export function loadSigner(config: SigningConfig, context: SignerContext): BlobSigner {
  const source: SecretSource = { ...defaultSecretSource(), ...context.secrets };
  const url = bucketUrl(context);
  switch (config.type) {
    case 's3':
      return s3Signer({ region: config.region, expiresS: config.expires_s, credentials: s3Credentials(config, context.field, source) });
    case 'cloudfront':
      return loadCloudFront(config, context.field, source);
    case 'gcs':
      return gcsSigner({ expiresS: config.expires_s, credentials: gcsCredentials(config, context.field, source) });
    case 'azure':
      checkAzureUrl(config, context.field, url);
      return azureSigner({
        account: config.account,
        accountKey: azureKey(config, context.field, source),
        expiresS: config.expires_s,
        allowHttp: config.allow_http,
      });
  }
}

function bucketUrl(context: SignerContext): URL {
  let url: URL;
  try {
    url = new URL(context.bucketUrl);
  } catch {
    throw new SigningConfigError(context.field, `the bucket URL ${context.bucketUrl} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new SigningConfigError(context.field, `the bucket URL must be http or https, not ${url.protocol}`);
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw new SigningConfigError(context.field, 'a signed bucket URL must not carry a query, fragment or user info');
  }
  return url;
}

function s3Credentials(config: S3SigningConfig, field: string, source: SecretSource): S3Credentials {
  const fromFiles = config.access_key_id_file !== undefined || config.secret_access_key_file !== undefined;
  if (fromFiles && (config.access_key_id_file === undefined || config.secret_access_key_file === undefined)) {
    const missing = config.access_key_id_file === undefined ? 'access_key_id_file' : 'secret_access_key_file';
    throw new SigningConfigError(`${field}.${missing}`, 'required with the other key file (both or neither)');
  }
  const idField = `${field}.access_key_id_file`;
  const secretField = `${field}.secret_access_key_file`;
  const accessKeyId = fileOrEnv(source, idField, config.access_key_id_file, 'AWS_ACCESS_KEY_ID');
  const secretAccessKey = fileOrEnv(source, secretField, config.secret_access_key_file, 'AWS_SECRET_ACCESS_KEY');
  if (accessKeyId === undefined) throw new SigningConfigError(idField, 'no credentials: name the key files or set AWS_ACCESS_KEY_ID');
  if (secretAccessKey === undefined) throw new SigningConfigError(secretField, 'no credentials: name the key files or set AWS_SECRET_ACCESS_KEY');
  const tokenField = `${field}.session_token_file`;
  // A token from the environment belongs to the environment's keys, never to keys from files.
  const sessionToken = config.session_token_file !== undefined
    ? readSecretFile(source, tokenField, config.session_token_file)
    : fromFiles ? undefined : fileOrEnv(source, tokenField, undefined, 'AWS_SESSION_TOKEN');
  const credentials: S3Credentials = {
    accessKeyId: checkToken(idField, 'access key id', accessKeyId),
    secretAccessKey: checkToken(secretField, 'secret access key', secretAccessKey),
  };
  if (sessionToken !== undefined) credentials.sessionToken = checkToken(tokenField, 'session token', sessionToken);
  return credentials;
}

function loadCloudFront(config: CloudFrontSigningConfig, field: string, source: SecretSource): BlobSigner {
  const keyField = `${field}.key_file`;
  const pem = readSecretFile(source, keyField, config.key_file);
  return cloudFrontSigner({
    keyPairId: config.key_pair_id,
    privateKey: rsaPrivateKey(keyField, config.key_file, pem),
    expiresS: config.expires_s,
    hash: config.hash,
  });
}

function gcsCredentials(config: GcsSigningConfig, field: string, source: SecretSource): GcsServiceAccount | GcsHmacKey {
  const hmac = config.hmac_access_id_file !== undefined || config.hmac_secret_file !== undefined;
  if (hmac && config.key_file !== undefined) {
    throw new SigningConfigError(`${field}.key_file`, 'choose a service-account key_file or an HMAC key, not both');
  }
  if (hmac) {
    if (config.hmac_access_id_file === undefined || config.hmac_secret_file === undefined) {
      const missing = config.hmac_access_id_file === undefined ? 'hmac_access_id_file' : 'hmac_secret_file';
      throw new SigningConfigError(`${field}.${missing}`, 'required with the other HMAC file (both or neither)');
    }
    const idField = `${field}.hmac_access_id_file`;
    const secretField = `${field}.hmac_secret_file`;
    return {
      kind: 'hmac',
      accessId: checkToken(idField, 'HMAC access id', readSecretFile(source, idField, config.hmac_access_id_file)),
      secret: checkToken(secretField, 'HMAC secret', readSecretFile(source, secretField, config.hmac_secret_file)),
    };
  }
  const keyField = `${field}.key_file`;
  const path = config.key_file ?? source.env.GOOGLE_APPLICATION_CREDENTIALS;
  if (path === undefined || path.trim() === '') {
    throw new SigningConfigError(keyField, 'no credentials: name a service-account key_file (or set GOOGLE_APPLICATION_CREDENTIALS) or the hmac_* files');
  }
  return serviceAccount(keyField, path, readSecretFile(source, keyField, path));
}

function serviceAccount(field: string, path: string, text: string): GcsServiceAccount {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new SigningConfigError(field, `${path} is not JSON; expected a service-account key file`);
  }
  const record = (json !== null && typeof json === 'object' ? json : {}) as Record<string, unknown>;
  if (record.type !== 'service_account') {
    const kind = typeof record.type === 'string' ? `a ${record.type} credential` : 'no credential type';
    throw new SigningConfigError(field, `${path} holds ${kind}; signing needs a service_account key`);
  }
  const { client_email: clientEmail, private_key: privateKey } = record;
  if (typeof clientEmail !== 'string' || clientEmail === '' || typeof privateKey !== 'string') {
    throw new SigningConfigError(field, `${path} lacks client_email or private_key`);
  }
  return { kind: 'service-account', clientEmail: checkToken(field, 'client_email', clientEmail), privateKey: rsaPrivateKey(field, path, privateKey) };
}

function azureKey(config: AzureSigningConfig, field: string, source: SecretSource): Buffer {
  const keyField = `${field}.key_file`;
  const text = fileOrEnv(source, keyField, config.key_file, 'AZURE_STORAGE_KEY');
  if (text === undefined) throw new SigningConfigError(keyField, 'no credentials: name the account key_file or set AZURE_STORAGE_KEY');
  return base64Key(keyField, config.key_file ?? 'AZURE_STORAGE_KEY', text);
}

function checkAzureUrl(config: AzureSigningConfig, field: string, url: URL): void {
  const inHost = url.hostname.startsWith(`${config.account}.`);
  const segments = url.pathname.split('/').filter((s) => s !== '');
  if (!inHost && segments[0] !== config.account) {
    throw new SigningConfigError(`${field}.account`, `the bucket URL ${url.href} names account ${config.account} neither in its host nor as its first path segment`);
  }
  if (segments.length < (inHost ? 1 : 2)) {
    throw new SigningConfigError(field, `the bucket URL ${url.href} names no container`);
  }
  if (url.protocol === 'http:' && !config.allow_http) {
    throw new SigningConfigError(`${field}.allow_http`, 'the bucket URL is plain http but the SAS allows HTTPS only; use https (allow_http: true is for emulators)');
  }
}
