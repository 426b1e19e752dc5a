#!/usr/bin/env node
// Where the CPU of TLS goes, request by request: instructions per warm blob redirect over
// keep-alive HTTP/1.1, counted by valgrind's callgrind, plain against TLS (ECDSA P-256, the
// cipher the client picks: node's client picks TLS_AES_256_GCM_SHA384), split by where they
// run: OpenSSL, libc (malloc, memcpy), node's C++ TLS and stream code, other node C++, V8's C++
// runtime and API, V8 builtins, JIT-compiled JavaScript, GC. Counts barely move on a busy
// machine, unlike CPU time; instructions are not time, so confirm a ratio with bench/tls.js.
// The server runs under callgrind with instrumentation off; after --warmup requests (V8 has
// optimised the handler) it is switched on for --requests requests, then off again.
// Usage: node bench/tls-callgrind.js [--stacks node,node-h2,edge] [--requests 8000] [--warmup 16000]
//        [--connections 4] [--client-ciphers LIST] [--client-max-version TLSv1.2] [--node BIN] [--keep DIR]
//   stacks: bench/tls-server.js's (node, node-h2, hono, factory) and edge (dist/bundle/cli.js serve).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { BLOB_PATH, edgeBenchConfig, makeCertificates } from './lib/tls-setup.js';
import { freePort } from './lib/servers.js';
import { categoryOf, CATEGORIES, selfCosts } from './lib/callgrind-costs.js';

const ROOT = new URL('..', import.meta.url).pathname;
const SERVER = join(ROOT, 'bench/tls-server.js');
const EDGE_CLI = join(ROOT, 'dist/bundle/cli.js');

function options() {
  const argv = process.argv.slice(2);
  const value = (/** @type {string} */ name, /** @type {string} */ fallback) => {
    const at = argv.indexOf(name);
    return at >= 0 && argv[at + 1] !== undefined ? String(argv[at + 1]) : fallback;
  };
  return {
    stacks: value('--stacks', 'node,node-h2,edge').split(','),
    requests: Number(value('--requests', '8000')),
    warmup: Number(value('--warmup', '16000')),
    connections: Number(value('--connections', '4')),
    ciphers: value('--client-ciphers', ''),
    maxVersion: value('--client-max-version', ''),
    node: value('--node', process.execPath),
    keep: value('--keep', ''),
  };
}

/** Keep-alive connections that each send `count` requests one after the other. */
async function openClients(/** @type {number} */ port, /** @type {boolean} */ tls, /** @type {ReturnType<typeof options>} */ settings) {
  const request = Buffer.from(`GET ${BLOB_PATH} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: tls-callgrind\r\n\r\n`, 'latin1');
  const tlsOptions = { host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'],
    ...(settings.ciphers ? { ciphers: settings.ciphers } : {}), ...(settings.maxVersion ? { maxVersion: /** @type {import('node:tls').SecureVersion} */ (settings.maxVersion) } : {}) };
  const open = () => new Promise((resolve, reject) => {
    const socket = tls ? connectTls(tlsOptions) : connectTcp({ host: '127.0.0.1', port });
    socket.setNoDelay(true);
    socket.once(tls ? 'secureConnect' : 'connect', () => resolve(socket));
    socket.once('error', reject);
  });
  const sockets = /** @type {import('node:net').Socket[]} */ (await Promise.all(Array.from({ length: settings.connections }, open)));
  // Every answer is a 307 with Content-Length: 0, so one ends where its header block does.
  const drive = (/** @type {import('node:net').Socket} */ socket, /** @type {number} */ count) => new Promise((resolve) => {
    let answered = 0;
    const onData = (/** @type {Buffer} */ chunk) => {
      if (!chunk.includes('\r\n\r\n')) return;
      answered += 1;
      if (answered < count) socket.write(request);
      else {
        socket.off('data', onData);
        resolve(undefined);
      }
    };
    socket.on('data', onData);
    socket.write(request);
  });
  return {
    protocol: tls ? /** @type {import('node:tls').TLSSocket} */ (sockets[0])?.getCipher().standardName : 'plain',
    run: (/** @type {number} */ total) => Promise.all(sockets.map((socket) => drive(socket, Math.ceil(total / sockets.length)))),
    close: () => sockets.forEach((socket) => socket.destroy()),
  };
}

async function untilListening(/** @type {number} */ port) {
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline) {
    const up = await new Promise((resolve) => {
      const socket = connectTcp({ host: '127.0.0.1', port }, () => resolve(true));
      socket.once('error', () => resolve(false));
      socket.once('connect', () => socket.destroy());
    });
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`nothing listens on ${port} under valgrind after 300 s`);
}

