import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get } from '../support/harness.js';
import { freePortSync } from '../support/ports.js';
import { scrape, scratch, startServe, value, writeConfig, type Served } from '../support/serve.js';

// issue 21: a live server (the serve command in-process) with admin.token_file set. Each
// protected endpoint is asked without a token, with a wrong one and with the right one.

const FIRST = 'first-0123456789abcdef0123456789abcdef';
const SECOND = 'second-fedcba9876543210fedcba9876543210';
const WRONG = 'wrong-00000000000000000000000000000000';
function connected(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** The status code of the one answer a socket receives before it closes. */
function answered(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.once('error', reject);
    socket.once('close', () => resolve(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 'none'));
  });
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

const PROTECTED: Array<[method: string, path: string, ok: number]> = [
  ['POST', '/reload', 200],
  ['GET', '/debug/status', 200],
  ['GET', '/debug/route?ip=192.0.2.1&path=/v2/app/manifests/1.0', 200],
  ['GET', '/debug/workers', 200],
  ['GET', '/debug/memory', 200],
];

describe('admin.token_file guards reloads, /debug/* and the status data (live server)', () => {
  const dir = scratch('registry-edge-admin-token-');
  const tokenFile = dir.file('token', `${FIRST}\n`);
  let edge: Served;

  beforeAll(async () => {
    const config = writeConfig(`${dir.path}/edge.yaml`, { origin: { url: 'https://origin.example' }, admin: { host: '127.0.0.1', port: freePortSync(), token_file: 'token' } });
    edge = await startServe(config);
  });
  afterAll(async () => {
    await edge?.stop();
    dir.cleanup();
  });

  it.each(PROTECTED)('%s %s: 401 without a token, 401 with a wrong one, 2xx with the right one', async (method, path, ok) => {
    const none = await get(edge.admin, path, { method });
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer\b/);
    expect((await get(edge.admin, path, { method, headers: bearer(WRONG) })).status).toBe(401);
    expect((await get(edge.admin, path, { method, headers: { Authorization: `Basic ${FIRST}` } })).status).toBe(401);
    expect((await get(edge.admin, path, { method, headers: bearer(FIRST) })).status).toBe(ok);
  });

  it('probes, /metrics and the page shell stay open; refusals are counted', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/']) expect((await get(edge.admin, path)).status, path).toBe(200);
    const page = await get(edge.admin, '/');
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('id="auth"');
    const before = value(await scrape(edge.admin), 'registry_edge_admin_unauthorized_total');
    await get(edge.admin, '/debug/status');
    expect(value(await scrape(edge.admin), 'registry_edge_admin_unauthorized_total')).toBe(before + 1);
  });

  it('a rotated token file takes effect on reload; the old token is refused after it', async () => {
    writeFileSync(tokenFile, SECOND);
    expect((await get(edge.admin, '/reload', { method: 'POST', headers: bearer(FIRST) })).status).toBe(200);
    expect((await get(edge.admin, '/debug/workers', { headers: bearer(FIRST) })).status).toBe(401);
    expect((await get(edge.admin, '/debug/workers', { headers: bearer(SECOND) })).status).toBe(200);
  });

  it('an unreadable token file at reload keeps the previous token and says so, without it', async () => {
    writeFileSync(tokenFile, '');
    expect((await get(edge.admin, '/reload', { method: 'POST', headers: bearer(SECOND) })).status).toBe(200);
    expect(edge.logs.messages('reload: the admin token stays the previous one').at(-1)).toMatchObject({ problem: expect.stringContaining('is empty') });
    expect((await get(edge.admin, '/debug/workers', { headers: bearer(SECOND) })).status).toBe(200);
    writeFileSync(tokenFile, SECOND);
  });

  it('100 concurrent POST /reload cause at most two rebuilds, and every caller gets an answer', async () => {
    const before = edge.logs.messages('reloaded').length;
    // Connected first, then all written in one go: the 100 requests are in flight together.
    const port = Number(new URL(edge.admin).port);
    const sockets = await Promise.all(Array.from({ length: 100 }, () => connected(port)));
    const request = `POST /reload HTTP/1.1\r\nHost: admin\r\nAuthorization: Bearer ${SECOND}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`;
    const answers = sockets.map((socket) => answered(socket));
    for (const socket of sockets) socket.write(request);
    const statuses = await Promise.all(answers);
    expect(statuses.every((status) => status === '200')).toBe(true);
    const rebuilds = edge.logs.messages('reloaded').length - before;
    expect(rebuilds).toBeGreaterThanOrEqual(1);
    expect(rebuilds).toBeLessThanOrEqual(2);
  });

  it('no token, right or wrong, appears in any log line or in /metrics', async () => {
    const logged = edge.logs.lines.map((line) => JSON.stringify(line)).join('\n');
    const metrics = (await get(edge.admin, '/metrics')).body;
    for (const token of [FIRST, SECOND, WRONG]) {
      expect(logged).not.toContain(token);
      expect(metrics).not.toContain(token);
    }
  });
});

describe('admin.metrics_auth and the start-up warning (live server)', () => {
  const dir = scratch('registry-edge-admin-token-');
  afterAll(() => dir.cleanup());

  it('metrics_auth: true puts /metrics behind the token; probes stay open', async () => {
    dir.file('token', FIRST);
    const edge = await startServe(writeConfig(`${dir.path}/a.yaml`, { origin: { url: 'https://o.example' }, admin: { host: '127.0.0.1', port: freePortSync(), token_file: 'token', metrics_auth: true } }));
    try {
      expect((await get(edge.admin, '/metrics')).status).toBe(401);
      expect((await get(edge.admin, '/metrics', { headers: bearer(FIRST) })).status).toBe(200);
      expect((await get(edge.admin, '/healthz')).status).toBe(200);
      expect((await get(edge.admin, '/readyz')).status).toBe(200);
      expect(edge.logs.lines.filter((line) => String(line.msg).includes('without admin.token_file'))).toEqual([]);
    } finally {
      await edge.stop();
    }
  });

  it('warns at start when the admin listener binds a non-loopback address without a token, and leaves it open', async () => {
    const edge = await startServe(writeConfig(`${dir.path}/b.yaml`, { origin: { url: 'https://o.example' }, admin: { host: '0.0.0.0', port: freePortSync() } }));
    try {
      const warning = edge.logs.lines.find((line) => String(line.msg).includes('without admin.token_file'));
      expect(warning).toMatchObject({ level: 'warn', admin_host: '0.0.0.0' });
      expect((await get(edge.admin, '/debug/workers')).status).toBe(200);
    } finally {
      await edge.stop();
    }
  });

  it('a token file that cannot be read stops the start with a one-line reason', async () => {
    await expect(startServe(writeConfig(`${dir.path}/c.yaml`, { origin: { url: 'https://o.example' }, admin: { host: '127.0.0.1', port: freePortSync(), token_file: 'missing' } }))).rejects.toThrow(
      /^admin\.token_file: cannot read .*missing \(ENOENT\)$/,
    );
  });
});
