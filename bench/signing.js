#!/usr/bin/env node
/**
 * Signing benchmark (runs against dist/: `npm run build` first).
 *
 *   node bench/signing.js [--rounds N] [--ops N] [--json]
 *
 * Reports the median over rounds of the time per operation for:
 * - a cold signature (a cache miss: a digest not signed before in this window) per type:
 *   s3, s3 with a session token, cloudfront (RSA-SHA1), gcs RSA, gcs HMAC, azure;
 * - the same S3 URL signed by @smithy/signature-v4, the standalone signer the AWS SDK uses
 *   (awaited, as it returns a promise), which is what the runtime could have used instead;
 * - a warm lookup in SignedUrlCache (the signed redirect's extra cost over an unsigned one).
 * Each round signs a different set of digests so no result is reused across rounds.
 */
import { createHash, createHmac, generateKeyPairSync } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { SignatureV4 } from '@smithy/signature-v4';
import { median } from './lib/stats.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const signing = await import(pathToFileURL(join(root, 'dist', 'src', 'signing', 'index.js')).href);

function argument(name, fallback) {
  const index = process.argv.indexOf(name);
  return index >= 0 ? Number(process.argv[index + 1]) : fallback;
}

const ROUNDS = argument('--rounds', 9);
const OPS = argument('--ops', 2000);
const SIGNED_AT = Date.UTC(2024, 4, 1, 12, 0, 0);
const AWS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const TOKEN = 'IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD' + 'x'.repeat(700);
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

function digests(round, count) {
  const out = [];
  for (let i = 0; i < count; i++) out.push(`sha256:${createHash('sha256').update(`${round}/${i}`).digest('hex')}`);
  return out;
}

/**
 * Median ns per call of `op(input)` over rounds; `op` may return a promise. Inputs are fresh
 * digests per round unless `inputs(round)` says otherwise.
 */
async function measure(op, ops = OPS, inputs = (round) => digests(round, ops)) {
  const perRound = [];
  for (let round = -1; round < ROUNDS; round++) {
    const set = inputs(round);
    const start = process.hrtime.bigint();
    for (const d of set) {
      const result = op(d);
      if (result instanceof Promise) await result;
    }
    const ns = Number(process.hrtime.bigint() - start) / ops;
    if (round >= 0) perRound.push(ns); // round -1 warms the JIT
  }
  return median(perRound);
}

const s3Base = 'https://registry-edge-blobs.s3.eu-west-1.amazonaws.com/containers/images/';
const signers = {
  s3: signing.s3Signer({ region: 'eu-west-1', expiresS: 600, credentials: AWS }),
  's3 + session token': signing.s3Signer({ region: 'eu-west-1', expiresS: 600, credentials: { ...AWS, sessionToken: TOKEN } }),
  'cloudfront (RSA-SHA1)': signing.cloudFrontSigner({ keyPairId: 'K2JCJMDEHXQW5F', privateKey, expiresS: 600, hash: 'sha1' }),
  'gcs RSA': signing.gcsSigner({ expiresS: 600, credentials: { kind: 'service-account', clientEmail: 'edge@p.iam.gserviceaccount.com', privateKey } }),
  'gcs HMAC': signing.gcsSigner({ expiresS: 600, credentials: { kind: 'hmac', accessId: 'GOOG1EXAMPLE', secret: 'bGoa+V7g/yqDXvKRqq+JTFn4uQZbPiQJo4pf9RzJ' } }),
  azure: signing.azureSigner({ account: 'acct', accountKey: Buffer.alloc(64, 7), expiresS: 600, allowHttp: false }),
};
const bases = { 'cloudfront (RSA-SHA1)': 'https://d111111abcdef8.cloudfront.net/containers/images/', 'gcs RSA': 'https://storage.googleapis.com/b/containers/images/', 'gcs HMAC': 'https://storage.googleapis.com/b/containers/images/', azure: 'https://acct.blob.core.windows.net/c/containers/images/' };

/** smithy's hash interface over node:crypto, as @smithy/hash-node implements it. */
class NodeSha256 {
  constructor(secret) { this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', secret); }
  update(data) { this.hash.update(data); }
  async digest() { return new Uint8Array(this.hash.digest()); }
}
const smithy = new SignatureV4({ credentials: AWS, region: 'eu-west-1', service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
function smithyPresign(digest) {
  const request = {
    method: 'GET', protocol: 'https:', hostname: 'registry-edge-blobs.s3.eu-west-1.amazonaws.com',
    path: `/containers/images/${encodeURIComponent(digest)}`, query: {}, headers: { host: 'registry-edge-blobs.s3.eu-west-1.amazonaws.com', 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' },
  };
  return smithy.presign(request, { expiresIn: 600, signingDate: new Date(SIGNED_AT) });
}

const rows = [];
for (const [name, signer] of Object.entries(signers)) {
  const base = bases[name] ?? s3Base;
  const ops = name.includes('RSA') ? Math.max(50, Math.floor(OPS / 20)) : OPS;
  rows.push({ what: `cold sign: ${name}`, ns: await measure((d) => signer.presignGet(base + d, SIGNED_AT), ops) });
}
rows.push({ what: 'cold sign: s3 via @smithy/signature-v4 (awaited)', ns: await measure(smithyPresign) });

const cache = new signing.SignedUrlCache({ signer: signers.s3, objectUrl: (d) => s3Base + d, maxBytes: 64 << 20 });
const hot = digests(99, 1000);
for (const d of hot) cache.get(d, SIGNED_AT);
const hotRounds = Array.from({ length: 200 }, () => hot).flat();
rows.push({ what: 'warm lookup: SignedUrlCache.get (1000 digests)', ns: await measure((d) => cache.get(d, SIGNED_AT + 1000), hotRounds.length, () => hotRounds) });
rows.push({ what: 'reference: Date.now()', ns: await measure(() => Date.now(), hotRounds.length, () => hotRounds) });

if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ node: process.version, rounds: ROUNDS, rows }, null, 2));
} else {
  console.log(`signing bench: node ${process.version}, median of ${ROUNDS} rounds (smoke quality on a shared machine)\n`);
  console.log('| operation | median per op |\n| --- | ---: |');
  for (const row of rows) console.log(`| ${row.what} | ${row.ns >= 1000 ? `${(row.ns / 1000).toFixed(2)} µs` : `${row.ns.toFixed(0)} ns`} |`);
}
