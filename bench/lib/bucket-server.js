// A stand-in for object-storage buckets: every path `/<bucket>/containers/images/<digest>`
// answers 200 when the digest is one of the bench's "present" blobs and 404 otherwise.
// `/<replica>/v2/` answers 200, so S2r's origin replicas pass their probes.
// It counts HEADs so the bench can prove an existence cache stayed warm during a round.
import { createServer } from 'node:http';

/**
 * @param {Set<string>} presentDigests
 * @returns {Promise<{ url: string, heads: () => number, requests: () => number, close: () => Promise<void> }>}
 */
export async function startBucketServer(presentDigests) {
  let heads = 0;
  let requests = 0;
  const server = createServer((req, res) => {
    requests += 1;
    if (req.method === 'HEAD') heads += 1;
    const marker = '/containers/images/';
    const path = (req.url ?? '').split('?')[0] ?? '';
    const at = path.indexOf(marker);
    const digest = at >= 0 ? decodeURIComponent(path.slice(at + marker.length)) : '';
    // An origin replica's health probe (`/<replica>/v2/`) finds it up.
    const present = presentDigests.has(digest) || path.endsWith('/v2/');
    res.writeHead(present ? 200 : 404, {
      'content-type': 'application/octet-stream',
      'content-length': present ? '4' : '0',
    });
    res.end(present && req.method !== 'HEAD' ? 'blob' : undefined);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(undefined));
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    heads: () => heads,
    requests: () => requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
