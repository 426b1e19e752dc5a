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

describe('the floor rows', () => {
  // @ts-expect-error bench/ is plain JavaScript without declarations
  const load = async () => (await import('../../bench/tls.js')) as { stackRow: (stack: string, samples: unknown) => Record<string, unknown>; tlsTables: (result: unknown) => string[] };
  const samples = (plain: number[], tls: number[]) => ({
    plain: { rps: [1000, 1100, 900], cpuUsPerRequest: plain, p99: [1], statuses: { 307: 3 } },
    tls: { rps: [800, 700, 750], cpuUsPerRequest: tls, p99: [1], statuses: { 307: 3 } },
  });

  it('a stack row is the median plain and TLS CPU per request, their ratio and difference', async () => {
    const { stackRow } = await load();
    expect(stackRow('node', samples([10, 30, 20], [28, 24, 26]))).toMatchObject({ stack: 'node', plainCpu: 20, tlsCpu: 26, extraUs: 6, plainRps: 1000, tlsRps: 750 });
    expect(stackRow('node', samples([10, 30, 20], [28, 24, 26])).ratio).toBeCloseTo(1.3);
    expect(stackRow('edge', { plain: samples([], []).plain })).toMatchObject({ ratio: null, extraUs: null });
  });

  it("the report sets node's floor beside ours and says how much TLS cost is beyond it", async () => {
    const { stackRow, tlsTables } = await load();
    const stacks = [stackRow('edge', samples([40], [56])), stackRow('hono', samples([30], [36])), stackRow('node', samples([20], [26]))];
    const lines = tlsTables({ h1: samples([40], [56]), h2: undefined, handshakes: {}, cpuRatio: 1.4, plainCpu: 40, tlsCpu: 56, connections: 20, stacks, beyondFloorUs: 10 });
    expect(lines).toContain("| node:http / node:https, fixed 307 (node's floor) | 20.0 | 26.0 | 6.0 | 1.30 | 1000 | 750 |");
    expect(lines).toContain("TLS adds 16.0 µs/req to registry-edge serve (log warn) and 6.0 µs/req to node's bare 307: 10.0 µs/req beyond node's floor.");
    expect(tlsTables({ h1: samples([40], [56]), h2: undefined, handshakes: {}, cpuRatio: 1.4, plainCpu: 40, tlsCpu: 56, connections: 20 }).join('\n')).not.toContain("node's floor");
  });
});
