import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { STATUS_PAGE_HEADERS, statusPageHtml } from '../../src/ops/status-page/page.js';
import { CLI, spawnServe, type Spawned } from '../support/cli.js';
import { get } from '../support/harness.js';
import { scratch, writeConfig } from '../support/serve.js';

/** `./x.js` specifiers of one chunk: static imports and re-exports, or dynamic imports. */
function specifiers(text: string, kind: 'static' | 'dynamic'): string[] {
  const pattern = kind === 'static' ? /^(?:import|export)\b[^;]*?from\s*"(\.\/[^"]+)"|^import\s*"(\.\/[^"]+)"/gm : /\bimport\("(\.\/[^"]+)"\)/g;
  return [...text.matchAll(pattern)].map((match) => (match[1] ?? match[2]) as string);
}

/**
 * The bundle chunks `serve` has loaded by its first answer: what cli.js imports, the dispatch to
 * serve, and everything those import statically. A dynamic import loads only when it runs.
 */
function serveChunks(): Map<string, string> {
  const folder = dirname(CLI);
  const read = (file: string): string => readFileSync(join(folder, file), 'utf8');
  const cli = readFileSync(CLI, 'utf8');
  const main = specifiers(cli, 'dynamic').find((file) => file.startsWith('./main-'));
  if (main === undefined) throw new Error(`${CLI}: no dynamic import of the main chunk`);
  const serve = /\bserve:\s*async[^\n]*?import\("(\.\/[^"]+)"\)/.exec(read(main))?.[1];
  if (serve === undefined) throw new Error(`${main}: no dynamic import for the serve command`);
  const loaded = new Map<string, string>();
  const queue = [...specifiers(cli, 'dynamic'), serve];
  for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
    if (loaded.has(file)) continue;
    const text = read(file);
    loaded.set(file, text);
    queue.push(...specifiers(text, 'static'));
  }
  return loaded;
}

/** The chunks of CHUNKS that hold code from node_modules/PATH. */
function holdingFile(chunks: Map<string, string>, path: string): string[] {
  return [...chunks].filter(([, text]) => text.includes(`node_modules/${path}`)).map(([file]) => file);
}

describe('what serve loads before its first answer (the bundle)', () => {
  it('leaves out the yaml package: the embedded default is parsed at build time, and plain files need no package', () => {
    const chunks = serveChunks();
    const holding = (pkg: string) => [...chunks].filter(([, text]) => text.includes(`node_modules/${pkg}/`)).map(([file]) => file);
    // The walk reaches the code that answers: a walk that stopped early would prove nothing.
    expect(holding('hono')).not.toEqual([]);
    expect(holding('yaml')).toEqual([]);
  });

  it("takes prom-client's metric classes without the parts of its index registry-edge never uses", () => {
    const chunks = serveChunks();
    expect(holdingFile(chunks, 'prom-client/lib/counter.js')).not.toEqual([]);
    expect(holdingFile(chunks, 'prom-client/lib/summary.js')).toEqual([]);
    expect(holdingFile(chunks, 'prom-client/lib/pushgateway.js')).toEqual([]);
    expect(holdingFile(chunks, 'tdigest/')).toEqual([]);
    // Its default CPU metric would bring OpenTelemetry's API for exemplars registry-edge never uses.
    expect(holdingFile(chunks, '@opentelemetry/')).toEqual([]);
  });

  it('leaves out pino and its streams: registry-edge writes the same lines with its own logger', () => {
    const chunks = serveChunks();
    expect(holdingFile(chunks, 'hono/')).not.toEqual([]);
    for (const pkg of ['pino/', 'sonic-boom/', 'thread-stream/', 'pino-std-serializers/']) expect(holdingFile(chunks, pkg)).toEqual([]);
  });

  it('leaves node:cluster (with child_process and dgram) to --workers: the primary and the worker channel load when asked for', () => {
    const chunks = serveChunks();
    const importing = [...chunks].filter(([, text]) => /from "node:cluster"|import "node:cluster"|__require\("(?:node:)?cluster"\)/.test(text)).map(([file]) => file);
    expect(importing).toEqual([]);
    expect(holdingFile(chunks, 'prom-client/lib/cluster.js')).toEqual([]);
  });
});

describe('what serve keeps off its start path still loads when asked for (the built binary)', () => {
  const dir = scratch();
  let edge: Spawned | undefined;
  afterAll(async () => {
    await edge?.stop('SIGKILL');
    dir.cleanup();
  });

  it('leaves out the status page and the TLS listener, and serves the page on the first visit', async () => {
    const chunks = serveChunks();
    const holdingSource = (module: string) => [...chunks].filter(([, text]) => text.includes(`// dist/src/${module}`)).map(([file]) => file);
    expect(holdingSource('server/app.js')).not.toEqual([]);
    for (const module of ['ops/status-page/page.js', 'server/tls-door.js', 'server/tls-server.js', 'lifecycle/primary.js']) expect(holdingSource(module)).toEqual([]);

    edge = await spawnServe(['--config', writeConfig(`${dir.path}/edge.yaml`, { origin: { url: 'https://o.example' } })]);
    const admin = edge.lines.find((line) => line.msg === 'listening')?.admin_port as number;
    for (let visit = 0; visit < 2; visit++) {
      const page = await get(`http://127.0.0.1:${admin}`, '/');
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toBe(STATUS_PAGE_HEADERS['Content-Type']);
      expect(page.body).toBe(statusPageHtml());
    }
  });
});
