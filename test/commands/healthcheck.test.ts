import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { probeUrl } from '../../src/commands/healthcheck.js';
import { ROOT, runCli } from '../support/cli.js';
import { freePortSync } from '../support/ports.js';
import { scratch, startServe, writeConfig } from '../support/serve.js';

const listen = { host: '0.0.0.0', port: 8080 };

describe('healthcheck: which URL says the server is alive', () => {
  it.each<[string, Parameters<typeof probeUrl>[0], ReturnType<typeof probeUrl>]>([
    ['admin on loopback', { admin: { host: '127.0.0.1', port: 9191 }, listen }, { url: 'http://127.0.0.1:9191/healthz' }],
    ['admin on every IPv4 address, asked on loopback', { admin: { host: '0.0.0.0', port: 9090 }, listen }, { url: 'http://127.0.0.1:9090/healthz' }],
    ['admin on every IPv6 address', { admin: { host: '::', port: 9090 }, listen }, { url: 'http://[::1]:9090/healthz' }],
    ['admin on one IPv6 address', { admin: { host: 'fd00::5', port: 9090 }, listen }, { url: 'http://[fd00::5]:9090/healthz' }],
    ['admin off: the public ping', { admin: { host: '127.0.0.1', port: 0 }, listen }, { url: 'http://127.0.0.1:8080/v2/' }],
    ['admin host empty: the public ping', { admin: { host: '', port: 9090 }, listen: { host: '10.0.0.5', port: 80 } }, { url: 'http://10.0.0.5:80/v2/' }],
    ['nothing to ask', { admin: { host: '127.0.0.1', port: 0 }, listen: { host: '0.0.0.0', port: 0 } }, { error: 'the admin listener is off and listen.port is 0: no port to ask' }],
  ])('%s', (_name, config, expected) => {
    expect(probeUrl(config)).toEqual(expected);
  });
});

describe('registry-edge healthcheck against a running server', () => {
  const dir = scratch();
  afterAll(() => dir.cleanup());

  it('follows the configured admin port: 0 while the server answers, 1 once it is gone', async () => {
    const file = writeConfig(`${dir.path}/edge.yaml`, { origin: { url: 'https://o.example' } });
    const edge = await startServe(file);
    const up = await runCli(['healthcheck', '--config', file]);
    await edge.stop();
    expect(up).toMatchObject({ code: 0, stdout: `ok: ${edge.admin}/healthz\n` });
    const down = await runCli(['healthcheck', '--config', file]);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(new RegExp(`^registry-edge: healthcheck: ${edge.admin}/healthz: .*ECONNREFUSED`));
  });

  it('asks the public port when the admin listener is off', async () => {
    const port = freePortSync();
    const file = writeConfig(`${dir.path}/no-admin.yaml`, { origin: { url: 'https://o.example' }, listen: { host: '127.0.0.1', port } });
    const edge = await startServe(file, 'info', {}, { requireAdmin: false, args: ['--admin-port', '0'] });
    try {
      expect(await runCli(['healthcheck', '--config', file, '--admin-port', '0'])).toMatchObject({ code: 0, stdout: `ok: http://127.0.0.1:${port}/v2/\n` });
    } finally {
      await edge.stop();
    }
  });
});

describe('the container image', () => {
  it('HEALTHCHECK runs the CLI, which reads the configured admin port, instead of hard-coding one', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const healthcheck = /^HEALTHCHECK(?:[^\n\\]|\\\n)*/m.exec(dockerfile)?.[0] ?? '';
    expect(healthcheck).toMatch(/CMD \["node", "\/app\/dist\/bundle\/cli\.js", "healthcheck"\]/);
    expect(healthcheck).not.toMatch(/\d{4}/);
  });
});
