import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DOCS, snippets, type Snippet } from '../support/doc-snippets.js';

// Every configuration snippet in docs/clients.md is parsed with a real parser for its format,
// then checked for the fields the tool's documented format requires, so a snippet a reader
// copies cannot carry a syntax error or a misplaced key.

const GUIDE = join(DOCS, 'clients.md');

type Doc = Record<string, unknown>;

function isDoc(value: unknown): value is Doc {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function at(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) current = isDoc(current) ? current[key] : undefined;
  return current;
}

function expectHttpsUrl(value: unknown): void {
  expect(typeof value).toBe('string');
  expect(new URL(value as string).protocol).toBe('https:');
}

/** https, or http with an explicit port: the plain form must say which port it means. */
function expectMirrorUrl(value: string): void {
  const url = new URL(value);
  if (url.protocol === 'http:') expect(url.port).not.toBe('');
  else expect(url.protocol).toBe('https:');
}

/** An image reference without scheme: host[:port]/path[:tag]. */
function expectImageReference(value: unknown): void {
  expect(typeof value).toBe('string');
  expect(value).toMatch(/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)+(:[A-Za-z0-9._-]+)?$/);
}

/** What kind of TOML file a parsed snippet is, judged by its top-level keys; undefined if unknown. */
function checkToml(doc: Doc): string | undefined {
  // containerd hosts.toml (containerd docs/hosts.md): `server` plus `[host."URL"]` tables.
  if ('server' in doc || 'host' in doc) {
    expectHttpsUrl(doc.server);
    const hosts = doc.host;
    // The one server-only example is there to show what containerd 1.6 refuses.
    if (hosts === undefined) return 'containerd hosts.toml without hosts';
    expect(isDoc(hosts)).toBe(true);
    expect(Object.keys(hosts as Doc).length).toBeGreaterThan(0);
    for (const [url, settings] of Object.entries(hosts as Doc)) {
      expectMirrorUrl(url);
      expect(isDoc(settings)).toBe(true);
      const known = ['capabilities', 'ca', 'client', 'skip_verify', 'header', 'override_path'];
      for (const key of Object.keys(settings as Doc)) expect(known).toContain(key);
      expect(at(settings, 'capabilities')).toEqual(['pull', 'resolve']);
      const ca = at(settings, 'ca');
      if (ca !== undefined) {
        expect(ca).toMatch(/^\/etc\/containerd\/certs\.d\/.+\.crt$/);
        // A CA only means something for a TLS host.
        expect(new URL(url).protocol).toBe('https:');
      }
    }
    return 'containerd hosts.toml';
  }
  // containers-registries.conf(5), version 2 format.
  if ('registry' in doc) {
    const registries = doc.registry;
    expect(Array.isArray(registries)).toBe(true);
    for (const registry of registries as unknown[]) {
      expect(typeof at(registry, 'prefix')).toBe('string');
      expect(typeof at(registry, 'location')).toBe('string');
      const mirrors = at(registry, 'mirror');
      expect(Array.isArray(mirrors)).toBe(true);
      for (const mirror of mirrors as unknown[]) {
        // host[:port][/namespace]: a scheme here is a common mistake the tools reject.
        expect(at(mirror, 'location')).toMatch(/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._/-]+)?$/);
        const insecure = at(mirror, 'insecure');
        // Plain HTTP is for a port of its own; a TLS door on 443 needs no exception.
        if (insecure !== undefined) {
          expect(insecure).toBe(true);
          expect(at(mirror, 'location')).toMatch(/:\d+$/);
        }
      }
    }
    return 'registries.conf';
  }
  // CRI-O drop-in: [crio.image] pause_image.
  if ('crio' in doc) {
    expectImageReference(at(doc, 'crio', 'image', 'pause_image'));
    return 'crio.conf';
  }
  // containerd config.toml: the plugin section names differ between config versions 2 and 3,
  // and a lost pair of quotes would silently split the dotted plugin name into nested tables.
  if (doc.version === 3) {
    const images = at(doc, 'plugins', 'io.containerd.cri.v1.images');
    expect(isDoc(images)).toBe(true);
    const configPath = at(images, 'registry', 'config_path');
    const sandbox = at(images, 'pinned_images', 'sandbox');
    expect(configPath !== undefined || sandbox !== undefined).toBe(true);
    if (configPath !== undefined) expect(configPath).toBe('/etc/containerd/certs.d');
    if (sandbox !== undefined) expectImageReference(sandbox);
    return 'containerd config.toml v3';
  }
  if (doc.version === 2) {
    const cri = at(doc, 'plugins', 'io.containerd.grpc.v1.cri');
    expect(isDoc(cri)).toBe(true);
    const configPath = at(cri, 'registry', 'config_path');
    const sandbox = at(cri, 'sandbox_image');
    expect(configPath !== undefined || sandbox !== undefined).toBe(true);
    if (configPath !== undefined) expect(configPath).toBe('/etc/containerd/certs.d');
    if (sandbox !== undefined) expectImageReference(sandbox);
    return 'containerd config.toml v2';
  }
  return undefined;
}

