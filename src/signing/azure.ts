import { createHmac } from 'node:crypto';
import { canonicalPath, decodeSegment, extendedIsoTime, splitUrl } from './encode.js';
import type { BlobSigner, SignedRequest } from './types.js';

/**
 * The storage service version named in every SAS. It fixes the string-to-sign layout (the
 * 16-field form used since 2020-12-06) and the API version of the request; Azurite and every
 * Azure region accept it.
 */
export const AZURE_SAS_VERSION = '2022-11-02';

export interface AzureSignerOptions {
  account: string;
  /** The decoded account key (64 bytes for Azure accounts). */
  accountKey: Buffer;
  expiresS: number;
  /** Plain-HTTP endpoints (Azurite, tests) need `spr=https,http`; Azure itself gets `https`. */
  allowHttp: boolean;
}

/**
 * A blob service SAS: read-only (`sp=r`), one blob (`sr=b`), HTTPS only unless told, no start
 * time (valid at once, so a replica whose clock runs slightly ahead does no harm).
 */
export function azureSigner(options: AzureSignerOptions): BlobSigner {
  const protocol = options.allowHttp ? 'https,http' : 'https';
  const fixedQuery = `sv=${AZURE_SAS_VERSION}&spr=${encodeURIComponent(protocol)}&se=`;
  const presignGet = (url: string | URL, signedAtMs: number): string => {
    const { origin, path, host } = splitUrl(url);
    const expiry = extendedIsoTime(signedAtMs + options.expiresS * 1000);
    const stringToSign = [
      'r', '', expiry, canonicalResource(options.account, host, path), '', '', protocol,
      AZURE_SAS_VERSION, 'b', '', '', '', '', '', '', '',
    ].join('\n');
    const signature = createHmac('sha256', options.accountKey).update(stringToSign, 'utf8').digest('base64');
    return `${origin}${canonicalPath(path, encodeAzureSegment)}?${fixedQuery}${encodeURIComponent(expiry)}&sr=b&sp=r&sig=${encodeURIComponent(signature)}`;
  };
  return {
    type: 'azure',
    expiresS: options.expiresS,
    presignGet,
    // Read permission covers Get Blob Properties (HEAD) as well.
    signedHead: (url, signedAtMs): SignedRequest => ({ url: presignGet(url, signedAtMs) }),
  };
}

/** The Azure SDK's spelling of a blob URL path, so URLs equal the SDK's byte for byte. */
function encodeAzureSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/'/g, '%27');
}

/**
 * `/blob/<account>/<container>/<blob>` with the blob name decoded. The account is in the
 * host for Azure (`acct.blob.core.windows.net`) and the first path segment for IP-style
 * endpoints such as Azurite (`127.0.0.1:10000/acct/...`).
 */
export function canonicalResource(account: string, host: string, path: string): string {
  const accountInPath = !host.startsWith(`${account}.`);
  const decoded = path.split('/').map(decodeSegment).join('/');
  const rest = accountInPath ? decoded.slice(account.length + 1) : decoded;
  return `/blob/${account}${rest}`;
}
