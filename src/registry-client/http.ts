/**
 * The transport under the registry client: node:http(s) with pooled keep-alive sockets (a
 * blob copy must not pay for `fetch`'s web-stream conversion), redirects followed the way
 * clients follow them (blob GETs often end at a CDN or a bucket), and an idle timeout.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { TransientError } from './retry.js';

export interface HttpRequest {
  method: 'GET' | 'HEAD';
  url: URL;
  headers: Record<string, string>;
  /** The socket may be idle this long (connecting, waiting for headers, between body bytes). */
  timeoutMs: number;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
  /** Where the answer came from, after redirects. */
  url: URL;
}

const MAX_REDIRECTS = 5;
const agents = {
  'http:': new http.Agent({ keepAlive: true, maxSockets: 256 }),
  'https:': new https.Agent({ keepAlive: true, maxSockets: 256 }),
};

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function sendOnce(request: HttpRequest): Promise<HttpResponse> {
  const transport = request.url.protocol === 'https:' ? https : http;
  const agent = request.url.protocol === 'https:' ? agents['https:'] : agents['http:'];
  return new Promise((resolve, reject) => {
    const outgoing = transport.request(request.url, { method: request.method, headers: request.headers, agent }, (body) => {
      resolve({ status: body.statusCode ?? 0, headers: body.headers, body, url: request.url });
    });
    outgoing.setTimeout(request.timeoutMs, () => {
      outgoing.destroy(new TransientError(`${request.method} ${request.url.host}: no data for ${request.timeoutMs} ms`));
    });
    outgoing.once('error', reject);
    outgoing.end();
  });
}

/** Where a redirect leads, or undefined if it leads nowhere a client would follow. */
export function redirectTarget(status: number, location: string | undefined, from: URL): URL | undefined {
  if (![301, 302, 303, 307, 308].includes(status) || location === undefined) return undefined;
  try {
    const target = new URL(location, from);
    return target.protocol === 'http:' || target.protocol === 'https:' ? target : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Sends the request, following redirects. Credentials are sent only to the origin they were
 * meant for: a registry redirecting a blob to a signed storage URL must not receive them back,
 * and the storage must not see them.
 */
export async function send(request: HttpRequest): Promise<HttpResponse> {
  let current = request;
  for (let hop = 0; ; hop++) {
    const response = await sendOnce(current);
    const target = redirectTarget(response.status, header(response.headers, 'location'), current.url);
    if (target === undefined) return response;
    response.body.resume();
    if (hop === MAX_REDIRECTS) throw new Error(`${request.method} ${request.url.href}: more than ${MAX_REDIRECTS} redirects`);
    const headers = { ...current.headers };
    if (target.origin !== current.url.origin) delete headers.authorization;
    current = { ...current, url: target, headers };
  }
}

/** The whole body as text, refusing more than `limitBytes` (manifests and lists are small). */
export async function readText(body: IncomingMessage, limitBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > limitBytes) {
      body.destroy();
      throw new Error(`response larger than ${limitBytes} bytes`);
    }
    chunks.push(chunk);
  }
  if (!body.complete) throw new TransientError('response body ended early');
  return Buffer.concat(chunks);
}

/** Reads and drops a body we do not need, so its socket goes back to the pool. */
export function discard(body: IncomingMessage): void {
  body.resume();
}