describe('docs/clients.md configuration snippets', () => {
  const all = snippets(readFileSync(GUIDE, 'utf8'));
  const byLanguage = (language: string): Snippet[] => all.filter((snippet) => snippet.language === language);

  it('has the snippets this test knows how to check', () => {
    // Guards against a rename of the fence language silently skipping the checks below.
    expect(byLanguage('toml').length).toBe(11);
    expect(byLanguage('json').length).toBe(2);
    expect(byLanguage('yaml').length).toBe(1);
    const checkedLanguages = ['toml', 'json', 'yaml', 'sh'];
    for (const snippet of all) expect(checkedLanguages, `fence at line ${snippet.line}`).toContain(snippet.language);
  });

  it('names the blocks the e2e suite runs, once each', () => {
    const ids = all.map((snippet) => snippet.id).filter((id) => id !== undefined);
    expect(ids.sort()).toEqual([
      'containerd-mirror-plain', 'containerd-mirror-tls', 'containerd-no-fallback', 'containerd-server-only-broken',
      'registries-mirror-plain', 'registries-mirror-tls',
    ]);
  });

  it('parses every TOML snippet and recognises it as a documented file format', () => {
    const kinds = byLanguage('toml').map((snippet) => {
      let doc: Doc;
      try {
        doc = parseToml(snippet.text) as Doc;
      } catch (error) {
        throw new Error(`docs/clients.md line ${snippet.line}: ${(error as Error).message}`);
      }
      const kind = checkToml(doc);
      expect(kind, `docs/clients.md line ${snippet.line} is no known TOML format`).toBeDefined();
      if (kind === 'containerd hosts.toml without hosts') expect(snippet.id).toBe('containerd-server-only-broken');
      return kind;
    });
    expect(new Set(kinds)).toEqual(
      new Set(['containerd hosts.toml', 'containerd hosts.toml without hosts', 'registries.conf', 'crio.conf', 'containerd config.toml v3', 'containerd config.toml v2']),
    );
  });

  it('gives containerd a TLS and a plain mirror form, both falling back to the upstream registry', () => {
    const byId = (id: string): Doc => parseToml(all.find((snippet) => snippet.id === id)?.text ?? '') as Doc;
    expect(byId('containerd-mirror-tls')).toEqual({
      server: 'https://registry.k8s.io',
      host: { 'https://edge.example': { capabilities: ['pull', 'resolve'], ca: '/etc/containerd/certs.d/registry.k8s.io/edge-ca.crt' } },
    });
    expect(byId('containerd-mirror-plain')).toEqual({ server: 'https://registry.k8s.io', host: { 'http://edge.example:8080': { capabilities: ['pull', 'resolve'] } } });
    expect(byId('containerd-no-fallback').server).toBe('https://edge.example');
    expect(Object.keys(byId('containerd-no-fallback').host as Doc)).toEqual(['https://edge.example']);
  });

  it('gives registries.conf a TLS and a plain mirror form of registry.k8s.io', () => {
    for (const id of ['registries-mirror-tls', 'registries-mirror-plain']) {
      const doc = parseToml(all.find((snippet) => snippet.id === id)?.text ?? '') as Doc;
      expect(at(doc, 'registry')).toMatchObject([{ prefix: 'registry.k8s.io', location: 'registry.k8s.io' }]);
    }
  });

  it('gives Docker a daemon.json with https registry-mirrors, and one with a plain insecure-registries entry', () => {
    const [mirrors, insecure] = byLanguage('json').map((snippet) => JSON.parse(snippet.text) as Doc);
    expect(Object.keys(mirrors ?? {})).toEqual(['registry-mirrors']);
    const urls = mirrors?.['registry-mirrors'];
    expect(Array.isArray(urls)).toBe(true);
    for (const url of urls as unknown[]) expectHttpsUrl(url);
    expect(insecure).toEqual({ 'insecure-registries': ['edge.example:8080'] });
  });

  it('gives kubeadm a v1beta4 ClusterConfiguration with plain repository names', () => {
    const [snippet] = byLanguage('yaml');
    const doc = parseYaml(snippet!.text) as Doc;
    expect(doc.apiVersion).toBe('kubeadm.k8s.io/v1beta4');
    expect(doc.kind).toBe('ClusterConfiguration');
    expect(doc.kubernetesVersion).toMatch(/^v1\.\d+\.\d+$/);
    // kubeadm takes a repository, not a URL: no scheme, no trailing slash.
    expect(doc.imageRepository).toMatch(/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9._-]+)*$/);
    expect(at(doc, 'dns', 'imageRepository')).toBe(`${String(doc.imageRepository)}/coredns`);
  });
});