/** Instructions per request of one server (stack, mode), self cost by function. */
async function countOne(/** @type {string} */ stack, /** @type {'plain' | 'tls'} */ mode, /** @type {{ dir: string, pair: { cert: string, key: string } }} */ setup, /** @type {ReturnType<typeof options>} */ settings) {
  const port = await freePort();
  const out = join(setup.dir, `callgrind.${stack}-${mode}.out`);
  const serverArgs = stack === 'edge'
    ? [EDGE_CLI, 'serve', '--config', edgeBenchConfig(setup.dir, mode, mode === 'tls' ? setup.pair : undefined), '--port', String(port)]
    : [SERVER, '--mode', mode, '--stack', stack, '--port', String(port), '--cert', setup.pair.cert, '--key', setup.pair.key];
  // --single-threaded: V8 compiles and collects on the main thread, where callgrind counts it.
  const server = spawn('valgrind', ['--tool=callgrind', '--dump-instr=no', '--instr-atstart=no', `--callgrind-out-file=${out}`, settings.node, '--single-threaded', ...serverArgs], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr.on('data', (chunk) => (log += chunk));
  const exited = new Promise((resolve) => server.once('exit', resolve));
  try {
    await Promise.race([untilListening(port), exited.then(() => { throw new Error(`${stack} ${mode} exited:\n${log}`); })]);
    const clients = await openClients(port, mode === 'tls', settings);
    await clients.run(settings.warmup);
    spawnSync('callgrind_control', ['-i', 'on', String(server.pid)], { stdio: 'ignore' });
    await clients.run(settings.requests);
    spawnSync('callgrind_control', ['-i', 'off', String(server.pid)], { stdio: 'ignore' });
    clients.close();
    server.kill('SIGTERM');
    await exited;
    return { protocol: clients.protocol, costs: selfCosts(out, settings.requests) };
  } finally {
    if (server.exitCode === null) server.kill('SIGKILL');
  }
}

const fmt = (/** @type {number} */ value) => (value / 1000).toFixed(1);

/** @param {Array<{ label: string, costs: Map<string, number> }>} runs */
function table(runs) {
  const byCategory = runs.map(({ costs }) => {
    const sums = new Map(CATEGORIES.map((category) => [category, 0]));
    for (const [name, cost] of costs) sums.set(categoryOf(name), (sums.get(categoryOf(name)) ?? 0) + cost);
    return sums;
  });
  const total = (/** @type {Map<string, number>} */ sums) => [...sums.values()].reduce((a, b) => a + b, 0);
  return [
    `| thousand instructions per request | ${runs.map((run) => run.label).join(' | ')} |`,
    `| --- |${runs.map(() => ' ---: |').join('')}`,
    ...CATEGORIES.map((category) => `| ${category} | ${byCategory.map((sums) => fmt(sums.get(category) ?? 0)).join(' | ')} |`),
    `| **total** | ${byCategory.map((sums) => `**${fmt(total(sums))}**`).join(' | ')} |`,
  ];
}

async function main() {
  const settings = options();
  if (settings.stacks.includes('edge') && !existsSync(EDGE_CLI)) throw new Error(`${EDGE_CLI} is missing: npm run build first`);
  const dir = settings.keep || mkdtempSync(join(tmpdir(), 'tls-callgrind-'));
  try {
    const { pairs } = makeCertificates(dir);
    const setup = { dir, pair: /** @type {{ cert: string, key: string }} */ (pairs['ecdsa-p256']) };
    /** @type {Array<{ label: string, costs: Map<string, number> }>} */
    const runs = [];
    for (const stack of settings.stacks) {
      const counted = {};
      for (const mode of /** @type {const} */ (['plain', 'tls'])) {
        process.stderr.write(`callgrind: ${stack} ${mode} (${settings.warmup} warm-up + ${settings.requests} counted requests)\n`);
        const { protocol, costs } = await countOne(stack, mode, setup, settings);
        counted[mode] = costs;
        runs.push({ label: `${stack} ${mode === 'tls' ? protocol : 'plain'}`, costs });
      }
      const difference = new Map();
      for (const [name, cost] of counted.tls) difference.set(name, cost - (counted.plain.get(name) ?? 0));
      for (const [name, cost] of counted.plain) if (!counted.tls.has(name)) difference.set(name, -cost);
      runs.push({ label: `${stack} TLS − plain`, costs: difference });
    }
    process.stdout.write(`${table(runs).join('\n')}\n`);
  } finally {
    if (!settings.keep) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
