import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { applyEnv, loadConfig, parseDuration, validateConfig } from '../../src/config/load.js';
import { scratch } from '../support/serve.js';
import { MINIMAL as minimal, problems } from '../support/config.js';

describe('validateConfig', () => {
  it('fills every field from the base defaults', () => {
    const config = validateConfig(minimal, 'test');
    expect(config.listen).toEqual({
      host: '0.0.0.0',
      port: 8080,
      max_connections: 10_000,
      headers_timeout_ms: 2_000,
      request_timeout_ms: 10_000,
      keep_alive_timeout_ms: 5_000,
      shutdown_timeout_ms: 5_000,
    });
    expect(config.blobs).toEqual({
      key: '/containers/images/{digest}',
      candidates: 2,
      inventory: '',
      check: { timeout_ms: 5_000, ttl_s: 21_600, negative_ttl_s: 60, max_entries: 100_000, max_inflight: 256, failure_threshold: 3, cooldown_ms: 10_000 },
    });
    expect(config.origin).toEqual({ url: 'https://registry.example', path: '', mirrors: [], probe: { interval_ms: 5_000, timeout_ms: 2_000, failures: 2 } });
    expect(config.routing).toEqual({ others: 'default', origins: 'primary' });
  });

  it('normalises URLs and paths', () => {
    const config = validateConfig({ origin: { url: 'https://r.example/', path: '/a/b/' }, privacy_url: 'https://p.example/x/' }, 'test');
    expect(config.origin).toMatchObject({ url: 'https://r.example', path: 'a/b' });
    expect(config.privacy_url).toBe('https://p.example/x/');
  });

  it('accepts the full schema of the README example', () => {
    const config = validateConfig(
      {
        ...minimal,
        client_ip: { trusted_hops: 2 },
        providers: { gcp: 'origin' },
        buckets: [
          { name: 'aws-eu-west-3', url: 'https://b.example', provider: 'aws', regions: ['eu-west-3'] },
          { name: 'lab', url: 'http://127.0.0.1:5101', networks: ['127.0.0.0/8', '::1/128'], location: { lat: 48.8, lon: 2.3 } },
        ],
        default_bucket: 'lab',
        limits: { per_ip_rps: 10 },
      },
      'test',
    );
    expect(config.buckets[1]).toMatchObject({ name: 'lab', networks: ['127.0.0.0/8', '::1/128'], regions: [], location: { lat: 48.8, lon: 2.3 } });
    expect(config.limits.burst).toBe(10);
  });

  it.each<[string, unknown, RegExp]>([
    ['missing origin', {}, /origin\.url: required/],
    ['bad origin scheme', { origin: { url: 'ftp://x' } }, /origin\.url: expected an http/],
    ['origin with query', { origin: { url: 'https://x/?a=1' } }, /without query/],
    ['origin with credentials', { origin: { url: 'https://u:p@x' } }, /credentials/],
    ['escaping origin path', { origin: { url: 'https://x', path: 'a/../b' } }, /origin\.path/],
    ['encoded origin path', { origin: { url: 'https://x', path: 'a/%2e%2e' } }, /origin\.path/],
    ['port out of range', { ...minimal, listen: { port: 70000 } }, /listen\.port: expected an integer from 0 to 65535, got 70000/],
    ['port as word', { ...minimal, listen: { port: 'eighty' } }, /listen\.port.*"eighty"/],
    ['unknown top-level field', { ...minimal, bukcets: [] }, /bukcets: unknown field/],
    ['unknown nested field', { ...minimal, blobs: { check: { ttl: 5 } } }, /blobs\.check\.ttl: unknown field/],
    ['bad key template', { ...minimal, blobs: { key: '/x/{digest}/../y' } }, /blobs\.key/],
    ['key without digest', { ...minimal, blobs: { key: '/x/' } }, /blobs\.key/],
    ['provider rule', { ...minimal, providers: { gcp: 'bucket' } }, /providers\.gcp: expected "origin"/],
    ['bucket without url', { ...minimal, buckets: [{ name: 'a' }] }, /buckets\[0\]\.url: required/],
    ['duplicate bucket', { ...minimal, buckets: [{ name: 'a', url: 'http://a' }, { name: 'a', url: 'http://b' }] }, /buckets\[1\]\.name: expected a unique/],
    ['bad network', { ...minimal, buckets: [{ name: 'a', url: 'http://a', networks: ['10.0.0.0/40'] }] }, /buckets\[0\]\.networks\[0\]/],
    ['regions without provider', { ...minimal, buckets: [{ name: 'a', url: 'http://a', regions: ['x'] }] }, /regions need a provider/],
    ['bad location', { ...minimal, buckets: [{ name: 'a', url: 'http://a', location: { lat: 100, lon: 0 } }] }, /location/],
    ['unknown default bucket', { ...minimal, default_bucket: 'nope' }, /default_bucket: expected a bucket name/],
    ['bad default url', { ...minimal, default_bucket: 'https://x/?q' }, /default_bucket/],
    ['bad log level', { ...minimal, log: { level: 'loud' } }, /log\.level: expected one of/],
    ['bad refresh', { ...minimal, geo: { refresh: 'often' } }, /geo\.refresh/],
    ['too frequent refresh', { ...minimal, geo: { refresh: '10s' } }, /geo\.refresh/],
    ['not a mapping', ['a'], /top level/],
    ['section not a mapping', { ...minimal, listen: 5 }, /listen: expected a mapping/],
    ['timeouts out of order', { ...minimal, listen: { headers_timeout_ms: 5000, request_timeout_ms: 1000 } }, /request_timeout_ms/],
    ['bool', { ...minimal, metrics: { repos: 'yes' } }, /metrics\.repos: expected true or false/],
    ['list item', { ...minimal, geo: { locations: [1] } }, /geo\.locations\[0\]: expected a file path, got 1/],
    ['buckets not a list', { ...minimal, buckets: {} }, /buckets: expected a list/],
    ['bucket not a mapping', { ...minimal, buckets: ['x'] }, /buckets\[0\]: expected a mapping/],
    ['string field', { ...minimal, info_url: 5 }, /info_url: expected a string/],
  ])('names the bad field: %s', (_name, doc, message) => {
    expect(problems(doc).join('\n')).toMatch(message);
  });

  it('reports every problem at once', () => {
    expect(problems({ listen: { port: -1 }, log: { level: 'x' } })).toHaveLength(3);
  });
});

