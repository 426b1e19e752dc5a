import { mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STATUS_PAGE_HEADERS, statusPageHtml } from '../../src/ops/status-page/page.js';
import { ROUTE_EXPLORER_PATH, STATUS_SNAPSHOT_PATH, type StatusSnapshot } from '../../src/ops/status-model.js';
import { chromiumTool, collectErrors, openBrowser, setVisibility, type BrowserSession } from '../support/browser.js';
import { runsWith } from '../support/tools.js';

// The status page in a real browser (Debian's Chromium, headless), served by a small local
// server with fixed snapshots and a stub route explorer, as the admin listener will serve them.
// Asserts what an operator sees, drives the live updates with Playwright's clock, and leaves a
// screenshot in test-results/status-page.png.

const ROOT = join(import.meta.dirname, '..', '..');
const SCREENSHOT = join(ROOT, 'test-results', 'status-page.png');
const DIGEST = `sha256:${'a'.repeat(64)}`;
const rate = (total: number, per_s: number | null) => ({ total, per_s });

function snapshot(requestsPerSecond: number, generatedAt: string): StatusSnapshot {
  return {
    schema: 1,
    generated_at: generatedAt,
    window_s: 10,
    version: '0.1.0',
    config_loaded_at: '2026-11-24T08:00:00.000Z',
    requests: {
      total: rate(52_340, requestsPerSecond),
      by_route_status: [
        { route: 'blob', status: '307', ...rate(41_000, 96.5) },
        { route: 'manifest', status: '307', ...rate(11_000, 24) },
        { route: 'rate_limited', status: '429', ...rate(300, 1.5) },
        { route: 'blob', status: '500', ...rate(40, 0) },
      ],
    },
    buckets: [
      { name: 'aws-eu-west-1', state: 'closed', workers_by_state: { closed: 1 }, transitions: null, checks: [{ result: 'present', ...rate(900, 2) }] },
      { name: 'aws-us-east-1', state: 'open', workers_by_state: { open: 1 }, transitions: rate(6, 0.1), checks: [{ result: 'timeout', ...rate(12, 0.4) }] },
    ],
    existence_cache: {
      hit_ratio: 0.934,
      hit_ratio_over: 'window',
      hits: rate(9000, 90),
      misses: rate(640, 6.4),
      coalesced: 12,
      skipped: 33,
      overflow: 0,
      entries: 5120,
      inflight: 3,
    },
    blob_redirects: [
      { provider: 'aws', region: 'eu-west-1', target: 'aws-eu-west-1', ...rate(30_000, 70) },
      { provider: 'aws', region: 'us-east-1', target: 'origin', ...rate(6000, 14) },
      { provider: 'none', region: 'none', target: 'cdn', ...rate(5000, 12.5) },
    ],
    origin_fallbacks: {
      total: rate(6000, 14),
      by_client: [{ provider: 'aws', region: 'us-east-1', ...rate(6000, 14) }],
      reasons_source: 'derived',
      by_reason: [
        { reason: 'absent', ...rate(400, 1.2) },
        { reason: 'check_failed', ...rate(12, 0.4) },
        { reason: 'bucket_cooling_down', ...rate(33, 0.3) },
        { reason: 'too_many_heads', ...rate(0, 0) },
      ],
    },
    reloads: { success: rate(4, 0), failure: rate(1, 0) },
    geo: { ranges_loaded: true, ranges_age_s: 3 * 86_400 + 4 * 3600, refreshes: { success: 2, failure: 0 } },
    caches: [
      { name: 'existence', entries: 5120, bytes: 1_572_864, max_entries: 100_000, max_bytes: null },
      { name: 'rate_limit', entries: 42, bytes: null, max_entries: null, max_bytes: null },
    ],
    rate_limit: { clients: 42, refused: rate(300, 1.5) },
  };
}

const EXPLANATION = {
  request: { ip: '15.188.1.2', path: `/v2/app/blobs/${DIGEST}`, method: 'GET' },
  route: 'blob',
  client: { ip: '15.188.1.2', provider: 'aws', region: 'eu-west-3' },
  candidates: [{ bucket: 'paris', reason: 'provider-region', url: `https://paris.example/containers/images/${DIGEST}`, distance_km: 0 }],
  checks: [{ bucket: 'paris', reason: 'provider-region', presence: 'present', cached: false }],
  status: 307,
  target: 'paris',
  location: `https://paris.example/containers/images/${DIGEST}`,
  error: undefined,
};

