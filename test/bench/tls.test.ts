// bench/tls.js reads h2load's summary; a change of that text must not turn into a silent 0.
import { describe, expect, it } from 'vitest';
// @ts-expect-error bench/ is plain JavaScript without declarations
import { parseH2load } from '../../bench/tls.js';

const SUMMARY = `finished in 1.55s, 1150.00 req/s, 67.47KB/s
requests: 1150 total, 1150 started, 1150 done, 1148 succeeded, 1 failed, 1 errored, 0 timeout
status codes: 0 2xx, 1148 3xx, 0 4xx, 0 5xx
`;

describe('parseH2load', () => {
  it('reads req/s, requests done, failures and 3xx answers from the nghttp2 1.52 summary', () => {
    expect(parseH2load(SUMMARY)).toEqual({ rps: 1150, done: 1150, failed: 2, status3xx: 1148 });
  });

  it('gives zeros and null failures for output it does not recognise', () => {
    expect(parseH2load('h2load: connect failed')).toEqual({ rps: 0, done: 0, failed: null, status3xx: 0 });
  });
});
