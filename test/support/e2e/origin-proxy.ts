/**
 * A proxy in front of the origin registry for the failure tests: it can slow blob bodies
 * down (so a kill lands mid-copy) and flip a byte in the body of chosen blobs (a corrupt
 * response with a correct status and length).
 */
import { createServer, request as httpRequest, type Server } from 'node:http';

export interface ProxyBehaviour {
  /** Blob bodies are sent in pieces of this size with a pause between them. */
  throttle?: { chunkBytes: number; pauseMs: number };
  /** Digests whose blob bodies get one byte flipped in the middle. */
  corrupt?: Set<string>;
}

export interface OriginProxy {
  url: string;
  behaviour: ProxyBehaviour;
  /** Blob GETs seen, by digest. */
  blobGets: string[];
  close(): Promise<void>;
}

const BLOB = /\/blobs\/(sha256:[0-9a-f]{64})$/;

async function sendSlowly(chunks: AsyncIterable<Buffer>, write: (chunk: Buffer) => void, behaviour: ProxyBehaviour, digest: string | undefined, length: number): Promise<void> {
  let offset = 0;
  const flipAt = digest !== undefined && behaviour.corrupt?.has(digest) ? Math.floor(length / 2) : -1;
  for await (const incoming of chunks) {
    const chunk = Buffer.from(incoming);
    if (flipAt >= offset && flipAt < offset + chunk.length) chunk[flipAt - offset] = (chunk[flipAt - offset] ?? 0) ^ 0xff;
    offset += chunk.length;
    const piece = behaviour.throttle?.chunkBytes ?? chunk.length;
    for (let at = 0; at < chunk.length; at += piece) {
      write(chunk.subarray(at, at + piece));
      if (behaviour.throttle) await new Promise((resolve) => setTimeout(resolve, behaviour.throttle?.pauseMs));
    }
  }
}

export async function startOriginProxy(originUrl: string, behaviour: ProxyBehaviour = {}): Promise<OriginProxy> {
  const origin = new URL(originUrl);
  const blobGets: string[] = [];
  const server: Server = createServer((incoming, outgoing) => {
    const digest = incoming.method === 'GET' ? BLOB.exec((incoming.url ?? '').split('?')[0] ?? '')?.[1] : undefined;
    if (digest !== undefined) blobGets.push(digest);
    const upstream = httpRequest({ host: origin.hostname, port: origin.port, path: incoming.url, method: incoming.method, headers: { ...incoming.headers, host: origin.host } }, (answer) => {
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      const length = Number(answer.headers['content-length'] ?? 0);
      sendSlowly(answer, (chunk) => outgoing.write(chunk), behaviour, digest, length)
        .then(() => outgoing.end())
        .catch(() => outgoing.destroy());
    });
    upstream.on('error', () => outgoing.destroy());
    incoming.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    behaviour,
    blobGets,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