interface StubAdmin {
  url: string;
  snapshots: number;
  routeQueries: URLSearchParams[];
  authorizations: Array<string | undefined>;
  /** When set, the snapshot and the explorer want this bearer token. */
  token: string | undefined;
  next: StatusSnapshot;
  close(): Promise<void>;
}

async function startStubAdmin(first: StatusSnapshot): Promise<StubAdmin> {
  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string>) => {
    res.writeHead(status, { 'Content-Length': Buffer.byteLength(body), ...headers });
    res.end(body);
  };
  const json = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };
  const page = statusPageHtml({ intervalMs: 5000 });
  const stub: StubAdmin = { url: '', snapshots: 0, routeQueries: [], authorizations: [], token: undefined, next: first, close: async () => undefined };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://stub.invalid');
    if (url.pathname === '/') return send(res, 200, page, STATUS_PAGE_HEADERS);
    stub.authorizations.push(req.headers.authorization);
    if (stub.token !== undefined && req.headers.authorization !== `Bearer ${stub.token}`) {
      return send(res, 401, JSON.stringify({ error: 'unauthorized' }), { ...json, 'WWW-Authenticate': 'Bearer' });
    }
    if (url.pathname === STATUS_SNAPSHOT_PATH) {
      stub.snapshots++;
      return send(res, 200, JSON.stringify(stub.next), json);
    }
    if (url.pathname === ROUTE_EXPLORER_PATH) {
      stub.routeQueries.push(url.searchParams);
      if (url.searchParams.get('ip') === 'not-an-address') return send(res, 400, JSON.stringify({ error: 'invalid client address "not-an-address"' }), json);
      return send(res, 200, JSON.stringify(EXPLANATION), json);
    }
    return send(res, 404, 'not found\n', { 'Content-Type': 'text/plain' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stub.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return stub;
}

describe.runIf(runsWith(chromiumTool))('status page in headless Chromium', () => {
  let stub: StubAdmin;
  let browser: BrowserSession;
  const errors: string[] = [];

  beforeAll(async () => {
    stub = await startStubAdmin(snapshot(122.5, '2026-11-24T10:00:00.000Z'));
    browser = await openBrowser();
    collectErrors(browser.page, errors);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await stub?.close();
  });

  const text = (selector: string) => browser.page.locator(selector).innerText();

  it('renders every section with the snapshot numbers, within a second of loading', async () => {
    const { page } = browser;
    await page.clock.install({ time: new Date('2026-11-24T10:00:00Z') });
    const started = Date.now();
    await page.goto(stub.url);
    await page.waitForSelector('body[data-rendered]');
    const renderMs = Date.now() - started;
    console.log(`status page served and rendered in ${renderMs} ms`);
    expect(renderMs).toBeLessThan(5000);

    expect(await text('[data-field="requests"] .value')).toBe('123/s');
    expect(await text('[data-field="origin-share"] .value')).toBe('14.5%');
    expect(await text('[data-field="hit-ratio"] .value')).toBe('93.4%');
    expect(await text('[data-field="refused"] .value')).toBe('1.50/s');
    expect(await text('[data-field="ranges-age"] .value')).toBe('3d 4h');
    expect(await text('[data-field="reload-failures"] .value')).toBe('1');
    expect(await text('#version')).toBe('version 0.1.0');

    const buckets = await text('#bucket-table');
    expect(buckets).toMatch(/aws-eu-west-1\s+closed/);
    expect(buckets).toMatch(/aws-us-east-1\s+open\s+6\s+timeout 0\.40\/s/);
    expect(await text('#cache-ratio')).toContain('hit ratio 93.4% (last 10s); 5,120 answers cached, 3 HEADs in flight, 33 lookups skipped');

    const requests = await text('#request-table');
    expect(requests).toMatch(/blob\s+307\s+96\.5\/s\s+41,000/);
    expect(requests).toMatch(/rate_limited\s+429\s+1\.50\/s\s+300/);

    // The chart: one bar per provider/region/target, longest for the busiest.
    const bars = page.locator('#redirect-chart svg g[data-row]');
    expect(await bars.count()).toBe(3);
    expect(await bars.nth(0).getAttribute('data-row')).toBe('aws / eu-west-1 → aws-eu-west-1');
    const widths = await page.$$eval('#redirect-chart rect', (rects) => rects.map((rect) => Number(rect.getAttribute('width'))));
    expect(widths[0]).toBeGreaterThan(widths[1] as number);
    expect(await text('#redirect-chart')).toContain('70.0/s');

    expect(await text('#fallback-total')).toContain('14.0/s (6,000 since start)');
    expect(await text('#fallback-reasons')).toMatch(/absent\s+1\.20\/s\s+400/);
    expect(await text('#fallback-reasons')).toMatch(/aws\s+us-east-1\s+14\.0\/s/);
    expect(await text('#reload-facts')).toMatch(/failure\s+1/);
    expect(await text('#config-loaded')).toContain('2026-11-24 08:00:00 UTC');
    expect(await text('#geo-facts')).toContain('built 3d 4h ago; refreshes: 2 ok, 0 failed');
    expect(await text('#cache-table')).toMatch(/existence\s+5,120 of 100,000\s+1\.5 MiB/);
    expect(errors).toEqual([]);
  });

  it('updates live while visible, stops polling while hidden, and catches up when shown again', async () => {
    const { page } = browser;
    stub.next = snapshot(250, '2026-11-24T10:00:05.000Z');
    await page.clock.runFor(5000);
    await expect.poll(() => text('[data-field="requests"] .value')).toBe('250/s');
    expect(await text('#live-state')).toBe('live, every 5s');

    await setVisibility(page, 'hidden');
    const whileHidden = stub.snapshots;
    await page.clock.runFor(120_000);
    expect(stub.snapshots).toBe(whileHidden);
    expect(await text('#live-state')).toBe('paused while hidden');

    stub.next = snapshot(300, '2026-11-24T10:02:05.000Z');
    await setVisibility(page, 'visible');
    await expect.poll(() => text('[data-field="requests"] .value')).toBe('300/s');
    expect(stub.snapshots).toBe(whileHidden + 1);
  });

  it('the route explorer asks /debug/route and shows the decision with its trace', async () => {
    const { page } = browser;
    await page.fill('#explore-ip', '15.188.1.2');
    await page.fill('#explore-path', `/v2/app/blobs/${DIGEST}`);
    await page.selectOption('#explore-method', 'HEAD');
    await page.click('#explore-form button');
    await page.waitForSelector('[data-field="decision"]');
    const query = stub.routeQueries.at(-1);
    expect(query?.get('ip')).toBe('15.188.1.2');
    expect(query?.get('path')).toBe(`/v2/app/blobs/${DIGEST}`);
    expect(query?.get('method')).toBe('HEAD');
    expect(await text('[data-field="decision"]')).toBe(`307 blob → paris https://paris.example/containers/images/${DIGEST}`);
    const result = await text('#explore-result');
    expect(result).toMatch(/provider\s+aws/);
    expect(result).toMatch(/paris\s+provider-region\s+present\s+false/);

    await page.fill('#explore-ip', 'not-an-address');
    await page.click('#explore-form button');
    await expect.poll(() => text('#explore-result')).toBe('invalid client address "not-an-address"');
    // The browser reports the refused request itself; nothing else went wrong.
    expect(errors.splice(0)).toEqual(['Failed to load resource: the server responded with a status of 400 (Bad Request)']);

    await mkdir(join(ROOT, 'test-results'), { recursive: true });
    await page.fill('#explore-ip', '15.188.1.2');
    await page.click('#explore-form button');
    await page.waitForSelector('[data-field="decision"]');
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(errors).toEqual([]);
  });

  it('asks for the admin token when the listener wants one, then sends it as a bearer token', async () => {
    const { page } = browser;
    stub.token = 'token-for-the-page-test';
    await page.reload();
    await page.waitForSelector('#auth:not([hidden])');
    expect(await text('#live-state')).toBe('waiting for the admin token');
    stub.next = snapshot(400, '2026-11-24T10:03:00.000Z');
    await page.fill('#token', 'token-for-the-page-test');
    await page.click('#auth-form button');
    await expect.poll(() => text('[data-field="requests"] .value')).toBe('400/s');
    expect(stub.authorizations.at(-1)).toBe('Bearer token-for-the-page-test');
    expect(await page.locator('#auth').isHidden()).toBe(true);
  });
});
