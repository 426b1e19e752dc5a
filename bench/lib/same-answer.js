// What the hono-same layer answers: registry-edge's own answer (status, Location,
// Docker-Distribution-Api-Version) to each distinct request of a scenario, and the length of the
// request line it logged for it, probed from a running registry-edge at info → file.
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';

/** @param {string} url @param {Record<string, string>} headers @returns {Promise<{ status: number, headers: import('node:http').IncomingHttpHeaders }>} */
function get(url, headers) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { connection: 'close', ...headers }, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** The request lines of LOGFILE after byte offset FROM. @param {string} logFile @param {number} from */
function requestLinesAfter(logFile, from) {
  return readFileSync(logFile, 'latin1').slice(from).split('\n').filter((line) => line.includes('"msg":"request"'));
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
  const from = statSync(edge.logFile).size;
  /** @type {{ key: string, status: number, headers: Record<string, string> }[]} */
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
    seen.push({ key, status: answer.status, headers });
  }
  // The sink writes what is pending every 100 ms.
  let lines = requestLinesAfter(edge.logFile, from);
  for (let waited = 0; lines.length < seen.length && waited < 3000; waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    lines = requestLinesAfter(edge.logFile, from);
  }
  if (lines.length < seen.length) throw new Error(`registry-edge logged ${lines.length} request lines for ${seen.length} probes`);
  seen.forEach((answer, index) => {
    answers[answer.key] = { status: answer.status, headers: answer.headers, lineChars: (lines[index] ?? '').length + 1 };
  });
  writeFileSync(file, JSON.stringify({ answers }));
  return seen.length;
}
