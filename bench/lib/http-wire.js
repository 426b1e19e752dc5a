// Just enough HTTP/1.1 for the open-loop generator: serialise a GET once, and find where one
// response ends in the bytes a keep-alive socket delivers. node's own http client costs tens
// of µs per request, which on a shared core would show up as the server's latency. Pure.

const HEAD_END = Buffer.from('\r\n\r\n');
const CRLF = Buffer.from('\r\n');

/**
 * The bytes of one keep-alive GET.
 * @param {{ method: string, path: string, headers: Record<string, string> }} request @param {string} host
 */
export function serializeRequest(request, host) {
  let text = `${request.method} ${request.path} HTTP/1.1\r\nhost: ${host}\r\n`;
  for (const [name, value] of Object.entries(request.headers)) text += `${name}: ${value}\r\n`;
  return Buffer.from(`${text}\r\n`, 'latin1');
}

/**
 * Where the chunked body starting at FROM ends (just past the last CRLF), undefined when the
 * bytes are not all there yet, or -1 when they are not chunked encoding.
 * @param {Buffer} buf @param {number} from
 */
function chunkedEnd(buf, from) {
  let at = from;
  for (;;) {
    const lineEnd = buf.indexOf(CRLF, at);
    if (lineEnd < 0) return undefined;
    const size = Number.parseInt(buf.toString('latin1', at, lineEnd).split(';')[0] ?? '', 16);
    if (!Number.isFinite(size) || size < 0) return -1;
    if (size === 0) {
      // No trailers from the servers measured here: the last chunk is followed by one CRLF.
      const trailerEnd = buf.indexOf(CRLF, lineEnd + 2);
      if (trailerEnd < 0) return undefined;
      return trailerEnd + 2;
    }
    at = lineEnd + 2 + size + 2;
    if (at > buf.length) return undefined;
  }
}

/**
 * One response at the start of BUF: its status, where it ends, and whether the server keeps
 * the connection. null: more bytes needed. Bodies must be framed by Content-Length or chunked
 * encoding (every server measured here does that on keep-alive connections).
 * @param {Buffer} buf
 * @returns {{ status: number, end: number, keepAlive: boolean } | { error: string } | null}
 */
export function parseResponse(buf) {
  const headEnd = buf.indexOf(HEAD_END);
  if (headEnd < 0) return buf.length > 64 * 1024 ? { error: 'response head over 64 KiB' } : null;
  const head = buf.toString('latin1', 0, headEnd);
  const lines = head.split('\r\n');
  const statusLine = /^HTTP\/1\.([01]) (\d{3})/.exec(lines[0] ?? '');
  if (!statusLine) return { error: `not an HTTP/1.x status line: ${JSON.stringify((lines[0] ?? '').slice(0, 60))}` };
  const status = Number(statusLine[2]);
  let keepAlive = statusLine[1] === '1';
  let length = -1;
  let chunked = false;
  for (let i = 1; i < lines.length; i += 1) {
    const line = lines[i] ?? '';
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim().toLowerCase();
    if (name === 'content-length') length = Number(value);
    else if (name === 'transfer-encoding') chunked = value.split(',').map((v) => v.trim()).includes('chunked');
    else if (name === 'connection') keepAlive = value === 'keep-alive' ? true : value === 'close' ? false : keepAlive;
  }
  const bodyStart = headEnd + 4;
  const bodiless = (status >= 100 && status < 200) || status === 204 || status === 304;
  if (bodiless) return { status, end: bodyStart, keepAlive };
  if (chunked) {
    const end = chunkedEnd(buf, bodyStart);
    if (end === undefined) return null;
    if (end < 0) return { error: 'bad chunked encoding' };
    return { status, end, keepAlive };
  }
  if (!Number.isInteger(length) || length < 0) return { error: 'response without Content-Length or chunked encoding' };
  if (buf.length < bodyStart + length) return null;
  return { status, end: bodyStart + length, keepAlive };
}
