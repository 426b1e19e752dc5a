import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV_OVERRIDES } from '../../src/config/load.js';
import { updateGeo } from '../../geo/update.js';
import { startHttpBucket, type HttpBucket } from '../support/buckets.js';
import { startLocalOrigin, type LocalOrigin } from '../support/origins.js';

// docs/request-flow.md promises exact answers; this test holds the real server to them. It reads
// the example configuration, the blob placement table and the examples table from the Markdown,
// starts `registry-edge serve` (the built CLI) with that configuration and a local bucket server,
// sends every example request and compares status and Location / OCI error code.

const ROOT = join(import.meta.dirname, '..', '..');
const DOC = join(ROOT, 'docs', 'request-flow.md');
const CLI = join(ROOT, 'dist', 'bundle', 'cli.js');

interface Example {
  method: string;
  path: string;
  forwardedFor: string | undefined;
  status: number;
  answer: string | undefined;
  line: number;
}

interface Blob {
  placeholder: string;
  digest: string;
  heldBy: Set<string>;
}

/** The text from the line `heading` up to the next `## ` heading. */
function section(markdown: string, heading: string): string {
  const lines = markdown.split('\n');
  const start = lines.indexOf(heading);
  if (start === -1) throw new Error(`docs/request-flow.md: no "${heading}" section`);
  const end = lines.findIndex((line, i) => i > start && line.startsWith('## '));
  return lines.slice(0, end === -1 ? lines.length : end).map((line, i) => (i < start ? '' : line)).join('\n');
}

/** Rows of the first table in `text` whose header row starts with `| <firstHeader> |`. */
function table(text: string, firstHeader: string): { cells: string[]; line: number }[] {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.startsWith(`| ${firstHeader} |`));
  if (start === -1) throw new Error(`docs/request-flow.md: no table starting with "| ${firstHeader} |"`);
  const rows: { cells: string[]; line: number }[] = [];
  for (let i = start + 2; i < lines.length && lines[i]!.startsWith('|'); i++) {
    const cells = lines[i]!.slice(1, -1).split('|').map((cell) => cell.trim().replace(/^`(.*)`$/, '$1'));
    rows.push({ cells, line: i + 1 });
  }
  return rows;
}

function exampleConfig(markdown: string): Record<string, any> {
  const block = /```yaml\n([\s\S]*?)```/.exec(section(markdown, '## Example configuration'));
  if (block === null) throw new Error('docs/request-flow.md: no yaml block under "## Example configuration"');
  return parseYaml(block[1]!) as Record<string, any>;
}

function blobs(markdown: string, bucketNames: string[]): Blob[] {
  const rows = table(section(markdown, '## Example configuration'), 'Blob');
  return rows.map(({ cells, line }) => {
    const [placeholder, description, ...held] = cells;
    const filler = /^sha256:` and 64 × `([0-9a-f])$/.exec(description ?? '');
    if (placeholder === undefined || filler === null) throw new Error(`docs/request-flow.md:${line}: cannot read the digest`);
    expect(held.length, `docs/request-flow.md:${line}: one column per bucket`).toBe(bucketNames.length);
    const heldBy = new Set(bucketNames.filter((_, i) => held[i] === 'yes'));
    return { placeholder, digest: `sha256:${filler[1]!.repeat(64)}`, heldBy };
  });
}

function examples(text: string, expand: (text: string) => string): Example[] {
  return table(text, 'Method').map(({ cells, line }) => {
    const [method, path, forwardedFor, status, answer] = cells;
    if (method === undefined || path === undefined || forwardedFor === undefined || status === undefined || answer === undefined) {
      throw new Error(`docs/request-flow.md:${line}: expected 5 columns`);
    }
    return {
      method,
      path: expand(path),
      forwardedFor: forwardedFor === '(none)' ? undefined : forwardedFor,
      status: Number(status),
      answer: answer === '-' ? undefined : expand(answer),
      line,
    };
  });
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Sends the request target byte for byte (fetch would normalise it). */
function send(port: number, method: string, path: string, forwardedFor: string | undefined): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = forwardedFor === undefined ? {} : { 'X-Forwarded-For': forwardedFor };
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Starts the built CLI and resolves with the port from its `"msg":"listening"` line. */
function startServer(configFile: string, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; port: number; output: string[] }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'serve', '--config', configFile, '--port', '0'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const output: string[] = [];
    const timer = setTimeout(() => reject(new Error(`no "listening" line within 15 s:\n${output.join('\n')}`)), 15_000);
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`registry-edge serve exited with ${code}:\n${output.join('\n')}`));
    });
    createInterface({ input: child.stdout! }).on('line', (line) => {
      output.push(line);
      if (!line.includes('"msg":"listening"')) return;
      clearTimeout(timer);
      resolve({ child, port: (JSON.parse(line) as { port: number }).port, output });
    });
  });
}

const markdown = readFileSync(DOC, 'utf8');
const config = exampleConfig(markdown);
const bucketNames = (config.buckets as { name: string }[]).map((bucket) => bucket.name);
const blobTable = blobs(markdown, bucketNames);
const placeholders = new Map<string, string>();
for (const blob of blobTable) {
  placeholders.set(blob.placeholder, blob.digest);
  placeholders.set(blob.placeholder.replace('>', '.sig>'), `${blob.digest.replace(':', '-')}.sig`);
}
const expand = (text: string): string => text.replace(/<[A-Z](\.sig)?>/g, (token) => placeholders.get(token) ?? token);
const rows = examples(section(markdown, '## Examples'), expand);
const cloudSection = section(markdown, '## Examples: clients in a cloud');
const cloudRows = examples(cloudSection, expand);
/** The feed files shown in the cloud section, by the file name written just before each. */
const feeds = [...cloudSection.matchAll(/`([a-z0-9-]+\.json)`:\n\n```json\n([\s\S]*?)```/g)].map((match) => ({ file: match[1]!, text: match[2]! }));

