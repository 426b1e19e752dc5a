// The pieces of bench/tls.js that set a round up: certificates, registry-edge's bench config,
// readiness, server CPU around an action, and pinned child processes.
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { connect as connectTls } from 'node:tls';
import { join } from 'node:path';
import { clockTicksPerSecond, cpuTicks } from './servers.js';

export const BLOB_DIGEST = `sha256:${'ab'.repeat(32)}`;
export const BLOB_PATH = `/v2/library/app/blobs/${BLOB_DIGEST}`;

/**
 * registry-edge's config for the TLS bench: loopback clients go to one bucket by a networks
 * rule, the blob is in the inventory (no HEAD), log level warn so no per-request line is
 * written either way. With PAIR, `listen.tls`.
 * @param {string} dir @param {string} name @param {{ cert: string, key: string } | undefined} pair
 */
export function edgeBenchConfig(dir, name, pair) {
  const inventory = join(dir, 'inventory.txt');
  writeFileSync(inventory, `${BLOB_DIGEST}\n`);
  const config = {
    listen: { host: '127.0.0.1', port: 0, keep_alive_timeout_ms: 60_000, ...(pair ? { tls: { cert: pair.cert, key: pair.key } } : {}) },
    admin: { host: '127.0.0.1', port: 0 },
    origin: { url: 'https://origin.example' },
    geo: { ranges: join(dir, 'no-ranges.mmdb') },
    client_ip: { trusted_hops: 0 },
    blobs: { key: '/containers/images/{digest}', inventory },
    buckets: [{ name: 'loopback', url: 'https://bucket.example/blobs', networks: ['127.0.0.0/8'] }],
    log: { level: 'warn' },
  };
  const file = join(dir, `edge-${name}.yaml`);
  // YAML is a superset of JSON.
  writeFileSync(file, JSON.stringify(config));
  return file;
}

/** Resolves once PORT accepts a connection (a TLS handshake when TLS is true). @param {number} port @param {boolean} tls */
export async function acceptsConnections(port, tls) {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const done = (/** @type {boolean} */ result) => {
        clearTimeout(timer);
        socket.destroy();
        resolve(result);
      };
      const socket = tls
        ? connectTls({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => done(true))
        : connectTcp({ host: '127.0.0.1', port }, () => done(true));
      const timer = setTimeout(() => done(false), 1000);
      socket.once('error', () => done(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing answers on port ${port}`);
}

/** A CA and ECDSA P-256 and RSA 2048 server certificates for 127.0.0.1. @param {string} dir */
export function makeCertificates(dir) {
  const openssl = (/** @type {string[]} */ args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=bench CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  writeFileSync(join(dir, 'leaf.ext'), 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n');
  /** @type {Record<string, { cert: string, key: string }>} */
  const pairs = {};
  for (const [name, keyArgs] of [['ecdsa-p256', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']], ['rsa-2048', ['-newkey', 'rsa:2048']]]) {
    openssl(['req', '-new', ...keyArgs, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', '/CN=127.0.0.1']);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', String(Object.keys(pairs).length + 2), '-days', '1', '-extfile', 'leaf.ext', '-out', `${name}.crt`]);
    pairs[name] = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  }
  return { ca: join(dir, 'ca.crt'), pairs };
}

/** Server CPU microseconds spent while `action` ran. @template T @param {number} pid @param {() => Promise<T>} action */
export async function withServerCpu(pid, action) {
  const before = cpuTicks(pid);
  const result = await action();
  const after = cpuTicks(pid);
  const cpuUs = before === undefined || after === undefined ? null : ((after - before) * 1e6) / clockTicksPerSecond();
  return { result, cpuUs };
}

/** @param {string} command @param {string[]} args @param {number | undefined} core */
export function runPinned(command, args, core) {
  return new Promise((resolve) => {
    const child = spawn(core === undefined ? command : 'taskset', core === undefined ? args : ['-c', String(core), command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}
