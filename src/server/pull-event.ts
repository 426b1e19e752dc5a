import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { truncateIp, type IpFamily } from '../net/ip.js';
import type { Config } from '../config/types.js';

/*
 * Per-pull events: the request line of a manifest request (and of a blob with log.events.blobs)
 * also carries the event's fields, in the schema docs/operations.md documents for BigQuery and
 * Loki. One line, not two: a second line per manifest cost about 60% more CPU per request.
 */

/** Event schema version; a field renamed or retyped is a new version. */
export const PULL_EVENT_SCHEMA = 1;
/** Longer user agents are cut here: the field is for grouping clients, not for storing payloads. */
export const MAX_USER_AGENT = 256;
/** A caller's X-Request-Id is kept when it is this short and of these characters, else one is made. */
const REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

/*
 * Made ids are UUID-shaped: a random prefix drawn once per process (its version and variant
 * digits included) and a 48-bit counter. Unique across processes and restarts as a random UUID
 * is, without a random draw and sixteen byte-to-hex lookups per request.
 */
const ID_PREFIX = randomUUID().slice(0, 24);
const COUNTER_PAD = '000000000000';
let made = 0;

/** A new request id, for a request that brought none (or an unusable one). */
export function newRequestId(): string {
  const digits = (++made).toString(16);
  return `${ID_PREFIX}${COUNTER_PAD.slice(digits.length)}${digits}`;
}

/** The request id for a request: the caller's X-Request-Id when it is a sane one, else a new one. */
export function requestIdOf(rawHeaders: readonly string[]): string {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (name.length === 12 && name.toLowerCase() === 'x-request-id') {
      const value = rawHeaders[i + 1] as string;
      return REQUEST_ID.test(value) ? value : newRequestId();
    }
  }
  return newRequestId();
}

/** Whether a raw header name is User-Agent: the two spellings clients send are compared before any case folding. */
const isUserAgent = (name: string): boolean => name.length === 10 && (name === 'user-agent' || name === 'User-Agent' || name.toLowerCase() === 'user-agent');

function userAgentOf(rawHeaders: readonly string[]): string | undefined {
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    if (isUserAgent(name)) {
      const value = rawHeaders[i + 1] as string;
      return value.length > MAX_USER_AGENT ? value.slice(0, MAX_USER_AGENT) : value;
    }
  }
  return undefined;
}

/** The address truncated last, and its network: a client's requests mostly come one after another (a pull). */
let truncatedFrom: string | undefined;
let truncated = '';

/** The address as `log.client_ip` allows it to be written: all of it, its network only, or nothing. */
export function loggedIp(ip: string | undefined, family: IpFamily | undefined, mode: Config['log']['client_ip']): string | undefined {
  if (ip === undefined || mode === 'none') return undefined;
  if (mode === 'full') return ip;
  // The family follows from the address, so the address alone keys what was truncated last.
  if (ip !== truncatedFrom) {
    truncated = truncateIp(ip, family ?? 'ipv4');
    truncatedFrom = ip;
  }
  return truncated;
}

/** Whether `kind` gets an event under these settings. */
export function wantsEvent(kind: string, events: Config['log']['events']): boolean {
  return kind === 'manifest' ? events.manifests : kind === 'blob' && events.blobs;
}

/** The event's own fields, beside the request line's. */
export interface PullFields {
  repository: string | undefined;
  reference: string;
  userAgent: string | undefined;
  provider: string;
  region: string;
}

/** The reference is the raw target's last path segment: the classifier has already validated it. */
export function pullFields(incoming: IncomingMessage, repo: string | undefined, client: { provider?: string; region?: string } | undefined): PullFields {
  const url = incoming.url ?? '';
  const query = url.indexOf('?');
  const end = query === -1 ? url.length : query;
  // A loop over the reference's few characters: lastIndexOf is a call into the runtime.
  let start = end;
  while (start > 0 && url.charCodeAt(start - 1) !== 47 /* / */) start--;
  return {
    repository: repo,
    reference: url.slice(start, end),
    userAgent: userAgentOf(incoming.rawHeaders),
    provider: client?.provider ?? 'none',
    region: client?.region ?? 'none',
  };
}
