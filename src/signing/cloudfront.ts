import { sign, type KeyObject } from 'node:crypto';
import { canonicalPath } from './encode.js';
import type { BlobSigner, SignedRequest } from './types.js';

export interface CloudFrontSignerOptions {
  /** The public key id of the distribution's trusted key group (or a legacy key pair id). */
  keyPairId: string;
  privateKey: KeyObject;
  expiresS: number;
  /** `sha256` needs a distribution that accepts `Hash-Algorithm=SHA256`; `sha1` works everywhere. */
  hash: 'sha1' | 'sha256';
}

const BASE64_TO_URL_SAFE: Record<string, string> = { '+': '-', '=': '_', '/': '~' };

function cloudFrontBase64(signature: Buffer): string {
  return signature.toString('base64').replace(/[+=/]/g, (c) => BASE64_TO_URL_SAFE[c] as string);
}

/**
 * CloudFront signed URLs with a canned policy: the policy itself is not sent, CloudFront
 * rebuilds it from the URL and `Expires`. Path segments are spelled as the AWS SDK spells
 * them (`encodeURIComponent` of each decoded segment) because the signature covers the URL
 * exactly as the viewer will send it.
 */
export function cloudFrontSigner(options: CloudFrontSignerOptions): BlobSigner {
  const algorithm = options.hash === 'sha256' ? 'RSA-SHA256' : 'RSA-SHA1';
  const trailer = `&Key-Pair-Id=${encodeURIComponent(options.keyPairId)}&Signature=`;
  const hashParam = options.hash === 'sha256' ? '&Hash-Algorithm=SHA256' : '';
  const presignGet = (url: string | URL, signedAtMs: number): string => {
    const resource = resourceUrl(url);
    const expires = Math.floor(signedAtMs / 1000) + options.expiresS;
    const policy = `{"Statement":[{"Resource":${JSON.stringify(resource)},"Condition":{"DateLessThan":{"AWS:EpochTime":${expires}}}}]}`;
    const signature = cloudFrontBase64(sign(algorithm, Buffer.from(policy), options.privateKey));
    return `${resource}?Expires=${expires}${trailer}${signature}${hashParam}`;
  };
  return {
    type: 'cloudfront',
    expiresS: options.expiresS,
    presignGet,
    // The policy names no method: the GET URL is good for HEAD too.
    signedHead: (url, signedAtMs): SignedRequest => ({ url: presignGet(url, signedAtMs) }),
  };
}

function resourceUrl(url: string | URL): string {
  const text = typeof url === 'string' ? url : url.href;
  const authority = text.indexOf('//');
  const pathStart = authority === -1 ? -1 : text.indexOf('/', authority + 2);
  if (pathStart === -1 || /[?#]/.test(text)) throw new Error('an object URL to sign must have a path and no query or fragment');
  return text.slice(0, pathStart) + canonicalPath(text.slice(pathStart), encodeURIComponent);
}
