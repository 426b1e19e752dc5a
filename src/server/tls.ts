/**
 * The certificate and key of the public listener (`listen.tls`): read, checked as a pair and
 * turned into the options node's TLS server takes. Every refusal names the configuration field
 * and the file, because the operator fixing it is looking at one of the two.
 */
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';

export interface TlsFiles {
  /** PEM: the server certificate first, then any intermediates. */
  cert: string;
  /** PEM private key of the first certificate in `cert` (unencrypted). */
  key: string;
  /** PEM CA bundle; when set, clients must present a certificate it issued. Empty: no mutual TLS. */
  client_ca?: string;
}

export type TlsField = 'listen.tls.cert' | 'listen.tls.key' | 'listen.tls.client_ca';

/** A refused certificate, key or CA file. The lead's start-up maps it to exit 78. */
export class TlsConfigError extends Error {
  override readonly name = 'TlsConfigError';
  constructor(
    readonly field: TlsField,
    readonly file: string,
    detail: string,
  ) {
    super(`${field}: ${file} ${detail}`);
  }
}

/** Node's protocol floor; ciphers stay node's defaults (they follow OpenSSL's security level). */
export const MIN_TLS_VERSION = 'TLSv1.2';

export interface CertificateSummary {
  subject: string;
  issuer: string;
  serialNumber: string;
  fingerprint256: string;
  notBefore: Date;
  notAfter: Date;
  /** Certificates in the file, the server's own included. */
  chainLength: number;
}

export interface TlsMaterial {
  readonly files: Readonly<TlsFiles>;
  readonly leaf: CertificateSummary;
  /** Exactly what `setSecureContext` and `createSecureServer` take. */
  readonly contextOptions: Readonly<SecureContextOptions>;
  /** Whether clients must present a certificate (client_ca is set). */
  readonly mutual: boolean;
  /** sha256 over every byte read: equal means a reload found nothing new. */
  readonly contentHash: string;
}

export type ReadFile = (path: string) => Buffer;

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** The PEM blocks of a text, label and body, in file order. Pure; tested by table. */
export function pemBlocks(text: string): Array<{ label: string; pem: string }> {
  const blocks: Array<{ label: string; pem: string }> = [];
  for (const match of text.matchAll(PEM_BLOCK)) blocks.push({ label: match[1] ?? '', pem: match[0] });
  return blocks;
}

function readOrRefuse(field: TlsField, file: string, read: ReadFile): Buffer {
  try {
    return read(file);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const why: Record<string, string> = { ENOENT: 'does not exist', EACCES: 'is not readable (permission denied)', EISDIR: 'is a directory, not a file' };
    throw new TlsConfigError(field, file, (code !== undefined ? why[code] : undefined) ?? `cannot be read: ${message}`);
  }
}

/** Every certificate in a PEM file, parsed; refuses a file with none or with a broken one. */
export function parseCertificates(field: TlsField, file: string, bytes: Buffer): X509Certificate[] {
  const blocks = pemBlocks(bytes.toString('latin1')).filter((block) => block.label === 'CERTIFICATE');
  if (blocks.length === 0) throw new TlsConfigError(field, file, 'holds no PEM certificate (-----BEGIN CERTIFICATE-----)');
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block.pem);
    } catch (error) {
      throw new TlsConfigError(field, file, `certificate ${index + 1} is not valid X.509: ${(error as Error).message}`);
    }
  });
}

/** Refuses a chain out of order: clients build the path from the first certificate on. */
function checkChainOrder(file: string, chain: X509Certificate[]): void {
  for (let index = 1; index < chain.length; index += 1) {
    const child = chain[index - 1] as X509Certificate;
    if (!child.checkIssued(chain[index] as X509Certificate)) {
      throw new TlsConfigError('listen.tls.cert', file, `certificate ${index + 1} did not issue certificate ${index}: put the server certificate first, then each issuer in order`);
    }
  }
}

function parseKey(file: string, bytes: Buffer): KeyObject {
  try {
    return createPrivateKey(bytes);
  } catch (error) {
    throw new TlsConfigError('listen.tls.key', file, `is not an unencrypted PEM private key: ${(error as Error).message}`);
  }
}

function checkValidity(file: string, leaf: X509Certificate, now: number): { notBefore: Date; notAfter: Date } {
  const notBefore = new Date(leaf.validFrom);
  const notAfter = new Date(leaf.validTo);
  if (Number.isNaN(notAfter.getTime()) || Number.isNaN(notBefore.getTime())) {
    throw new TlsConfigError('listen.tls.cert', file, `has unreadable validity dates (${leaf.validFrom} - ${leaf.validTo})`);
  }
  if (notAfter.getTime() <= now) throw new TlsConfigError('listen.tls.cert', file, `expired at ${notAfter.toISOString()}`);
  return { notBefore, notAfter };
}

function summary(leaf: X509Certificate, chainLength: number, validity: { notBefore: Date; notAfter: Date }): CertificateSummary {
  return {
    subject: leaf.subject,
    issuer: leaf.issuer,
    serialNumber: leaf.serialNumber,
    fingerprint256: leaf.fingerprint256,
    chainLength,
    ...validity,
  };
}

/**
 * Reads and checks `listen.tls`: certificates parse, the chain is in order, the leaf has not
 * expired, the key is the leaf's, the CA bundle (if any) parses, and OpenSSL accepts the lot.
 * Synchronous on purpose: it runs at start-up and on a reload, never on a request.
 */
export function loadTlsMaterial(files: TlsFiles, options: { read?: ReadFile; now?: () => number } = {}): TlsMaterial {
  const read = options.read ?? ((path: string) => readFileSync(path));
  const certBytes = readOrRefuse('listen.tls.cert', files.cert, read);
  const keyBytes = readOrRefuse('listen.tls.key', files.key, read);
  const clientCa = files.client_ca ?? '';
  const caBytes = clientCa === '' ? undefined : readOrRefuse('listen.tls.client_ca', clientCa, read);

  const chain = parseCertificates('listen.tls.cert', files.cert, certBytes);
  checkChainOrder(files.cert, chain);
  const leaf = chain[0] as X509Certificate;
  const validity = checkValidity(files.cert, leaf, (options.now ?? Date.now)());
  const key = parseKey(files.key, keyBytes);
  if (!leaf.checkPrivateKey(key)) {
    throw new TlsConfigError('listen.tls.key', files.key, `is not the key of the certificate in ${files.cert} (listen.tls.cert)`);
  }
  if (caBytes !== undefined) parseCertificates('listen.tls.client_ca', clientCa, caBytes);

  const contextOptions: SecureContextOptions = { cert: certBytes, key: keyBytes, minVersion: MIN_TLS_VERSION, ...(caBytes === undefined ? {} : { ca: caBytes }) };
  try {
    createSecureContext(contextOptions);
  } catch (error) {
    throw new TlsConfigError('listen.tls.cert', files.cert, `is refused by OpenSSL together with ${files.key}: ${(error as Error).message}`);
  }
  const hash = createHash('sha256');
  for (const bytes of [certBytes, keyBytes, caBytes ?? Buffer.alloc(0)]) hash.update(createHash('sha256').update(bytes).digest());
  return {
    files: { ...files, client_ca: clientCa },
    leaf: summary(leaf, chain.length, validity),
    contextOptions,
    mutual: caBytes !== undefined,
    contentHash: hash.digest('hex'),
  };
}
