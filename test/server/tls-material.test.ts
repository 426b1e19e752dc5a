import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTlsMaterial, pemBlocks, TlsConfigError, type TlsFiles } from '../../src/server/tls.js';
import { TestCa, type Issued } from '../support/test-ca.js';

let ca: TestCa;
let ec: Issued;
let rsa: Issued;
let chained: Issued;
let otherCa: TestCa;
let foreign: Issued;

beforeAll(async () => {
  ca = await TestCa.create('ec');
  otherCa = await TestCa.create('rsa', 'another root');
  const intermediate = await ca.intermediate();
  [ec, rsa, chained, foreign] = await Promise.all([
    ca.issue('ec-server'),
    ca.issue('rsa-server', { keyType: 'rsa' }),
    ca.issue('chained-server', { issuer: intermediate }),
    otherCa.issue('foreign-server'),
  ]);
});

afterAll(async () => {
  await ca?.close();
  await otherCa?.close();
});

function refusal(files: TlsFiles, now?: () => number): TlsConfigError {
  try {
    loadTlsMaterial(files, { now });
  } catch (error) {
    expect(error).toBeInstanceOf(TlsConfigError);
    return error as TlsConfigError;
  }
  throw new Error('the pair was accepted');
}

async function scratch(name: string, text: string | Buffer): Promise<string> {
  const path = join(ca.dir, 'scratch', name);
  await mkdir(join(ca.dir, 'scratch'), { recursive: true });
  await writeFile(path, text);
  return path;
}

describe('pemBlocks', () => {
  it.each([
    ['', []],
    ['no pem here', []],
    ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', ['CERTIFICATE']],
    ['junk\n-----BEGIN PRIVATE KEY-----\r\nAA\r\n-----END PRIVATE KEY-----\n-----BEGIN CERTIFICATE-----\nBB\n-----END CERTIFICATE-----', ['PRIVATE KEY', 'CERTIFICATE']],
    // An END that does not match its BEGIN is no block.
    ['-----BEGIN CERTIFICATE-----\nAA\n-----END PRIVATE KEY-----\n', []],
  ])('%j → %j', (text, labels) => {
    expect(pemBlocks(text).map((block) => block.label)).toEqual(labels);
  });
});

describe('loadTlsMaterial accepts', () => {
  it.each([
    ['an ECDSA P-256 pair', () => ec],
    ['an RSA 2048 pair', () => rsa],
  ])('%s and summarises the leaf', async (_name, issued) => {
    const { cert, key, leaf } = issued();
    const material = loadTlsMaterial({ cert, key });
    const x509 = new X509Certificate(await readFile(leaf));
    expect(material.leaf.fingerprint256).toBe(x509.fingerprint256);
    expect(material.leaf.notAfter.getTime()).toBe(new Date(x509.validTo).getTime());
    expect(material.leaf.chainLength).toBe(1);
    expect(material.mutual).toBe(false);
    expect(material.contextOptions.minVersion).toBe('TLSv1.2');
  });

  it('a chain: the server certificate, then its intermediate', () => {
    const material = loadTlsMaterial({ cert: chained.cert, key: chained.key });
    expect(material.leaf.chainLength).toBe(2);
    expect(material.leaf.subject).toContain('chained-server');
  });

  it('a client CA bundle, which turns on mutual TLS', () => {
    const material = loadTlsMaterial({ cert: ec.cert, key: ec.key, client_ca: ca.root.cert });
    expect(material.mutual).toBe(true);
    expect(material.contextOptions.ca).toBeDefined();
  });

  it('the same bytes twice give the same content hash; another pair another', () => {
    expect(loadTlsMaterial(ec).contentHash).toBe(loadTlsMaterial(ec).contentHash);
    expect(loadTlsMaterial(rsa).contentHash).not.toBe(loadTlsMaterial(ec).contentHash);
  });
});

describe('loadTlsMaterial refuses, naming the field and the file', () => {
  it('a missing certificate file', () => {
    const error = refusal({ cert: '/nonexistent/tls.crt', key: ec.key });
    expect(error.field).toBe('listen.tls.cert');
    expect(error.file).toBe('/nonexistent/tls.crt');
    expect(error.message).toBe('listen.tls.cert: /nonexistent/tls.crt does not exist');
  });

  it('a key path that is a folder', () => {
    const error = refusal({ cert: ec.cert, key: ca.dir });
    expect(error.message).toBe(`listen.tls.key: ${ca.dir} is a directory, not a file`);
  });

  it('a missing client CA', () => {
    expect(refusal({ cert: ec.cert, key: ec.key, client_ca: '/nonexistent/ca.crt' }).message).toBe('listen.tls.client_ca: /nonexistent/ca.crt does not exist');
  });

  it('a key that belongs to another certificate', () => {
    const error = refusal({ cert: ec.cert, key: rsa.key });
    expect(error.field).toBe('listen.tls.key');
    expect(error.message).toBe(`listen.tls.key: ${rsa.key} is not the key of the certificate in ${ec.cert} (listen.tls.cert)`);
  });

  it('a certificate file with no certificate in it (the key given twice)', () => {
    const error = refusal({ cert: ec.key, key: ec.key });
    expect(error.message).toBe(`listen.tls.cert: ${ec.key} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  });

  it('a certificate block that is not X.509', async () => {
    const bad = await scratch('bad.crt', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    expect(refusal({ cert: bad, key: ec.key }).message).toMatch(new RegExp(`^listen\\.tls\\.cert: ${bad} certificate 1 is not valid X\\.509`));
  });

  it('a key file that holds no key', () => {
    const error = refusal({ cert: ec.cert, key: ec.cert });
    expect(error.field).toBe('listen.tls.key');
    expect(error.message).toMatch(/is not an unencrypted PEM private key/);
  });

  it('a chain in the wrong order', async () => {
    const [leaf, intermediate] = pemBlocks(await readFile(chained.cert, 'utf8'));
    const reversed = await scratch('reversed.crt', `${intermediate?.pem}\n${leaf?.pem}\n`);
    const error = refusal({ cert: reversed, key: chained.key });
    expect(error.message).toBe(`listen.tls.cert: ${reversed} certificate 2 did not issue certificate 1: put the server certificate first, then each issuer in order`);
  });

  it('an expired certificate', () => {
    const later = Date.now() + 30 * 86_400_000;
    const error = refusal({ cert: foreign.cert, key: foreign.key }, () => later);
    expect(error.message).toMatch(new RegExp(`^listen\\.tls\\.cert: ${foreign.cert} expired at \\d{4}-`));
  });

  it('a client CA file with no certificate', async () => {
    const empty = await scratch('empty-ca.crt', '\n');
    expect(refusal({ cert: ec.cert, key: ec.key, client_ca: empty }).message).toBe(`listen.tls.client_ca: ${empty} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  });
});
