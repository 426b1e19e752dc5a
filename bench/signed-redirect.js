#!/usr/bin/env node
/**
 * Warm blob redirect to a private (S3-signed) bucket vs a public one, in-process through the
 * real hono app, as bench/decision.js measures S3: the existence answer comes from an
 * inventory file, so neither side sends a HEAD, and the signed side reuses its window's URL.
 * Trials alternate; the median ns per request and the ratio are printed.
 *
 *   npm run build && node bench/signed-redirect.js [--trials 15] [--iterations 200000]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const option = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : fallback;
};
const trials = Number(option('--trials', 15));
const iterations = Number(option('--iterations', 200_000));
const load = (path) => import(pathToFileURL(join(here, 'dist', path)).href);
const { validateConfig, loadSigners } = await load('src/config/load.js');
const { buildRuntime } = await load('src/server/build.js');
const { RuntimeHolder } = await load('src/server/runtime.js');
const { createApp } = await load('src/server/app.js');
const { createLogger } = await load('src/log.js');

const work = mkdtempSync(join(tmpdir(), 'bench-signed-'));
const digest = `sha256:${'5'.repeat(64)}`;
try {
  const inventory = join(work, 'inventory.txt');
  writeFileSync(inventory, `${digest}\n`);
  const config = validateConfig(
    {
      listen: { host: '127.0.0.1', port: 0 },
      admin: { port: 0 },
      origin: { url: 'https://origin.example' },
      client_ip: { trusted_hops: 1 },
      geo: { ranges: join(work, 'none.mmdb') },
      blobs: { inventory },
      buckets: [
        { name: 'public', url: 'https://public.example/blobs', networks: ['10.1.0.0/16'] },
        { name: 'private', url: 'https://private-blobs.s3.eu-west-1.amazonaws.com', networks: ['10.2.0.0/16'], signing: { type: 's3', region: 'eu-west-1' } },
      ],
      log: { level: 'warn' },
    },
    'bench',
  );
  const env = { AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE', AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
  const signers = loadSigners(config, 'bench', env);
  const logger = createLogger('warn', new Writable({ write: (_chunk, _enc, done) => done() }));
  const holder = new RuntimeHolder(await buildRuntime({ config, source: 'bench', signers }, logger));
  const app = createApp(holder, logger);
  const socket = { remoteAddress: '127.0.0.1' };
  const request = { method: 'GET', url: 'http://registry.example/', headers: new globalThis.Headers() };
  const envFor = (ip) => ({
    incoming: { method: 'GET', url: `/v2/pause/blobs/${digest}`, rawHeaders: ['Host', 'registry.example', 'X-Forwarded-For', ip], socket, headers: {} },
    outgoing: {},
  });
  const kinds = { unsigned: envFor('10.1.0.7'), signed: envFor('10.2.0.7') };
  for (const [kind, e] of Object.entries(kinds)) {
    const res = app.fetch(request, e);
    if (res instanceof Promise) throw new Error(`${kind}: not answered synchronously`);
    const location = res.headers.get('location') ?? '';
    if (res.status !== 307 || (kind === 'signed') !== location.includes('X-Amz-Signature=')) throw new Error(`${kind}: got ${res.status} ${location}`);
  }
  const run = (e, n) => {
    let sink = 0;
    for (let i = 0; i < n; i++) sink += app.fetch(request, e).status;
    return sink;
  };
  const samples = { unsigned: [], signed: [] };
  for (let trial = 0; trial < trials; trial++) {
    for (const kind of trial % 2 === 0 ? ['unsigned', 'signed'] : ['signed', 'unsigned']) {
      const started = process.hrtime.bigint();
      run(kinds[kind], iterations);
      samples[kind].push(Number(process.hrtime.bigint() - started) / iterations);
    }
  }
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  for (const kind of ['unsigned', 'signed']) console.log(`${kind}: median ${median(samples[kind]).toFixed(0)} ns/request (${trials} trials x ${iterations})`);
  console.log(`signed/unsigned: ${(median(samples.signed) / median(samples.unsigned)).toFixed(3)}x`);
  await holder.current.close();
} finally {
  rmSync(work, { recursive: true, force: true });
}