describe('docs/request-flow.md examples against the real server', () => {
  let scratch: string;
  let buckets: HttpBucket | undefined;
  const origins: LocalOrigin[] = [];
  let server: { child: ChildProcess; port: number; output: string[] } | undefined;
  /** Local bucket URL prefix -> the URL written in the document. */
  const documented = new Map<string, string>();

  beforeAll(async () => {
    if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` before this test`);
    scratch = await mkdtemp(join(tmpdir(), 'registry-edge-flow-'));

    // HEAD /<bucket>/containers/images/<digest>: 200 when the document's table says the bucket
    // holds that blob, 404 otherwise.
    const key = String(config.blobs.key);
    buckets = await startHttpBucket('flow', {
      status: (path) => {
        const [, bucket, ...rest] = path.split('/');
        const digest = `/${rest.join('/')}`;
        const blob = blobTable.find((entry) => key.replace('{digest}', entry.digest) === digest);
        return blob !== undefined && bucket !== undefined && blob.heldBy.has(bucket) ? 200 : 404;
      },
    });
    const bucketPort = new URL(buckets.url).port;

    const local = structuredClone(config);
    for (const bucket of local.buckets as { name: string; url: string }[]) {
      const url = `http://127.0.0.1:${bucketPort}/${bucket.name}`;
      documented.set(url, bucket.url);
      bucket.url = url;
    }
    // Replicas must pass their health probes, or the answers would change while the test runs.
    for (const mirror of (local.origin.mirrors ?? []) as { url: string }[]) {
      const origin = await startLocalOrigin(mirror.url);
      origins.push(origin);
      documented.set(origin.url, mirror.url);
      mirror.url = origin.url;
    }
    // The admin listener must not collide with anything else on this machine, and a cloud
    // ranges file left in the working tree must not change the answers.
    local.admin = { host: '127.0.0.1', port: 0 };
    local.geo = { ...(local.geo ?? {}), ranges: join(scratch, 'cloud-ranges.mmdb') };
    // What `registry-edge geo update --from DIR` does, from the feeds shown in the document.
    const feedDir = join(scratch, 'feeds');
    await mkdir(feedDir);
    for (const feed of feeds) await writeFile(join(feedDir, feed.file), feed.text);
    const compiled = await updateGeo({ from: feedDir, out: local.geo.ranges, locations: false });
    expect(compiled.failed).toEqual([]);
    expect(compiled.written).toBe(true);
    const configFile = join(scratch, 'config.yaml');
    await writeFile(configFile, stringifyYaml(local));

    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const { env: name } of ENV_OVERRIDES) delete env[name];
    delete env.REGISTRY_EDGE_CONFIG;
    server = await startServer(configFile, env);
  });

  afterAll(async () => {
    if (server !== undefined) {
      const { child } = server;
      // Drop the start-up listener that turns an exit into a failure.
      child.removeAllListeners('exit');
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
    }
    await buckets?.close();
    for (const origin of origins) await origin.stop();
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  });

  it('documents enough examples to cover every kind of answer', () => {
    expect(rows.length).toBeGreaterThanOrEqual(30);
    expect(new Set(rows.map((row) => row.status))).toEqual(new Set([200, 307, 400, 404, 405]));
    expect(blobTable.map((blob) => blob.placeholder)).toEqual(['<A>', '<B>', '<C>']);
    for (const row of rows) expect(`${row.path} ${row.answer ?? ''}`, `docs/request-flow.md:${row.line}`).not.toMatch(/<[^>]*>/);
  });

  const check = async (row: Example): Promise<void> => {
    const reply = await send(server!.port, row.method, row.path, row.forwardedFor);
    expect(reply.status).toBe(row.status);
    if (row.status === 307) {
      let location = String(reply.headers.location);
      for (const [local, url] of documented) if (location.startsWith(`${local}/`)) location = url + location.slice(local.length);
      expect(location).toBe(row.answer);
      expect(reply.body).toBe('');
    } else if (row.answer !== undefined) {
      expect(reply.headers['content-type']).toMatch(/^application\/json/);
      const document = JSON.parse(reply.body) as { errors: { code: string }[] };
      expect(document.errors.map((error) => error.code)).toEqual([row.answer]);
      if (row.status === 405) expect(reply.headers.allow).toBe('GET, HEAD');
    } else if (row.status === 200) {
      expect(reply.headers['docker-distribution-api-version']).toBe('registry/2.0');
      expect(reply.body).toBe('');
    } else {
      // Outside /v2/ there is no OCI error document.
      expect(reply.headers['content-type']).toMatch(/^text\/plain/);
    }
  };
  const title = (row: Example): string => {
    const from = row.forwardedFor === undefined ? 'no X-Forwarded-For' : `X-Forwarded-For ${row.forwardedFor}`;
    const path = row.path.replace(/[a-f0-9]{64}/g, (hex) => `${hex.slice(0, 4)}…`);
    return `line ${row.line}: ${row.method} ${path} (${from}) -> ${row.status}`;
  };

  for (const row of rows) it(title(row), () => check(row));

  describe('clients in a cloud', () => {
    it('documents both feeds and the cloud examples', () => {
      expect(feeds.map((feed) => feed.file)).toEqual(['aws-ip-ranges.json', 'gcp-cloud.json']);
      expect(cloudRows.length).toBeGreaterThanOrEqual(6);
    });
    for (const row of cloudRows) it(title(row), () => check(row));
  });
});