describe('parseDuration', () => {
  it.each([
    ['', 0],
    ['12h', 43_200_000],
    ['1h30m', 5_400_000],
    ['45s', 45_000],
  ])('%s', (text, ms) => expect(parseDuration(text)).toBe(ms));
  it('refuses garbage', () => expect(parseDuration('soon')).toBeUndefined());
});

describe('environment overrides (archeio compatibility)', () => {
  it('win over the file and are validated like it', () => {
    const doc = applyEnv(minimal, {
      PORT: '9999',
      UPSTREAM_REGISTRY_ENDPOINT: 'https://other.example',
      UPSTREAM_REGISTRY_PATH: 'mirror/images',
      SIGNATURE_UPSTREAM_ENDPOINT: 'https://sigs.example',
      DEFAULT_AWS_BASE_URL: 'https://cdn.example',
      TRUSTED_PROXY_HOPS: '2',
    });
    const config = validateConfig(doc, 'test');
    expect(config.listen.port).toBe(9999);
    expect(config.origin).toMatchObject({ url: 'https://other.example', path: 'mirror/images' });
    expect(config.signatures.url).toBe('https://sigs.example');
    expect(config.default_bucket).toBe('https://cdn.example');
    expect(config.client_ip.trusted_hops).toBe(2);
    expect(minimal).toEqual({ origin: { url: 'https://registry.example' } });
  });
  it('a bad value names the field', () => {
    expect(problems(applyEnv(minimal, { TRUSTED_PROXY_HOPS: 'two' }))).toEqual(['client_ip.trusted_hops: expected an integer from 0 to 16, got "two"']);
  });
  it('do not hide a section of the file that is not a mapping', () => {
    expect(problems(applyEnv({ ...minimal, listen: 8080 }, { PORT: '9999' }))).toEqual(['listen: expected a mapping, got 8080']);
    expect(problems(applyEnv(['origin'], { PORT: '9999' }))).toEqual(['(top level): expected a mapping, got ["origin"]']);
  });
});

describe('loadConfig', () => {
  const dir = scratch('edge-config-');
  afterAll(() => dir.cleanup());

  it('without a file runs the embedded registry.k8s.io default', async () => {
    const { config, source } = await loadConfig(undefined, {});
    expect(source).toMatch(/embedded default/);
    expect(config.origin).toMatchObject({ url: 'https://us-central1-docker.pkg.dev', path: 'k8s-artifacts-prod/images' });
    expect(config.info_url).toBe('https://github.com/kubernetes/registry.k8s.io');
    expect(config.privacy_url).toBe('https://www.linuxfoundation.org/privacy-policy/');
    expect(config.providers).toEqual({ gcp: 'origin' });
    expect(config.default_bucket).toBe('cloudfront');
    expect(config.buckets.find((b) => b.name === 'cloudfront')?.url).toBe('https://d1be1w964nk82h.cloudfront.net');
    expect(config.buckets.find((b) => b.regions.includes('eu-west-2'))?.url).toBe(
      'https://767373bbdcb8270361b96548387bf2a9ad0d48758c35-eu-west-2.s3.dualstack.eu-west-2.amazonaws.com',
    );
    expect(config.buckets.find((b) => b.regions.includes('me-south-1'))?.name).toBe('aws-me-central-1');
    expect(config.buckets.filter((b) => b.provider === 'aws')).toHaveLength(32);
  });

  it('reads REGISTRY_EDGE_CONFIG', async () => {
    const file = dir.file('env.yaml', 'origin: { url: "http://127.0.0.1:5000" }\n');
    expect((await loadConfig(undefined, { REGISTRY_EDGE_CONFIG: file })).config.origin.url).toBe('http://127.0.0.1:5000');
  });

  it('refuses a missing file, invalid YAML and invalid content with the file named', async () => {
    await expect(loadConfig(join(dir.path, 'missing.yaml'), {})).rejects.toThrow(/cannot read/);
    const bad = dir.file('bad.yaml', 'origin: [unclosed\n');
    await expect(loadConfig(bad, {})).rejects.toThrow(/bad\.yaml.*not valid YAML/s);
    const wrong = dir.file('wrong.yaml', 'origin: { url: nope }\n');
    await expect(loadConfig(wrong, {})).rejects.toThrow(/origin\.url/);
  });
});
