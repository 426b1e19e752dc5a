import { createHash, createHmac, timingSafeEqual, verify, type KeyObject } from 'node:crypto';
import { BlobSASPermissions, generateBlobSASQueryParameters, StorageSharedKeyCredential } from '@azure/storage-blob';
import { S3RequestPresigner } from '@aws-sdk/s3-request-presigner';
import type { BucketRequest, RequestVerifier, Verdict } from './private-bucket.js';

/**
 * How each provider checks a signed request, written from the providers' documentation and
 * independent of src/signing: S3 recomputes the signature with the SDK's own code, Azure with
 * the documented string-to-sign and the SDK both, CloudFront and GCS-RSA verify it with the
 * public key (as the services do), GCS-HMAC recomputes it step by step as Google documents.
 */

const OK: Verdict = { ok: true };
const no = (reason: string): Verdict => ({ ok: false, reason });

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** `20240501T123456Z` -> epoch ms, or NaN. */
function basicIso(text: string | null): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text ?? '');
  if (!m) return NaN;
  return Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
}

/** The checks S3 and GCS share for a V4 query: lifetime, clock, scope. */
function checkV4Window(q: URLSearchParams, prefix: string, nowMs: number): Verdict {
  const signedAt = basicIso(q.get(`${prefix}Date`));
  const expires = Number(q.get(`${prefix}Expires`));
  if (Number.isNaN(signedAt) || !Number.isInteger(expires) || expires < 1) return no('malformed date or expiry');
  if (expires > 604_800) return no('expiry over 7 days');
  if (signedAt > nowMs + 15 * 60_000) return no('not yet valid');
  if (nowMs > signedAt + expires * 1000) return no('expired');
  return OK;
}

function bytes(data: string | ArrayBuffer | ArrayBufferView): string | Uint8Array {
  if (typeof data === 'string') return data;
  return ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
}

/** smithy's hash interface over node:crypto (what @smithy/hash-node does). */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

