import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { PullFields } from '../../src/server/pull-event.js';
import { classify } from '../../src/routing/classify.js';
import { jsonText, millis, requestLine, type RequestLineFacts } from '../../src/server/request-line.js';
import fc from 'fast-check';

// The request line is built by hand for speed; these tables hold it to the line pino would
// write for the same fields (the format docs/operations.md documents and tests parse).

const TIME = 1_796_000_000_123;
const PID = 4242;

function pinoLine(facts: RequestLineFacts, event: PullFields | undefined): string {
  let out = '';
  const capture = new Writable({ write: (chunk, _enc, done) => { out += String(chunk); done(); } });
  const sync = pino({ base: { pid: PID }, timestamp: () => `,"time":${TIME}`, formatters: { level: (label) => ({ level: label }) } }, capture);
  const fields = {
    method: facts.method,
    route: facts.kind,
    status: facts.status,
    target: facts.target,
    bucket: facts.kind === 'blob' && facts.target !== 'origin' && facts.target !== 'none' ? facts.target : undefined,
    provider: event?.provider ?? facts.provider,
    region: event?.region ?? facts.region,
    reason: facts.reason,
    origin: facts.origin,
    client_ip: facts.clientIp,
    request_id: facts.requestId,
    ms: Math.round(facts.durationMs * 1000) / 1000,
    ...(event === undefined ? {} : {
      event: 'pull', schema: 1, kind: facts.kind, repository: event.repository, reference: event.reference, backend: facts.target, user_agent: event.userAgent ?? null,
    }),
  };
  if (facts.status >= 500) sync.error(fields, 'request');
  else sync.info(fields, 'request');
  return out;
}

const base: RequestLineFacts = {
  method: 'GET', kind: 'manifest', status: 307, target: 'origin', provider: undefined, region: undefined, reason: undefined, origin: undefined,
  clientIp: '203.0.113.0', requestId: '6f1c1d52-2a0e-4a57-9d43-1b8f2d0b9c11', durationMs: 0.123456,
};
const event: PullFields = { repository: 'pause', reference: '3.10', userAgent: 'containerd/v2.0.4', provider: 'aws', region: 'eu-west-3' };

const cases: Array<[string, RequestLineFacts, PullFields | undefined]> = [
  ['a manifest to the origin', base, undefined],
  ['a manifest to an origin replica', { ...base, origin: 'europe-west1-docker.pkg.dev' }, undefined],
  ['a blob to a bucket, client located', { ...base, kind: 'blob', target: 'aws-eu-west-3', provider: 'aws', region: 'eu-west-3' }, undefined],
  ['a blob to the origin, with a reason', { ...base, kind: 'blob', reason: 'check failed: paris: timeout after 500 ms' }, undefined],
  ['a 5xx at error level, no client address', { ...base, status: 503, target: 'none', clientIp: undefined }, undefined],
  ['a manifest with its pull event', base, event],
  ['a pull event without a user agent or a cloud', base, { ...event, userAgent: undefined, provider: 'none', region: 'none' }],
  ['a 429 HEAD', { ...base, method: 'HEAD', kind: 'rate_limited', status: 429, target: 'none', durationMs: 2 }, undefined],
];

describe('requestLine', () => {
  it.each(cases)('%s: byte for byte the line pino writes', (_name, facts, pull) => {
    expect(requestLine(TIME, PID, facts, pull)).toBe(pinoLine(facts, pull));
  });

  it('escapes what a client controls, and stays ASCII so a line\'s length is its byte count', () => {
    const hostile = 'a "quoted" \\ agent\twith\u0000nul, caf\u00e9 and \ud83d\ude00 and a lone \ud800';
    const line = requestLine(TIME, PID, base, { ...event, userAgent: hostile });
    expect(line.endsWith('}\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    expect(/^[\x20-\x7e]*\n$/.test(line)).toBe(true);
    expect(JSON.parse(line).user_agent).toBe(hostile);
  });

  it('lines whose fields change from one to the next are each the line pino writes (the field texts remembered are renewed)', () => {
    const sequence: Array<[RequestLineFacts, PullFields | undefined]> = [
      [base, event],
      [{ ...base, method: 'HEAD', target: 'aws-eu-west-3', kind: 'blob', origin: 'mirror.example' }, { ...event, userAgent: 'docker/27.0', provider: 'gcp', region: 'us-east1' }],
      [{ ...base, status: 503 }, { ...event, userAgent: 'a "quoted" agent' }],
      [base, undefined],
      [base, event],
      [{ ...base, kind: 'blob', target: 'origin' }, { ...event, userAgent: undefined, repository: undefined }],
    ];
    for (let round = 0; round < 2; round++) {
      sequence.forEach(([facts, pull], index) => {
        expect(requestLine(TIME + index, index === 2 ? PID + 1 : PID, facts, pull)).toBe(pinoLine({ ...facts }, pull).replace(`"time":${TIME}`, `"time":${TIME + index}`).replace(`"pid":${PID}`, `"pid":${index === 2 ? PID + 1 : PID}`));
      });
    }
  });

  it.each([
    '/v2/pause/manifests/3.10',
    '/v2/kube-state-metrics/kube-state-metrics/manifests/v2.15.0_rc-1.x',
    '/v2/a__b.c-d/e/manifests/sha256:' + 'ab'.repeat(32),
    '/v2/pause/blobs/sha512:' + 'cd'.repeat(64),
  ])('a repository and reference the classifier accepts (%s) need no JSON escape, so the event writes them as they are', (target) => {
    const route = classify(target);
    if (route.kind !== 'manifest' && route.kind !== 'blob') throw new Error(`${target} was not accepted`);
    const reference = route.kind === 'manifest' ? route.reference : route.digest;
    expect(jsonText(route.name)).toBe(`"${route.name}"`);
    expect(jsonText(reference)).toBe(`"${reference}"`);
  });

  it.each([
    ['plain', '"plain"'],
    ['', '""'],
    ['with "quote"', '"with \\"quote\\""'],
    ['back\\slash', '"back\\\\slash"'],
    ['new\nline', '"new\\nline"'],
    ['\u00e9', '"\\u00e9"'],
    ['\u007f', '"\\u007f"'],
  ])('jsonText(%j) is %s', (value, expected) => {
    expect(jsonText(value)).toBe(expected);
    expect(JSON.parse(jsonText(value))).toBe(value);
  });

  it.each([0, 0.0004, 0.0005, 0.001, 0.05, 0.1234565, 1, 1.5, 2.000499, 999.9995, 12_345.678, 2_147_483.647, 2_147_483.648, 1e9 + 0.25])(
    'millis(%d) writes the duration as JSON writes it rounded to the microsecond',
    (ms) => {
      expect(millis(ms)).toBe(String(Math.round(ms * 1000) / 1000));
    },
  );

  it('millis agrees with JSON over durations from nothing to hours', () => {
    fc.assert(fc.property(fc.double({ min: 0, max: 1e7, noNaN: true }), (ms) => millis(ms) === String(Math.round(ms * 1000) / 1000)), { numRuns: 20_000 });
  });
});
