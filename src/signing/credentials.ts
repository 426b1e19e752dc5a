import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { SigningConfigError } from './errors.js';

/** Where secrets come from; tests and reloads pass their own. */
export interface SecretSource {
  env: Readonly<Record<string, string | undefined>>;
  /** Relative file paths resolve against this directory. */
  baseDir: string;
  readFile: (path: string) => string;
}

export function defaultSecretSource(): SecretSource {
  return { env: process.env, baseDir: process.cwd(), readFile: (path) => readFileSync(path, 'utf8') };
}

function errorCode(error: unknown): string {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') return error.code;
  return error instanceof Error ? error.message : String(error);
}

/**
 * The trimmed text of a secret file. Kubernetes Secrets made with `echo` end in a newline,
 * which no provider's secret contains.
 */
export function readSecretFile(source: SecretSource, field: string, path: string): string {
  const absolute = resolve(source.baseDir, path);
  let text: string;
  try {
    text = source.readFile(absolute);
  } catch (error) {
    throw new SigningConfigError(field, `cannot read ${absolute}: ${errorCode(error)}`);
  }
  const trimmed = text.trim();
  if (trimmed === '') throw new SigningConfigError(field, `${absolute} is empty`);
  return trimmed;
}

/** A secret from `file` when the config names one, else from the environment variable. */
export function fileOrEnv(source: SecretSource, field: string, file: string | undefined, envName: string): string | undefined {
  if (file !== undefined) return readSecretFile(source, field, file);
  const value = source.env[envName]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

/** A single-line token: keys and ids never hold whitespace, and one that does was pasted badly. */
export function checkToken(field: string, what: string, value: string): string {
  if (/\s/.test(value)) throw new SigningConfigError(field, `the ${what} contains whitespace`);
  return value;
}

/** An unencrypted RSA private key in PEM; `what` names where it came from for the error. */
export function rsaPrivateKey(field: string, what: string, pem: string, minBits = 2048): KeyObject {
  if (pem.includes('PUBLIC KEY-----')) throw new SigningConfigError(field, `${what} holds a public key; signing needs the private key`);
  if (pem.includes('ENCRYPTED')) throw new SigningConfigError(field, `${what} holds an encrypted private key; store it unencrypted in a Secret`);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new SigningConfigError(field, `${what} is not a PEM private key`);
  }
  if (key.asymmetricKeyType !== 'rsa') {
    throw new SigningConfigError(field, `${what} holds an ${key.asymmetricKeyType ?? 'unknown'} key; expected an RSA private key`);
  }
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (bits < minBits) throw new SigningConfigError(field, `${what} holds a ${bits}-bit RSA key; expected at least ${minBits} bits`);
  return key;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function base64Key(field: string, what: string, text: string): Buffer {
  const bytes = BASE64.test(text) && text.length % 4 === 0 ? Buffer.from(text, 'base64') : Buffer.alloc(0);
  if (bytes.length < 16) throw new SigningConfigError(field, `${what} is not a base64 account key`);
  return bytes;
}
