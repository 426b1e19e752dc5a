import { generateKeyPairSync } from 'node:crypto';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as v from 'valibot';
import {
  DEFAULT_EXPIRES_S,
  loadSigner,
  parseSigning,
  signingSchema,
  SigningConfigError,
  type SigningConfig,
} from '../../src/signing/index.js';
import { AWS, AZURE_KEY, GCS_EMAIL, rsaPair, SIGNED_AT_MS, tempDir } from './fixtures.js';

const FIELD = 'buckets[2].signing';
const files = tempDir();
const pair = rsaPair('load');
const serviceAccountJson = JSON.stringify({ type: 'service_account', client_email: GCS_EMAIL, private_key: pair.privatePem });
files.write('aws/id', `${AWS.accessKeyId}\n`);
files.write('aws/secret', `${AWS.secretAccessKey}\n`);
files.write('aws/token', AWS.sessionToken);
files.write('cf.pem', pair.privatePem);
files.write('cf-public.pem', pair.publicPem);
files.write('ec.pem', generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
files.write('small.pem', generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
files.write('encrypted.pem', pair.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'x' }).toString());
files.write('garbage.pem', '-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n');
files.write('sa.json', serviceAccountJson);
files.write('user.json', JSON.stringify({ type: 'authorized_user', client_id: 'x' }));
files.write('not.json', '{');
files.write('incomplete.json', JSON.stringify({ type: 'service_account', client_email: GCS_EMAIL }));
files.write('hmac/id', 'GOOG1ACCESS');
files.write('hmac/secret', 'c2VjcmV0');
files.write('azure.key', AZURE_KEY);
files.write('bad-azure.key', 'not base64!');
files.write('empty', '\n');
files.write('spaced', 'AKIA EXAMPLE');

const S3_URL = 'https://b.s3.eu-west-1.amazonaws.com';
const AZURE_URL = 'https://devstoreaccount1.blob.core.windows.net/blobs';

function load(raw: Record<string, unknown>, env: Record<string, string> = {}, bucketUrl = S3_URL) {
  return loadSigner(parseSigning(raw, FIELD), { field: FIELD, bucketUrl, secrets: { env, baseDir: files.dir } });
}

function failure(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SigningConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a SigningConfigError');
}

describe('signing schema', () => {
  it('fills expires_s and the per-type defaults', () => {
    expect(parseSigning({ type: 's3', region: 'eu-west-1' }, FIELD)).toEqual({ type: 's3', region: 'eu-west-1', expires_s: DEFAULT_EXPIRES_S });
    expect(parseSigning({ type: 'cloudfront', key_pair_id: 'K1', key_file: 'k.pem' }, FIELD)).toMatchObject({ hash: 'sha1', expires_s: 600 });
    expect(parseSigning({ type: 'azure', account: 'acct' }, FIELD)).toMatchObject({ allow_http: false });
  });

  it('is a valibot schema the config loader can embed', () => {
    const bucket = v.object({ name: v.string(), signing: v.optional(signingSchema) });
    const out = v.parse(bucket, { name: 'b', signing: { type: 'gcs', key_file: 'sa.json', expires_s: 3600 } });
    expect(out.signing).toEqual({ type: 'gcs', key_file: 'sa.json', expires_s: 3600 });
  });

  it.each([
    [{ type: 'ftp' }, `${FIELD}.type: expected type: s3, cloudfront, gcs or azure`],
    [{ type: 's3' }, `${FIELD}.region: required`],
    [{ type: 's3', region: 'EU West' }, `${FIELD}.region: expected a region such as us-east-1`],
    [{ type: 's3', region: 'us-east-1', expires_s: 604_801 }, `${FIELD}.expires_s: expected at most 604800 seconds (7 days, the longest S3 and GCS accept)`],
    [{ type: 's3', region: 'us-east-1', expires_s: 59 }, `${FIELD}.expires_s: expected at least 60 seconds`],
    [{ type: 's3', region: 'us-east-1', expires_s: 90.5 }, `${FIELD}.expires_s: expected whole seconds`],
    [{ type: 's3', region: 'us-east-1', expires_s: '600' }, `${FIELD}.expires_s: expected a number of seconds`],
    [{ type: 's3', region: 'us-east-1', expire_s: 600 }, `${FIELD}.expire_s`],
    [{ type: 'cloudfront', key_pair_id: 'k1', key_file: 'k' }, `${FIELD}.key_pair_id: expected a public key id such as K2JCJMDEHXQW5F`],
    [{ type: 'cloudfront', key_pair_id: 'K1' }, `${FIELD}.key_file: required`],
    [{ type: 'cloudfront', key_pair_id: 'K1', key_file: '  ' }, `${FIELD}.key_file: expected a file path`],
    [{ type: 'cloudfront', key_pair_id: 'K1', key_file: 'k', hash: 'md5' }, `${FIELD}.hash: expected sha1 or sha256`],
    [{ type: 'azure', account: 'My_Account' }, `${FIELD}.account: expected a storage account name (3-24 lower-case letters and digits)`],
    [{ type: 'azure', account: 'acct', allow_http: 'yes' }, `${FIELD}.allow_http: expected true or false`],
    ['s3', `${FIELD}: `],
  ])('refuses %j', (raw, message) => {
    expect(failure(() => parseSigning(raw, FIELD))).toContain(message);
  });
});

