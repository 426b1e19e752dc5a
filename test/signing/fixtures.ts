import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll } from 'vitest';

/** The fixed clock every agreement test signs at: 2024-05-01T12:34:56Z. */
export const SIGNED_AT_MS = Date.UTC(2024, 4, 1, 12, 34, 56);

export interface RsaPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
  privatePem: string;
  publicPem: string;
}

const pairs = new Map<string, RsaPair>();

/** One 2048-bit RSA pair per label for the whole test file: generating one costs ~100 ms. */
export function rsaPair(label = 'default'): RsaPair {
  let pair = pairs.get(label);
  if (pair === undefined) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    pair = {
      privateKey,
      publicKey,
      privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    };
    pairs.set(label, pair);
  }
  return pair;
}

/** A temp folder removed after the test file. */
export function tempDir(prefix = 'registry-edge-signing-'): { dir: string; write(name: string, content: string | Buffer): string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return {
    dir,
    write(name, content) {
      const path = join(dir, name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
      return path;
    },
  };
}

/** Credentials in the shapes the providers document; none of them is real. */
export const AWS = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  // Temporary credentials: the token has the characters that need encoding.
  sessionToken: 'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+abc/def==',
};

export const AZURE_ACCOUNT = 'devstoreaccount1';
/** Azurite's published development key. */
export const AZURE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export const GCS_HMAC = { accessId: 'GOOG1EXAMPLEACCESSID0123456789', secret: 'bGoa+V7g/yqDXvKRqq+JTFn4uQZbPiQJo4pf9RzJ' };
export const GCS_EMAIL = 'edge-signer@example-project.iam.gserviceaccount.com';

/** Object keys a front door may have to sign: digests, and what other key templates allow. */
export const SPECIAL_KEYS = [
  'blobs/sha256:0f3b',
  'containers/images/sha256:' + 'a'.repeat(64),
  'a b/c+d=e&f',
  "!'()*~._-",
  'ünïcødé/日本',
  'semi;colon,comma$dollar@at',
  '100%',
];

/** `origin` + key, each segment encoded as a client would: the URL the signer is handed. */
export function objectUrl(origin: string, key: string): string {
  return `${origin}/${key.split('/').map(encodeURIComponent).join('/')}`;
}
