import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { listenFailure } from '../../src/ops/startup.js';
import { runBinary, runCli, spawnServe, type Spawned } from '../support/cli.js';
import { freePortSync } from '../support/ports.js';
import { scratch, writeConfig } from '../support/serve.js';

/** Start-up errors are one line and an exit status: no stack trace, printed once. */
function expectOneLine(result: { status: number | null; stderr: string; stdout: string }, line: string | RegExp): void {
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  if (typeof line === 'string') expect(result.stderr).toBe(`${line}\n`);
  else expect(result.stderr).toMatch(line);
  expect(result.stdout).not.toContain('"msg":"listening"');
}

function errno(code: string, message = code): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

describe('the one line a listener failure becomes', () => {
  it.each<[Parameters<typeof listenFailure>[0], string, number, string, string]>([
    ['admin', '127.0.0.1', 9090, 'EADDRINUSE', 'admin.port: 127.0.0.1:9090 is in use; set admin.port, or 0 to turn the admin listener off'],
    ['listen', '0.0.0.0', 8080, 'EADDRINUSE', 'listen.port: 0.0.0.0:8080 is in use; set listen.port, or 0 for any free port'],
    ['listen', '::', 8080, 'EADDRINUSE', 'listen.port: [::]:8080 is in use; set listen.port, or 0 for any free port'],
    ['listen', '0.0.0.0', 80, 'EACCES', 'listen.port: 0.0.0.0:80 needs privileges this process lacks; set listen.port above 1023, or 0 for any free port'],
    ['admin', '10.9.9.9', 9090, 'EADDRNOTAVAIL', 'admin.host: 10.9.9.9 is not an address of this machine; set admin.host'],
    ['listen', 'edge.invalid', 8080, 'ENOTFOUND', 'listen.host: "edge.invalid" does not resolve (ENOTFOUND); set listen.host to an IP address of this machine'],
    ['admin', 'edge.invalid', 9090, 'EAI_AGAIN', 'admin.host: "edge.invalid" does not resolve (EAI_AGAIN); set admin.host to an IP address of this machine'],
    ['listen', '127.0.0.1', 8080, 'EMFILE', 'listen: cannot listen on 127.0.0.1:8080: too many open files'],
  ])('%s %s:%i %s', (section, host, port, code, message) => {
    expect(listenFailure(section, host, port, errno(code, 'too many open files')).message).toBe(message);
  });
});

describe('start-up failures of the binary (run "npm run build" first)', () => {
  const dir = scratch();
  const holders: Server[] = [];
  const started: Spawned[] = [];
  afterEach(async () => {
    for (const edge of started.splice(0)) await edge.stop('SIGKILL');
    for (const server of holders.splice(0)) await new Promise((resolve) => server.close(resolve));
  });
  afterAll(() => dir.cleanup());

  /** Binds a port on 127.0.0.1 the way another instance would, and says which. */
  async function takePort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    holders.push(server);
    return (server.address() as { port: number }).port;
  }

  it('two instances side by side with default settings: the second exits within 5 s naming admin.port', async () => {
    // The default settings, with ports this test chose: public on 127.0.0.1, admin on a fixed port.
    const adminPort = freePortSync();
    const file = writeConfig(`${dir.path}/twins.yaml`, { origin: { url: 'https://o.example' } });
    const args = ['serve', '--config', file, '--admin-port', String(adminPort)];
    started.push(await spawnServe(args.slice(1)));
    const second = runBinary(args, {}, 10_000);
    expect(second.status).toBe(1);
    expect(second.ms).toBeLessThan(5000);
    expectOneLine(second, `registry-edge: admin.port: 127.0.0.1:${adminPort} is in use; set admin.port, or 0 to turn the admin listener off`);
  });

  it('says so once with --workers too: the primary reports, its workers do not', async () => {
    const adminPort = await takePort();
    const file = writeConfig(`${dir.path}/workers.yaml`, { origin: { url: 'https://o.example' } });
    const result = runBinary(['serve', '--config', file, '--workers', '2', '--admin-port', String(adminPort)]);
    expect(result.status).toBe(1);
    expectOneLine(result, `registry-edge: admin.port: 127.0.0.1:${adminPort} is in use; set admin.port, or 0 to turn the admin listener off`);
  });

  it('run() (what the binary calls) turns a taken port into exit 1 and the line, in this process too', async () => {
    const adminPort = await takePort();
    const file = writeConfig(`${dir.path}/in-process.yaml`, { origin: { url: 'https://o.example' } });
    const result = await runCli(['serve', '--config', file, '--admin-port', String(adminPort)]);
    expect(result).toEqual({
      code: 1,
      stdout: '',
      stderr: `registry-edge: admin.port: 127.0.0.1:${adminPort} is in use; set admin.port, or 0 to turn the admin listener off\n`,
    });
  });

  it('names listen.port when the public port is taken', async () => {
    const port = await takePort();
    const file = writeConfig(`${dir.path}/public.yaml`, { origin: { url: 'https://o.example' } });
    const result = runBinary(['serve', '--config', file, '--admin-port', '0', '--port', String(port)]);
    expect(result.status).toBe(1);
    expectOneLine(result, `registry-edge: listen.port: 127.0.0.1:${port} is in use; set listen.port, or 0 for any free port`);
  });

  it('names listen.host when it does not resolve', () => {
    const file = writeConfig(`${dir.path}/host.yaml`, { origin: { url: 'https://o.example' }, listen: { host: 'edge-host.invalid', port: 0 }, admin: { port: 0 } });
    const result = runBinary(['serve', '--config', file]);
    expect(result.status).toBe(78);
    expectOneLine(result, /^registry-edge: invalid configuration \(.*\): listen\.host: .*edge-host\.invalid/);
  });

  it('names a data file that does not load (inventory, ranges MMDB)', () => {
    const inventory = writeConfig(`${dir.path}/inventory.yaml`, { origin: { url: 'https://o.example' }, admin: { port: 0 }, blobs: { inventory: `${dir.path}/missing.txt` } });
    const missing = runBinary(['serve', '--config', inventory]);
    expect(missing.status).toBe(1);
    expectOneLine(missing, /^registry-edge: .*missing\.txt.*ENOENT/);

    const ranges = `${dir.path}/broken.mmdb`;
    writeFileSync(ranges, 'not an mmdb');
    const broken = runBinary(['serve', '--config', writeConfig(`${dir.path}/ranges.yaml`, { origin: { url: 'https://o.example' }, admin: { port: 0 }, geo: { ranges } })]);
    expect(broken.status).toBe(1);
    expectOneLine(broken, /^registry-edge: .*broken\.mmdb/);
  });
});