describe('loadSigner reads credentials and names the field that is wrong', () => {
  it('S3 from the AWS environment variables, with the session token', () => {
    const signer = load({ type: 's3', region: 'eu-west-1' }, { AWS_ACCESS_KEY_ID: AWS.accessKeyId, AWS_SECRET_ACCESS_KEY: AWS.secretAccessKey, AWS_SESSION_TOKEN: AWS.sessionToken });
    const q = new URL(signer.presignGet(`${S3_URL}/k`, SIGNED_AT_MS)).searchParams;
    expect(q.get('X-Amz-Credential')).toMatch(/^AKIAIOSFODNN7EXAMPLE\//);
    expect(q.get('X-Amz-Security-Token')).toBe(AWS.sessionToken);
  });

  it('S3 from files (trailing newlines trimmed); an environment token is not mixed in', () => {
    const raw = { type: 's3', region: 'eu-west-1', access_key_id_file: 'aws/id', secret_access_key_file: join(files.dir, 'aws/secret') };
    const q = new URL(load(raw, { AWS_SESSION_TOKEN: 'other' }).presignGet(`${S3_URL}/k`, SIGNED_AT_MS)).searchParams;
    expect(q.get('X-Amz-Credential')).toMatch(/^AKIAIOSFODNN7EXAMPLE\//);
    expect(q.has('X-Amz-Security-Token')).toBe(false);
    const withToken = load({ ...raw, session_token_file: 'aws/token' }).presignGet(`${S3_URL}/k`, SIGNED_AT_MS);
    expect(new URL(withToken).searchParams.get('X-Amz-Security-Token')).toBe(AWS.sessionToken);
  });

  it('re-reads the files on every load, so a rotated Secret is picked up on reload', () => {
    const scratch = tempDir();
    scratch.write('id', 'AKIAFIRST');
    scratch.write('secret', 'one');
    const raw = { type: 's3', region: 'eu-west-1', access_key_id_file: join(scratch.dir, 'id'), secret_access_key_file: join(scratch.dir, 'secret') };
    const before = load(raw).presignGet(`${S3_URL}/k`, SIGNED_AT_MS);
    scratch.write('id', 'AKIASECOND');
    const after = load(raw).presignGet(`${S3_URL}/k`, SIGNED_AT_MS);
    expect(before).toContain('AKIAFIRST%2F');
    expect(after).toContain('AKIASECOND%2F');
  });

  it('CloudFront, GCS (service account and HMAC) and Azure from files and environment', () => {
    const cf = load({ type: 'cloudfront', key_pair_id: 'K2JCJMDEHXQW5F', key_file: 'cf.pem', hash: 'sha256' }, {}, 'https://d1.cloudfront.net');
    expect(cf.presignGet('https://d1.cloudfront.net/k', SIGNED_AT_MS)).toContain('&Hash-Algorithm=SHA256');
    const sa = load({ type: 'gcs' }, { GOOGLE_APPLICATION_CREDENTIALS: 'sa.json' }, 'https://storage.googleapis.com/b');
    expect(sa.presignGet('https://storage.googleapis.com/b/k', SIGNED_AT_MS)).toContain('GOOG4-RSA-SHA256');
    const hmac = load({ type: 'gcs', hmac_access_id_file: 'hmac/id', hmac_secret_file: 'hmac/secret' }, {}, 'https://storage.googleapis.com/b');
    expect(hmac.presignGet('https://storage.googleapis.com/b/k', SIGNED_AT_MS)).toContain('GOOG4-HMAC-SHA256');
    const azure = load({ type: 'azure', account: 'devstoreaccount1' }, { AZURE_STORAGE_KEY: AZURE_KEY }, AZURE_URL);
    expect(azure.type).toBe('azure');
    const azurite = load({ type: 'azure', account: 'devstoreaccount1', key_file: 'azure.key', allow_http: true }, {}, 'http://127.0.0.1:10000/devstoreaccount1/blobs');
    expect(azurite.presignGet('http://127.0.0.1:10000/devstoreaccount1/blobs/k', SIGNED_AT_MS)).toContain('spr=https%2Chttp');
  });

  const gcsUrl = 'https://storage.googleapis.com/b';
  const cfUrl = 'https://d1.cloudfront.net';
  const at = (name: string) => join(files.dir, name);
  it.each([
    ['no AWS credentials', { type: 's3', region: 'us-east-1' }, {}, S3_URL, `${FIELD}.access_key_id_file: no credentials: name the key files or set AWS_ACCESS_KEY_ID`],
    ['only the key id in the environment', { type: 's3', region: 'us-east-1' }, { AWS_ACCESS_KEY_ID: 'AKIA' }, S3_URL, `${FIELD}.secret_access_key_file: no credentials: name the key files or set AWS_SECRET_ACCESS_KEY`],
    ['one of two key files', { type: 's3', region: 'us-east-1', access_key_id_file: 'aws/id' }, {}, S3_URL, `${FIELD}.secret_access_key_file: required with the other key file (both or neither)`],
    ['the other of two key files', { type: 's3', region: 'us-east-1', secret_access_key_file: 'aws/secret' }, {}, S3_URL, `${FIELD}.access_key_id_file: required with the other key file`],
    ['a missing key file', { type: 's3', region: 'us-east-1', access_key_id_file: '/nonexistent/id', secret_access_key_file: 'aws/secret' }, {}, S3_URL, `${FIELD}.access_key_id_file: cannot read /nonexistent/id: ENOENT`],
    ['an empty key file', { type: 's3', region: 'us-east-1', access_key_id_file: 'empty', secret_access_key_file: 'aws/secret' }, {}, S3_URL, `${FIELD}.access_key_id_file: ${at('empty')} is empty`],
    ['a key id with a space', { type: 's3', region: 'us-east-1', access_key_id_file: 'spaced', secret_access_key_file: 'aws/secret' }, {}, S3_URL, `${FIELD}.access_key_id_file: the access key id contains whitespace`],
    ['a bucket URL with a query', { type: 's3', region: 'us-east-1' }, {}, `${S3_URL}?x=1`, `${FIELD}: a signed bucket URL must not carry a query, fragment or user info`],
    ['a bucket URL that is no URL', { type: 's3', region: 'us-east-1' }, {}, 'not a url', `${FIELD}: the bucket URL not a url is not a URL`],
    ['an ftp bucket URL', { type: 's3', region: 'us-east-1' }, {}, 'ftp://x/y', `${FIELD}: the bucket URL must be http or https, not ftp:`],
    ['a missing CloudFront key', { type: 'cloudfront', key_pair_id: 'K1', key_file: 'nope.pem' }, {}, cfUrl, `${FIELD}.key_file: cannot read ${at('nope.pem')}: ENOENT`],
    ['a public key for CloudFront', { type: 'cloudfront', key_pair_id: 'K1', key_file: 'cf-public.pem' }, {}, cfUrl, `${FIELD}.key_file: cf-public.pem holds a public key; signing needs the private key`],
    ['an EC key for CloudFront', { type: 'cloudfront', key_pair_id: 'K1', key_file: 'ec.pem' }, {}, cfUrl, `${FIELD}.key_file: ec.pem holds an ec key; expected an RSA private key`],
    ['a 1024-bit key', { type: 'cloudfront', key_pair_id: 'K1', key_file: 'small.pem' }, {}, cfUrl, `${FIELD}.key_file: small.pem holds a 1024-bit RSA key; expected at least 2048 bits`],
    ['an encrypted key', { type: 'cloudfront', key_pair_id: 'K1', key_file: 'encrypted.pem' }, {}, cfUrl, `${FIELD}.key_file: encrypted.pem holds an encrypted private key`],
    ['a broken PEM', { type: 'cloudfront', key_pair_id: 'K1', key_file: 'garbage.pem' }, {}, cfUrl, `${FIELD}.key_file: garbage.pem is not a PEM private key`],
    ['no GCS credentials', { type: 'gcs' }, {}, gcsUrl, `${FIELD}.key_file: no credentials: name a service-account key_file (or set GOOGLE_APPLICATION_CREDENTIALS) or the hmac_* files`],
    ['a user credential', { type: 'gcs', key_file: 'user.json' }, {}, gcsUrl, `${FIELD}.key_file: user.json holds a authorized_user credential; signing needs a service_account key`],
    ['a JSON file without type', { type: 'gcs', key_file: 'aws/id' }, {}, gcsUrl, `${FIELD}.key_file: aws/id is not JSON; expected a service-account key file`],
    ['broken JSON', { type: 'gcs', key_file: 'not.json' }, {}, gcsUrl, `${FIELD}.key_file: not.json is not JSON`],
    ['a key without private_key', { type: 'gcs', key_file: 'incomplete.json' }, {}, gcsUrl, `${FIELD}.key_file: incomplete.json lacks client_email or private_key`],
    ['both kinds of GCS key', { type: 'gcs', key_file: 'sa.json', hmac_secret_file: 'hmac/secret' }, {}, gcsUrl, `${FIELD}.key_file: choose a service-account key_file or an HMAC key, not both`],
    ['half an HMAC key', { type: 'gcs', hmac_secret_file: 'hmac/secret' }, {}, gcsUrl, `${FIELD}.hmac_access_id_file: required with the other HMAC file`],
    ['the other half', { type: 'gcs', hmac_access_id_file: 'hmac/id' }, {}, gcsUrl, `${FIELD}.hmac_secret_file: required with the other HMAC file`],
    ['no Azure key', { type: 'azure', account: 'devstoreaccount1' }, {}, AZURE_URL, `${FIELD}.key_file: no credentials: name the account key_file or set AZURE_STORAGE_KEY`],
    ['a key that is not base64', { type: 'azure', account: 'devstoreaccount1', key_file: 'bad-azure.key' }, {}, AZURE_URL, `${FIELD}.key_file: bad-azure.key is not a base64 account key`],
    ['an env key that is not base64', { type: 'azure', account: 'devstoreaccount1' }, { AZURE_STORAGE_KEY: 'abc' }, AZURE_URL, `${FIELD}.key_file: AZURE_STORAGE_KEY is not a base64 account key`],
    ['another account', { type: 'azure', account: 'otheraccount' }, { AZURE_STORAGE_KEY: AZURE_KEY }, AZURE_URL, `${FIELD}.account: the bucket URL ${AZURE_URL} names account otheraccount neither in its host nor as its first path segment`],
    ['no container', { type: 'azure', account: 'devstoreaccount1' }, { AZURE_STORAGE_KEY: AZURE_KEY }, 'https://devstoreaccount1.blob.core.windows.net', `${FIELD}: the bucket URL https://devstoreaccount1.blob.core.windows.net/ names no container`],
    ['no container, IP style', { type: 'azure', account: 'devstoreaccount1', allow_http: true }, { AZURE_STORAGE_KEY: AZURE_KEY }, 'http://127.0.0.1:10000/devstoreaccount1', `${FIELD}: the bucket URL http://127.0.0.1:10000/devstoreaccount1 names no container`],
    ['plain http without allow_http', { type: 'azure', account: 'devstoreaccount1' }, { AZURE_STORAGE_KEY: AZURE_KEY }, 'http://127.0.0.1:10000/devstoreaccount1/blobs', `${FIELD}.allow_http: the bucket URL is plain http but the SAS allows HTTPS only`],
  ])('%s', (_name, raw, env, bucketUrl, message) => {
    expect(failure(() => load(raw, env, bucketUrl))).toContain(message);
  });

  it('reports an unreadable key file with the error code', () => {
    if (process.getuid?.() === 0) {
      // root reads any file: a reader that fails the way the kernel would stands in.
      const error = Object.assign(new Error('denied'), { code: 'EACCES' });
      const message = failure(() =>
        loadSigner(parseSigning({ type: 'cloudfront', key_pair_id: 'K1', key_file: '/x' }, FIELD), {
          field: FIELD,
          bucketUrl: 'https://d1.cloudfront.net',
          secrets: { readFile: () => { throw error; } },
        }),
      );
      expect(message).toBe(`${FIELD}.key_file: cannot read /x: EACCES`);
      return;
    }
    const path = files.write('locked.pem', pair.privatePem);
    chmodSync(path, 0o000);
    expect(failure(() => load({ type: 'cloudfront', key_pair_id: 'K1', key_file: path }, {}, 'https://d1.cloudfront.net'))).toBe(`${FIELD}.key_file: cannot read ${path}: EACCES`);
  });

  it('the parsed type is what loadSigner takes', () => {
    const config: SigningConfig = { type: 's3', region: 'eu-west-1', expires_s: 120 };
    const signer = loadSigner(config, { field: FIELD, bucketUrl: S3_URL, secrets: { env: { AWS_ACCESS_KEY_ID: 'AKIA', AWS_SECRET_ACCESS_KEY: 's' } } });
    expect(signer.expiresS).toBe(120);
  });
});