export interface S3VerifierOptions {
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

export function s3Verifier(options: S3VerifierOptions): RequestVerifier {
  const presigner = new S3RequestPresigner({ credentials: options.credentials, region: options.region, sha256: NodeSha256 });
  return async (request, nowMs) => {
    const q = request.query;
    if (!q.has('X-Amz-Signature') || !q.has('X-Amz-Credential')) return no('unsigned');
    if (q.get('X-Amz-Algorithm') !== 'AWS4-HMAC-SHA256') return no('unsupported algorithm');
    const [keyId, , region, service, terminator] = (q.get('X-Amz-Credential') ?? '').split('/');
    if (keyId !== options.credentials.accessKeyId) return no('unknown access key');
    if (region !== options.region) return no(`wrong region: signed for ${region}, the bucket is in ${options.region}`);
    if (service !== 's3' || terminator !== 'aws4_request') return no('malformed credential scope');
    if ((q.get('X-Amz-Security-Token') ?? undefined) !== options.credentials.sessionToken) return no('bad security token');
    const window = checkV4Window(q, 'X-Amz-', nowMs);
    if (!window.ok) return window;
    const [hostname, port] = request.host.split(':');
    const query: Record<string, string> = {};
    for (const [name, value] of q) if (!name.startsWith('X-Amz-')) query[name] = value;
    const presigned = await presigner.presign(
      { method: request.method, protocol: 'http:', hostname: hostname ?? '', port: port ? Number(port) : undefined, path: request.rawPath, query, headers: { host: request.host } } as never,
      { signingDate: new Date(basicIso(q.get('X-Amz-Date'))), expiresIn: Number(q.get('X-Amz-Expires')) },
    );
    const expected = String((presigned.query as Record<string, unknown>)['X-Amz-Signature']);
    return sameText(expected, q.get('X-Amz-Signature') ?? '') ? OK : no('signature mismatch');
  };
}

export interface CloudFrontVerifierOptions {
  keyPairId: string;
  publicKey: KeyObject;
}

const SIGNING_PARAMS = new Set(['Expires', 'Signature', 'Key-Pair-Id', 'Hash-Algorithm', 'Policy']);

export function cloudFrontVerifier(options: CloudFrontVerifierOptions): RequestVerifier {
  return (request, nowMs) => {
    const q = request.query;
    if (!q.has('Signature')) return no('unsigned');
    if (q.has('Policy')) return no('custom policies are not accepted here');
    if (q.get('Key-Pair-Id') !== options.keyPairId) return no('unknown key pair');
    const expires = Number(q.get('Expires'));
    if (!Number.isInteger(expires)) return no('malformed expiry');
    if (nowMs / 1000 >= expires) return no('expired');
    const hash = q.get('Hash-Algorithm') ?? 'SHA1';
    if (hash !== 'SHA1' && hash !== 'SHA256') return no('unsupported hash');
    // The viewer URL without the signing parameters is the policy's resource.
    const rest = request.rawQuery.split('&').filter((pair) => !SIGNING_PARAMS.has(pair.split('=')[0] ?? ''));
    const resource = `http://${request.host}${request.rawPath}${rest.length ? `?${rest.join('&')}` : ''}`;
    const policy = JSON.stringify({ Statement: [{ Resource: resource, Condition: { DateLessThan: { 'AWS:EpochTime': expires } } }] });
    const signature = Buffer.from((q.get('Signature') ?? '').replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/'), 'base64');
    return verify(hash === 'SHA256' ? 'RSA-SHA256' : 'RSA-SHA1', Buffer.from(policy), options.publicKey, signature) ? OK : no('signature mismatch');
  };
}

export type GcsVerifierOptions =
  | { kind: 'rsa'; clientEmail: string; publicKey: KeyObject }
  | { kind: 'hmac'; accessId: string; secret: string };

function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function gcsStringToSign(request: BucketRequest, algorithm: string): string {
  const q = request.query;
  const query = [...q]
    .filter(([name]) => name !== 'X-Goog-Signature')
    .map(([name, value]) => `${rfc3986(name)}=${rfc3986(value)}`)
    .sort()
    .join('&');
  const signedHeaders = q.get('X-Goog-SignedHeaders') ?? '';
  const headers = signedHeaders.split(';').map((name) => `${name}:${name === 'host' ? request.host : ''}\n`).join('');
  const canonical = [request.method, request.rawPath, query, headers, signedHeaders, 'UNSIGNED-PAYLOAD'].join('\n');
  const date = q.get('X-Goog-Date') ?? '';
  const scope = (q.get('X-Goog-Credential') ?? '').split('/').slice(1).join('/');
  return [algorithm, date, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
}

export function gcsVerifier(options: GcsVerifierOptions): RequestVerifier {
  const algorithm = options.kind === 'rsa' ? 'GOOG4-RSA-SHA256' : 'GOOG4-HMAC-SHA256';
  const id = options.kind === 'rsa' ? options.clientEmail : options.accessId;
  return (request, nowMs) => {
    const q = request.query;
    if (!q.has('X-Goog-Signature')) return no('unsigned');
    if (q.get('X-Goog-Algorithm') !== algorithm) return no('unsupported algorithm');
    const [who, date8, location, service, terminator] = (q.get('X-Goog-Credential') ?? '').split('/');
    if (who !== id) return no('unknown credential');
    if (location !== 'auto' || service !== 'storage' || terminator !== 'goog4_request') return no('malformed credential scope');
    if (!(q.get('X-Goog-SignedHeaders') ?? '').split(';').includes('host')) return no('host is not signed');
    if (date8 !== (q.get('X-Goog-Date') ?? '').slice(0, 8)) return no('malformed credential scope');
    const window = checkV4Window(q, 'X-Goog-', nowMs);
    if (!window.ok) return window;
    const stringToSign = gcsStringToSign(request, algorithm);
    const signature = q.get('X-Goog-Signature') ?? '';
    if (options.kind === 'rsa') {
      return verify('sha256', Buffer.from(stringToSign), options.publicKey, Buffer.from(signature, 'hex')) ? OK : no('signature mismatch');
    }
    let key: Buffer = createHmac('sha256', `GOOG4${options.secret}`).update(date8 ?? '').digest();
    for (const part of ['auto', 'storage', 'goog4_request']) key = createHmac('sha256', key).update(part).digest();
    return sameText(createHmac('sha256', key).update(stringToSign).digest('hex'), signature) ? OK : no('signature mismatch');
  };
}

export interface AzureVerifierOptions {
  account: string;
  accountKey: string;
}

/** The string-to-sign layout Microsoft documents for service SAS versions 2020-12-06 and later. */
const AZURE_LAYOUT_SINCE = '2020-12-06';

/**
 * The service SAS string-to-sign for a blob, field by field as "Create a service SAS"
 * documents it: sp, st, se, canonicalized resource, si, sip, spr, sv, sr, snapshot time, ses,
 * then the five response-header overrides.
 */
function azureStringToSign(q: URLSearchParams, canonicalizedResource: string): string {
  const field = (name: string): string => q.get(name) ?? '';
  return [
    field('sp'), field('st'), field('se'), canonicalizedResource, field('si'), field('sip'), field('spr'), field('sv'),
    field('sr'), field('sst'), field('ses'), field('rscc'), field('rscd'), field('rsce'), field('rscl'), field('rsct'),
  ].join('\n');
}

/**
 * Verifies as Azure does: recomputes the HMAC-SHA256 of the documented string-to-sign with the
 * account key, and also asks the Azure SDK for the signature of the same fields; both must
 * equal the one sent (two independent readings of the algorithm, so neither can drift).
 */
export function azureVerifier(options: AzureVerifierOptions): RequestVerifier {
  const credential = new StorageSharedKeyCredential(options.account, options.accountKey);
  const key = Buffer.from(options.accountKey, 'base64');
  return (request, nowMs) => {
    const q = request.query;
    if (!q.has('sig')) return no('unsigned');
    if (q.get('sr') !== 'b') return no('not a blob SAS');
    if ((q.get('sv') ?? '') < AZURE_LAYOUT_SINCE) return no('unsupported signed version');
    if (!(q.get('sp') ?? '').includes('r')) return no('no read permission');
    if (!request.secure && q.get('spr') !== 'https,http') return no('HTTPS only');
    const expiry = Date.parse(q.get('se') ?? '');
    if (Number.isNaN(expiry) || nowMs >= expiry) return no('expired');
    const start = q.get('st');
    if (start !== null && nowMs < Date.parse(start)) return no('not yet valid');
    // This server is IP-style, as Azurite is: /<account>/<container>/<blob>.
    const [, account, container, ...blob] = request.rawPath.split('/').map((s) => decodeURIComponent(s));
    if (account !== options.account || !container || blob.length === 0) return no('wrong account or no blob');
    const resource = `/blob/${account}/${container}/${blob.join('/')}`;
    const documented = createHmac('sha256', key).update(azureStringToSign(q, resource), 'utf8').digest('base64');
    const bySdk = generateBlobSASQueryParameters(
      {
        containerName: container,
        blobName: blob.join('/'),
        permissions: BlobSASPermissions.parse(q.get('sp') ?? ''),
        expiresOn: new Date(expiry),
        ...(start !== null ? { startsOn: new Date(start) } : {}),
        protocol: q.get('spr') as never,
        version: q.get('sv') ?? '',
      },
      credential,
    ).signature;
    const sent = q.get('sig') ?? '';
    if (!sameText(documented, sent)) return no('signature mismatch');
    return sameText(bySdk, sent) ? OK : no('the SDK disagrees with the documented algorithm');
  };
}
