import { createHmac, hash, sign, type KeyObject } from 'node:crypto';
import { basicIsoTime, canonicalPath, encodeRfc3986, splitUrl } from './encode.js';
import type { BlobSigner, SignedRequest } from './types.js';

/**
 * Query-string presigning shared by AWS Signature V4 and Google's V4 (`GOOG4-*`): the same
 * canonical request, scope and string to sign, with different names. The only signed header
 * is `host`, and the payload is never signed, so any client can follow the URL.
 */
export interface V4Dialect {
  readonly algorithm: 'AWS4-HMAC-SHA256' | 'GOOG4-HMAC-SHA256' | 'GOOG4-RSA-SHA256';
  readonly prefix: 'X-Amz-' | 'X-Goog-';
  /** Region (S3) or `auto` (GCS). */
  readonly region: string;
  readonly service: 's3' | 'storage';
  readonly terminator: 'aws4_request' | 'goog4_request';
  /** Encoded parameters sorted between `Algorithm` and `Credential`: S3's content hash. */
  readonly afterAlgorithm: string;
  /** GCS appends the signature; the AWS SDK sorts it in before `SignedHeaders`. */
  readonly signatureLast: boolean;
}

/** Signs a V4 string to sign for the day `date8` and returns the signature in hex. */
export type V4SignatureFn = (stringToSign: string, date8: string) => string;

/** HMAC signing with the derived key of the day, derived once per day rather than per URL. */
export function hmacSignature(keyPrefix: 'AWS4' | 'GOOG4', secret: string, dialect: V4Dialect): V4SignatureFn {
  let keyDate = '';
  let key = Buffer.alloc(0);
  return (stringToSign, date8) => {
    if (date8 !== keyDate) {
      const dateKey = createHmac('sha256', keyPrefix + secret).update(date8).digest();
      const regionKey = createHmac('sha256', dateKey).update(dialect.region).digest();
      const serviceKey = createHmac('sha256', regionKey).update(dialect.service).digest();
      key = createHmac('sha256', serviceKey).update(dialect.terminator).digest();
      keyDate = date8;
    }
    return createHmac('sha256', key).update(stringToSign).digest('hex');
  };
}

/** RSASSA-PKCS1-v1_5 with SHA-256: deterministic, so replicas agree on the URL. */
export function rsaSignature(privateKey: KeyObject): V4SignatureFn {
  return (stringToSign) => sign('sha256', Buffer.from(stringToSign), privateKey).toString('hex');
}

export class V4QuerySigner {
  private readonly algorithmParam: string;
  private readonly credentialPrefix: string;
  private readonly credentialSuffix: string;
  private readonly scopeSuffix: string;
  private readonly afterExpires: string;
  private readonly signedHeadersParam: string;
  private readonly signatureName: string;

  constructor(
    private readonly dialect: V4Dialect,
    credentialId: string,
    sessionToken: string | undefined,
    private readonly expiresS: number,
    private readonly signature: V4SignatureFn,
  ) {
    const p = dialect.prefix;
    this.algorithmParam = `${p}Algorithm=${dialect.algorithm}${dialect.afterAlgorithm}&${p}Credential=`;
    this.scopeSuffix = `/${dialect.region}/${dialect.service}/${dialect.terminator}`;
    this.credentialPrefix = encodeRfc3986(`${credentialId}/`);
    this.credentialSuffix = encodeRfc3986(this.scopeSuffix);
    this.afterExpires = sessionToken === undefined ? '' : `&${p}Security-Token=${encodeRfc3986(sessionToken)}`;
    this.signedHeadersParam = `&${p}SignedHeaders=host`;
    this.signatureName = `&${p}Signature=`;
  }

  sign(method: 'GET' | 'HEAD', url: string | URL, signedAtMs: number): string {
    const { origin, path, host } = splitUrl(url);
    const encodedPath = canonicalPath(path);
    const time = basicIsoTime(signedAtMs);
    const date8 = time.slice(0, 8);
    const p = this.dialect.prefix;
    const head =
      this.algorithmParam + this.credentialPrefix + date8 + this.credentialSuffix +
      `&${p}Date=${time}&${p}Expires=${this.expiresS}` + this.afterExpires;
    const canonicalRequest = `${method}\n${encodedPath}\n${head}${this.signedHeadersParam}\nhost:${host}\n\nhost\nUNSIGNED-PAYLOAD`;
    const digest = hash('sha256', canonicalRequest, 'hex');
    const stringToSign = `${this.dialect.algorithm}\n${time}\n${date8}${this.scopeSuffix}\n${digest}`;
    const signature = this.signatureName + this.signature(stringToSign, date8);
    const query = this.dialect.signatureLast
      ? head + this.signedHeadersParam + signature
      : head + signature + this.signedHeadersParam;
    return `${origin}${encodedPath}?${query}`;
  }
}

/** A signer whose signature covers the method: HEAD gets its own URL. */
export function methodSigner(type: 's3' | 'gcs', expiresS: number, v4: V4QuerySigner): BlobSigner {
  return {
    type,
    expiresS,
    presignGet: (url, signedAtMs) => v4.sign('GET', url, signedAtMs),
    signedHead: (url, signedAtMs): SignedRequest => ({ url: v4.sign('HEAD', url, signedAtMs) }),
  };
}
