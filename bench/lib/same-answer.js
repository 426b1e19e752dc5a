// What the hono-same layer answers: registry-edge's own answer (status, Location,
// Docker-Distribution-Api-Version) to each distinct request of a scenario, and the length of the
// request line it logged for it, probed from a running registry-edge at info → file.
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';

/** @param {string} url @param {Record<string, string>} headers @returns {Promise<{ status: number, headers: import('node:http').IncomingHttpHeaders }>} */
function get(url, headers) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { connection: 'close', ...headers }, timeout: 30_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** The line of LOGFILE that logged the request with ID, if it is written yet. @param {string} logFile @param {string} id */
function lineOf(logFile, id) {
  return readFileSync(logFile, 'latin1').split('\n').find((line) => line.includes(`"request_id":"${id}"`));
}

/**
 * Asks EDGE (registry-edge at info, its stdout in its log file) each distinct request of
 * REQUESTS once and writes what it answered and logged to FILE, for bench/lib/hono-same.js.
 * Returns how many requests it sent (they count toward the server's answers).
 * @param {{ url: string, logFile?: string }} edge @param {import('./scenarios.js').CheckedRequest[]} requests @param {string} file
 */
export async function probeSameAnswers(edge, requests, file) {
  if (!edge.logFile) throw new Error('the probed registry-edge must log to a file');
  /** @type {Record<string, { status: number, headers: Record<string, string>, lineChars: number }>} */
  const answers = {};
  const keys = [...new Set(requests.map(({ request }) => `${request.path} ${request.headers['x-forwarded-for'] ?? ''}`))];
  /** @type {{ key: string, status: number, headers: Record<string, string>, id: string }[]} */
  const seen = [];
  for (const key of keys) {
    const { request } = /** @type {import('./scenarios.js').CheckedRequest} */ (requests.find((r) => `${r.request.path} ${r.request.headers['x-forwarded-for'] ?? ''}` === key));
    const answer = await get(`${edge.url}${request.path}`, request.headers);
    /** @type {Record<string, string>} */
    const headers = {};
    for (const name of ['location', 'docker-distribution-api-version']) {
      const value = answer.headers[name];
      if (typeof value === 'string') headers[name] = value;
    }
    seen.push({ key, status: answer.status, headers, id: String(answer.headers['x-request-id'] ?? '') });
  }
  for (const answer of seen) {
    // Found by its request id: the start-up check's own requests are logged too. The sink writes every 100 ms.
    let line = lineOf(edge.logFile, answer.id);
    for (let waited = 0; line === undefined && waited < 3000; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      line = lineOf(edge.logFile, answer.id);
    }
    if (line === undefined) throw new Error(`registry-edge logged no line for request ${answer.id} (${answer.key})`);
    answers[answer.key] = { status: answer.status, headers: answer.headers, lineChars: line.length + 1 };
  }
  writeFileSync(file, JSON.stringify({ answers }));
  return seen.length;
}
