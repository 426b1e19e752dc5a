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
    // 40 µs plain + node's 6 µs of TLS: 1.15x is as low as that server can go on node.
    expect(lines).toContain("With node's TLS cost and nothing of ours, registry-edge serve (log warn) would be at 1.15x plain: the lowest ratio it can reach on node (target ≤ 1.25x).");
    expect(tlsTables({ h1: samples([40], [56]), h2: undefined, handshakes: {}, cpuRatio: 1.4, plainCpu: 40, tlsCpu: 56, connections: 20 }).join('\n')).not.toContain("node's floor");
  });
});

describe('tls-callgrind: the part of node a function belongs to', () => {
  type CostsModule = { categoryOf: (entry: string) => string; CATEGORIES: string[] };
  // @ts-expect-error bench/ is plain JavaScript without declarations
  const load = async (): Promise<CostsModule> => (await import('../../bench/lib/callgrind-costs.js')) as CostsModule;

  it.each([
    ['???:tls13_enc [/usr/bin/node]', 'OpenSSL'],
    ['???:OSSL_PARAM_locate [/usr/bin/node]', 'OpenSSL'],
    ['./malloc/./malloc/malloc.c:_int_free [/usr/lib/x86_64-linux-gnu/libc.so.6]', 'libc (malloc, free, memcpy, strcmp)'],
    ['???:operator new(unsigned long) [/usr/lib/x86_64-linux-gnu/libstdc++.so.6.0.30]', 'libc (malloc, free, memcpy, strcmp)'],
    ['???:node::crypto::TLSWrap::ClearOut() [/usr/bin/node]', 'node C++: TLS and stream wraps'],
    ['???:node::StreamBase::WriteString(v8::FunctionCallbackInfo<v8::Value> const&) [/usr/bin/node]', 'node C++: TLS and stream wraps'],
    ['???:node::InternalCallbackScope::Close() [/usr/bin/node]', 'node C++: other (callbacks, async hooks, http parser)'],
    ['???:v8::HandleScope::HandleScope(v8::Isolate*) [/usr/bin/node]', 'V8 C++: runtime and API'],
    ['???:Builtins_LoadIC [/usr/bin/node]', 'V8 builtins'],
    ['???:0x000000000d08cdc0 [???]', 'JavaScript (JIT code)'],
    ['???:v8::internal::ScavengerCollector::CollectGarbage() [/usr/bin/node]', 'V8 GC and compiler'],
    ['???:llhttp__internal_execute [/usr/bin/node]', 'llhttp, libuv, other libraries'],
    ['/home/iojs/build/ws/out/../deps/uv/src/unix/stream.c:uv__read [/usr/bin/node]', 'llhttp, libuv, other libraries'],
    ['???:_dl_runtime_resolve_xsavec [/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2]', 'llhttp, libuv, other libraries'],
  ])('%s -> %s', async (entry, category) => {
    const { categoryOf, CATEGORIES } = await load();
    expect(CATEGORIES).toContain(category);
    expect(categoryOf(entry)).toBe(category);
  });
});
