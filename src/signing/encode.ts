/**
 * Percent-encoding the providers agree on. S3, GCS and Azure want RFC 3986: every byte
 * except `A-Z a-z 0-9 - . _ ~` encoded, `/` kept between segments. `encodeURIComponent`
 * leaves `! ' ( ) *` alone, so those are added.
 */

const SUB_DELIMS = /[!'()*]/g;
const ALREADY_CANONICAL = /^[A-Za-z0-9\-._~/]*$/;
/** Printable ASCII without `%`: decoding is a no-op, so one pass of escapes is the whole job. */
const PLAIN_ASCII = /^[\x21-\x24\x26-\x7e]*$/;
const NOT_UNRESERVED = /[^A-Za-z0-9\-._~/]/g;

function hexEscape(c: string): string {
  return `%${c.charCodeAt(0).toString(16).toUpperCase()}`;
}

export function encodeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(SUB_DELIMS, hexEscape);
}

/** Decodes one segment; a stray `%` that is not an escape stays a literal `%`. */
export function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * The one spelling of a URL path that is both sent and signed: each segment decoded once and
 * encoded per RFC 3986, so `sha256:ab` becomes `sha256%3Aab` whether or not it came encoded.
 */
export function canonicalPath(pathname: string, encode: (segment: string) => string = encodeRfc3986): string {
  if (encode === encodeRfc3986) {
    // Digest keys (`.../sha256:<hex>`) take one of these two paths, never the split below.
    if (ALREADY_CANONICAL.test(pathname)) return pathname;
    if (PLAIN_ASCII.test(pathname)) return pathname.replace(NOT_UNRESERVED, hexEscape);
  }
  const segments = pathname.split('/');
  for (let i = 0; i < segments.length; i++) segments[i] = encode(decodeSegment(segments[i] as string));
  return segments.join('/');
}

/** Splits an absolute URL string into origin (`scheme://authority`) and path without parsing it twice. */
export function splitUrl(url: string | URL): { origin: string; path: string; host: string; protocol: string } {
  const parsed = typeof url === 'string' ? new URL(url) : url;
  if (parsed.search !== '' || parsed.hash !== '') {
    throw new Error('an object URL to sign must not have a query or fragment');
  }
  return { origin: `${parsed.protocol}//${parsed.host}`, path: parsed.pathname, host: parsed.host, protocol: parsed.protocol };
}

let lastSecond = NaN;
let lastBasicIso = '';

/**
 * `YYYYMMDDTHHMMSSZ` for whole seconds of `ms`. Signing windows hand every miss of a window
 * the same time, so the last answer is remembered.
 */
export function basicIsoTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    const iso = new Date(second * 1000).toISOString();
    // 2024-05-01T12:00:00.000Z -> 20240501T120000Z
    lastBasicIso = iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 13) + iso.slice(14, 16) + iso.slice(17, 19) + 'Z';
    lastSecond = second;
  }
  return lastBasicIso;
}

/** `YYYY-MM-DDTHH:MM:SSZ` for whole seconds of `ms` (Azure's SAS times). */
export function extendedIsoTime(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19) + 'Z';
}
