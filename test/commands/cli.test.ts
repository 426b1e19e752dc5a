import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, runCli, spawnServe } from '../support/cli.js';
import { DIGEST_A, get } from '../support/harness.js';
import { startBucket } from '../support/buckets.js';

const dir = mkdtempSync(join(tmpdir(), 'edge-cli-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('registry-edge commands', () => {
  it('--help documents every command', async () => {
    const { code, stdout } = await runCli(['--help']);
    expect(code).toBe(0);
    for (const command of ['serve', 'check-config', 'explain', 'hosts', 'geo update']) expect(stdout).toContain(`registry-edge ${command}`);
  });

  it('--version prints the package version', async () => {
    expect((await runCli(['--version'])).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('check-config prints the effective config with environment overrides', async () => {
    const path = file('ok.yaml', 'origin: { url: "https://r.example" }\n');
    const { code, stdout, stderr } = await runCli(['check-config', path], { PORT: '8123' });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ origin: { url: 'https://r.example', path: '' }, listen: { port: 8123 } });
    expect(stderr).toContain('valid');
  });

  it('check-config exits non-zero naming the bad field and value', async () => {
    const path = file('bad.yaml', 'origin: { url: "https://r.example" }\nlisten: { port: 99999 }\n');
    const { code, stderr } = await runCli(['check-config', path]);
    expect(code).toBe(78);
    expect(stderr).toContain('listen.port: expected an integer from 0 to 65535, got 99999');
  });

  it.each([['serve'], ['check-config'], ['explain'], ['hosts'], ['geo'], ['geo', 'update'], ['healthcheck']])(
    '%s --help prints that command\'s usage and exits 0',
    async (...command) => {
      for (const flag of ['--help', '-h']) {
        const { code, stdout, stderr } = await runCli([...command, flag]);
        expect(code).toBe(0);
        expect(stderr).toBe('');
        expect(stdout).toMatch(new RegExp(`^Usage:\\n  registry-edge ${command[0]}`));
      }
    },
  );

  it('check-config without FILE checks and prints the effective embedded default', async () => {
    const { code, stdout, stderr } = await runCli(['check-config'], { PORT: '8124' });
    expect(code).toBe(0);
    const config = JSON.parse(stdout);
    expect(config).toMatchObject({ origin: { url: 'https://us-central1-docker.pkg.dev' }, listen: { port: 8124 } });
    expect(config.buckets).toHaveLength(33);
    expect(stderr).toMatch(/embedded default.*: valid\n$/);
  });

  it('refuses unknown commands and options with usage', async () => {
    expect((await runCli(['frobnicate'])).code).toBe(64);
    expect((await runCli(['check-config', 'a.yaml', 'b.yaml'])).code).toBe(64);
    expect((await runCli(['serve', '--bogus'])).code).toBe(64);
    expect((await runCli(['explain', '--ip', '1.2.3.4'])).code).toBe(64);
    expect((await runCli(['geo', 'download'])).code).toBe(64);
  });

  it('hosts lists every host a redirect can point at', async () => {
    const { code, stdout } = await runCli(['hosts']);
    expect(code).toBe(0);
    const hosts = stdout.trim().split('\n');
    expect(hosts).toContain('us-central1-docker.pkg.dev');
    expect(hosts).toContain('d1be1w964nk82h.cloudfront.net');
    expect(hosts).toContain('prod-registry-k8s-io-eu-west-3.s3.dualstack.eu-west-3.amazonaws.com');
    expect(hosts).toContain('asia-east1-docker.pkg.dev');
    // 32 AWS buckets, CloudFront and the twenty origin replicas (the primary, us-central1, is one of them).
    expect(hosts).toHaveLength(53);
  });

  it('explain shows the decision, candidates and checks for a blob', async () => {
    const bucket = await startBucket([`/containers/images/${DIGEST_A}`]);
    try {
      const path = file('explain.yaml', `origin: { url: "https://o.example" }\nbuckets: [{ name: lab, url: "${bucket.url}", networks: [10.0.0.0/8] }]\n`);
      const { code, stdout } = await runCli(['explain', '--config', path, '--ip', '::ffff:10.1.2.3', '--path', `/v2/app/blobs/${DIGEST_A}`]);
      expect(code).toBe(0);
      const out = JSON.parse(stdout);
      expect(out).toMatchObject({
        route: 'blob',
        status: 307,
        target: 'lab',
        location: `${bucket.url}/containers/images/${DIGEST_A}`,
        client: { ip: '10.1.2.3' },
        candidates: [{ bucket: 'lab', reason: 'network' }],
        checks: [{ bucket: 'lab', presence: 'present', cached: false }],
      });
    } finally {
      await bucket.close();
    }
  });

  it('explain covers every other kind of answer', async () => {
    const ex = async (path: string, method = 'GET') =>
      JSON.parse((await runCli(['explain', '--ip', '1.2.3.4', '--path', path, '--method', method])).stdout);
    expect(await ex('/v2/')).toMatchObject({ route: 'ping', status: 200 });
    // 1.2.3.4 geolocates to Australia: the embedded default sends it to the Sydney replica.
    expect(await ex('/v2/pause/manifests/3.9')).toMatchObject({
      status: 307,
      target: 'origin',
      origin: { host: 'australia-southeast1-docker.pkg.dev', reason: 'nearest' },
      location: 'https://australia-southeast1-docker.pkg.dev/v2/k8s-artifacts-prod/images/pause/manifests/3.9',
    });
    expect(await ex('/v2/_catalog')).toMatchObject({ status: 404, error: expect.stringContaining('UNSUPPORTED') });
    expect(await ex('/v2/', 'POST')).toMatchObject({ status: 405 });
    expect((await runCli(['explain', '--ip', 'nope', '--path', `/v2/a/blobs/${DIGEST_A}`])).code).toBe(64);
  });
});

describe('the registry-edge binary', () => {
  const started: Array<{ stop(): Promise<number | null> }> = [];
  afterAll(async () => {
    for (const s of started) await s.stop();
  });

  it('starts on the embedded default, logs where it listens, and stops cleanly on SIGTERM', async () => {
    // The embedded default binds admin 127.0.0.1:9090: --admin-port 0 keeps the test off it.
    const edge = await spawnServe(['--port', '0', '--admin-port', '0'], { REGISTRY_EDGE_CONFIG: '' });
    started.push(edge);
    const listening = edge.lines.find((l) => l.msg === 'listening');
    expect(listening).toMatchObject({ level: 'info', host: '0.0.0.0', config: expect.stringContaining('embedded default'), buckets: 33 });
    const res = await get(`http://127.0.0.1:${edge.port}`, '/v2/pause/manifests/3.9');
    expect(res.headers.location).toBe('https://us-central1-docker.pkg.dev/v2/k8s-artifacts-prod/images/pause/manifests/3.9');
    expect(await edge.stop('SIGTERM')).toBe(0);
    expect(edge.lines.some((l) => l.msg === 'stopped')).toBe(true);
  });

  it('honours archeio environment variables', async () => {
    const edge = await spawnServe(['--admin-port', '0'], { REGISTRY_EDGE_CONFIG: '', PORT: '0', UPSTREAM_REGISTRY_ENDPOINT: 'http://127.0.0.1:5000', UPSTREAM_REGISTRY_PATH: 'mirror' });
    started.push(edge);
    const res = await get(`http://127.0.0.1:${edge.port}`, '/v2/pause/manifests/3.9');
    expect(res.headers.location).toBe('http://127.0.0.1:5000/v2/mirror/pause/manifests/3.9');
    expect(await edge.stop('SIGINT')).toBe(0);
  });

  it('exits non-zero on an invalid config without starting', () => {
    const path = file('invalid.yaml', 'origin: { url: "https://r.example" }\nbuckets: [{ name: x }]\n');
    const result = spawnSync(process.execPath, [CLI, 'serve', '--config', path], { encoding: 'utf8', timeout: 10_000 });
    expect(result.status).toBe(78);
    expect(result.stderr).toContain('buckets[0].url: required');
    expect(result.stdout).not.toContain('listening');
  });
});

describe('lifecycle lines', () => {
  it('says where it listens even at log.level warn, and nothing per request', async () => {
    const path = file('quiet.yaml', 'origin: { url: "https://r.example" }\nlog: { level: warn }\nadmin: { port: 0 }\ngeo: { ranges: /nonexistent/ranges.mmdb }\n');
    const edge = await spawnServe(['--config', path, '--port', '0']);
    try {
      await get(`http://127.0.0.1:${edge.port}`, '/v2/x/manifests/1');
      expect(await edge.stop()).toBe(0);
      // Warnings still come (here: no ranges file); info comes only for the lifecycle.
      expect(edge.lines.filter((l) => l.level === 'info').map((l) => l.msg)).toEqual(['listening', 'stopped']);
      expect(edge.lines.filter((l) => l.level === 'warn').map((l) => l.msg)).toEqual([expect.stringContaining('cloud ranges database not found')]);
    } finally {
      await edge.stop();
    }
  });
});
