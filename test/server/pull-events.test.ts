import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_USER_AGENT } from '../../src/server/pull-event.js';
import { startBucket, type BucketServer } from '../support/buckets.js';
import { spawnServe, type Spawned } from '../support/cli.js';
import { DIGEST_A, get } from '../support/harness.js';
import { parisConfig, scratch } from '../support/serve.js';

// issue 16: per-pull events from the built binary, after a pull's worth of real requests: one
// `pull` event per manifest request, carried by its request line, with the documented fields, X-Request-Id honoured or made
// and echoed on every answer, and no full client address with log.client_ip: truncated.

const MANIFEST_DIGEST = `sha256:${'d'.repeat(64)}`;
const LONG_UA = `containerd/2.0 ${'x'.repeat(1000)}`;
/** What a hostile client may put in a header value that node accepts: quotes, backslashes, tabs, Latin-1. */
const ODD_UA = 'odd "agent" \\ tab\there caf\u00e9';

describe('per-pull events (the built binary; run "npm run build" first)', () => {
  const dir = scratch('registry-edge-pull-events-');
  let bucket: BucketServer;
  let edge: Spawned;
  let base: string;
  const answers: Array<{ path: string; sentId: string | undefined; echoed: unknown; status: number }> = [];

  beforeAll(async () => {
    bucket = await startBucket([`/containers/images/${DIGEST_A}`]);
    const config = await parisConfig(dir, bucket.url, {
      log: { level: 'info', client_ip: 'truncated', events: { manifests: true, blobs: true } },
    });
    edge = await spawnServe(['--config', config]);
    base = `http://127.0.0.1:${edge.port}`;
    const pull: Array<[path: string, headers: Record<string, string>]> = [
      ['/v2/', {}],
      ['/v2/pause/manifests/3.10', { 'X-Request-Id': 'pull-1.a', 'User-Agent': LONG_UA }],
      [`/v2/pause/manifests/${MANIFEST_DIGEST}`, { 'X-Request-Id': 'bad id with spaces', 'User-Agent': ODD_UA }],
      [`/v2/pause/blobs/${DIGEST_A}`, { 'X-Request-Id': 'x'.repeat(200) }],
      ['/v2/_catalog', {}],
    ];
    for (const [path, headers] of pull) {
      const res = await get(base, path, { headers: { 'X-Forwarded-For': '15.188.77.99', ...headers } });
      answers.push({ path, sentId: headers['X-Request-Id'], echoed: res.headers['x-request-id'], status: res.status });
    }
    // The lines of the last request are written before its answer; give stdout a moment to arrive.
    await new Promise((resolve) => setTimeout(resolve, 200));
  });
  afterAll(async () => {
    if (edge?.child.exitCode === null) await edge.stop();
    await bucket?.close();
    dir.cleanup();
  });

  const events = () => edge.lines.filter((line) => line.event === 'pull');

  it('one event per manifest request and per blob (log.events.blobs), none for other routes', () => {
    expect(events().map((e) => [e.kind, e.reference])).toEqual([
      ['manifest', '3.10'],
      ['manifest', MANIFEST_DIGEST],
      ['blob', DIGEST_A],
    ]);
  });

  it('is the request line itself: one line per request, the event fields beside the request fields', () => {
    expect(edge.lines.filter((line) => line.msg === 'request')).toHaveLength(answers.length);
    expect(edge.lines.filter((line) => line.msg === 'pull')).toEqual([]);
    for (const event of events()) expect(event).toMatchObject({ msg: 'request', route: event.kind, target: event.backend, level: 'info' });
  });

  it('carries the documented fields: repository, reference, user agent (bounded), provider, region, backend, request id', () => {
    const [byTag, byDigest, blob] = events();
    expect(byTag).toMatchObject({ event: 'pull', schema: 1, kind: 'manifest', method: 'GET', repository: 'pause', status: 307, backend: 'origin', provider: 'aws', region: 'eu-west-3', request_id: 'pull-1.a', client_ip: '15.188.77.0' });
    expect(byTag?.user_agent).toBe(LONG_UA.slice(0, MAX_USER_AGENT));
    expect(byDigest).toMatchObject({ repository: 'pause', user_agent: ODD_UA });
    expect(byDigest?.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(blob).toMatchObject({ kind: 'blob', backend: 'paris', provider: 'aws', region: 'eu-west-3' });
  });

  it('echoes X-Request-Id on every answer: the caller\'s when sane, a new one otherwise; the event and the request line agree', () => {
    expect(answers.map((a) => a.status)).toEqual([200, 307, 307, 307, 404]);
    for (const answer of answers) expect(answer.echoed, answer.path).toEqual(expect.any(String));
    expect(answers[1]?.echoed).toBe('pull-1.a');
    expect(answers[2]?.echoed).not.toBe('bad id with spaces');
    expect(answers[3]?.echoed).toMatch(/^[0-9a-f-]{36}$/);
    const requestIds = edge.lines.filter((line) => line.msg === 'request').map((line) => line.request_id);
    expect(requestIds).toEqual(answers.map((a) => a.echoed));
    expect(events().map((e) => e.request_id)).toEqual([answers[1]?.echoed, answers[2]?.echoed, answers[3]?.echoed]);
  });

  it('no line carries the full client address with log.client_ip: truncated', () => {
    expect(edge.lines.map((line) => JSON.stringify(line)).join('\n')).not.toContain('15.188.77.99');
  });
});
