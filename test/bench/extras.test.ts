// `npm run bench` measures what signing (issue 13) and TLS at the door (issue 12) cost in the
// same run as the layered scenarios: a tiny real run reads both back from the published
// files, and the pure parts (flags, the signed-answer judge, checks and tables) are tabled.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..', '..');
// Computed paths keep TypeScript from demanding declarations for the plain-JS bench code.
const load = async <T>(path: string): Promise<T> => (await import(join(ROOT, path))) as T;

interface Check { label: string; target: string; measured: string; pass: boolean }
interface ArgsModule { parseArgs(argv: string[]): { ok: true; options: { scenarios: string[]; tls: boolean; signing: boolean } } | { ok: false; error: string } }
interface ScenariosModule {
  judgeAnswer(expect: { status: number; location?: string; signed?: boolean }, answer: { status: number; location: string | undefined }, bucketUrl: string): string | undefined;
  benchConfig(input: Record<string, unknown>): { buckets: Array<{ name: string; signing?: Record<string, unknown> }> };
}
interface ExtrasModule { extraChecks(results: unknown, tag: string): Check[]; extraLines(results: unknown): string[] }

const out = mkdtempSync(join(tmpdir(), 'bench-extras-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(ROOT, 'bench', 'run.js'), ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** A results document with just what the extra checks read. */
function results(signedCpu: number, unsignedCpu: number, coldS3Ns: number, tlsRatio: number | null) {
  const scenario = (id: string, cpu: number) => ({ id, byServer: { 'edge-info': { summary: { cpuUsBest: cpu } } } });
  return {
    scenarios: [scenario('S3n', unsignedCpu), scenario('S3s', signedCpu)],
    coldSigning: { rounds: 3, rows: [{ what: 'cold sign: s3', ns: coldS3Ns }, { what: 'warm lookup: SignedUrlCache.get (1000 digests)', ns: 95 }] },
    tls: tlsRatio === null ? null : { server: 'registry-edge serve (log warn)', cpuRatio: tlsRatio, lines: ['| transport | req/s |', '| --- | ---: |'] },
  };
}

describe('bench/run.js with TLS and signing (a tiny real run)', () => {
  it('runs S3s beside S3n, the cold-signature table and bench/tls.js, and reports each with its target', async () => {
    expect(existsSync(join(ROOT, 'dist', 'src', 'cli.js')), 'run `npm run build` first (npm test does)').toBe(true);
    const result = await runBench([
      '--duration', '0.3', '--warmup', '0', '--startup-runs', '0', '--connections', '4', '--ranges', 'synthetic', '--open-loop', '0',
      '--scenarios', 'S3n,S3s', '--layers', 'edge-silent', '--rounds', '1', '--no-profile', '--out', out,
    ]);
    expect(result.code, result.stderr).toBe(0);
    const json = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as {
      scenarios: Array<{ id: string; byServer: Record<string, { sanity: { wrongCount: number; checked: number }; summary: { cpuUsBest: number } }> }>;
      coldSigning: { rows: Array<{ what: string; ns: number }> };
      tls: { server: string; h1: Record<string, { cpuUsPerRequest: number[]; statuses: Record<string, number> }>; handshakes: Record<string, { errors: number; achieved: number }>; cpuRatio: number };
      checks: Check[];
      settings: { tls: boolean; signing: boolean };
    };
    expect(json.settings).toMatchObject({ tls: true, signing: true });
    expect(json.scenarios.map((s) => s.id)).toEqual(['S3n', 'S3s']);
    // The signed scenario's answer was judged: a 307 to the private bucket with a SigV4 signature.
    for (const scenario of json.scenarios) expect(scenario.byServer['edge-silent']?.sanity).toMatchObject({ wrongCount: 0, checked: 1 });
    expect(json.coldSigning.rows.map((row) => row.what)).toEqual(expect.arrayContaining(['cold sign: s3', 'cold sign: gcs RSA', 'cold sign: azure']));
    for (const transport of ['plain', 'tls']) {
      expect(json.tls.h1[transport]?.cpuUsPerRequest.length, transport).toBe(1);
      expect(Object.keys(json.tls.h1[transport]?.statuses ?? {}), transport).toEqual(['307']);
    }
    expect(Object.keys(json.tls.handshakes)).toEqual(['ecdsa-p256', 'rsa-2048']);
    for (const handshake of Object.values(json.tls.handshakes)) expect(handshake).toMatchObject({ errors: 0, achieved: expect.any(Number) });
    expect(json.tls.cpuRatio).toBeGreaterThan(0);
    expect(json.tls.server).toBe('registry-edge serve (log warn)');
    const labels = json.checks.map((check) => check.label);
    expect(labels).toEqual(expect.arrayContaining([
      'S3s ÷ S3n CPU/req: warm signed ÷ unsigned blob redirect (edge-silent, best round)',
      'cold S3 signature, median',
      'TLS ÷ plain CPU/req, warm blob redirect, HTTP/1.1 keep-alive (bench/tls.js)',
    ]));
    expect(result.stdout).toContain('### Signing (bench/signing.js');
    expect(result.stdout).toContain('### TLS at the door');
    expect(result.stdout).toContain('| ecdsa-p256 |');
  }, 180_000);
});

describe('the pure parts', () => {
  it('--no-tls and --no-signing turn each part off; S3s goes with --no-signing', async () => {
    const { parseArgs } = await load<ArgsModule>('bench/lib/args.js');
    const all = parseArgs([]);
    expect(all.ok && all.options).toMatchObject({ tls: true, signing: true, scenarios: expect.arrayContaining(['S3n', 'S3s']) });
    const off = parseArgs(['--no-tls', '--no-signing']);
    expect(off.ok && off.options.tls).toBe(false);
    expect(off.ok && off.options.signing).toBe(false);
    expect(off.ok && off.options.scenarios).not.toContain('S3s');
  });

  it('S3s expects a signed Location: the right bucket without a signature is a wrong answer', async () => {
    const { judgeAnswer, benchConfig } = await load<ScenariosModule>('bench/lib/scenarios.js');
    const expectSigned = { status: 307, location: 'bucket:onprem-signed', signed: true };
    const base = 'http://127.0.0.1:9';
    expect(judgeAnswer(expectSigned, { status: 307, location: `${base}/onprem-signed/containers/images/sha256%3Aab?X-Amz-Signature=00` }, base)).toBeUndefined();
    expect(judgeAnswer(expectSigned, { status: 307, location: `${base}/onprem-signed/containers/images/sha256:ab` }, base)).toMatch(/is not signed/);
    const config = benchConfig({ bucketUrl: base, rangesFile: '/x.mmdb', port: 0, variant: 'signed', signingFiles: { accessKeyId: '/s/id', secretAccessKey: '/s/secret' } });
    expect(config.buckets[0]).toMatchObject({ name: 'onprem-signed', signing: { type: 's3', access_key_id_file: '/s/id', secret_access_key_file: '/s/secret' } });
    expect(() => benchConfig({ bucketUrl: base, rangesFile: '/x.mmdb', port: 0, variant: 'signed' })).toThrow(/credential files/);
  });

  it.each([
    [105, 100, 20_000, 1.2, [true, true, true]],
    [115, 100, 31_000, 1.3, [false, false, false]],
  ])('checks: signed %d vs unsigned %d µs, cold S3 %d ns, TLS %dx', async (signedCpu, unsignedCpu, cold, tls, passes) => {
    const { extraChecks } = await load<ExtrasModule>('bench/lib/report-extras.js');
    const checks = extraChecks(results(signedCpu, unsignedCpu, cold, tls), '');
    expect(checks.map((check) => check.pass)).toEqual(passes);
    expect(checks[0]?.measured).toBe(`${(signedCpu / unsignedCpu).toFixed(2)}x (${signedCpu.toFixed(1)} vs ${unsignedCpu.toFixed(1)} µs)`);
  });

  it("puts node's own TLS ÷ plain (the floor row) beside the TLS ratio it checks", async () => {
    const { extraChecks } = await load<ExtrasModule>('bench/lib/report-extras.js');
    const measured = results(1, 1, 20_000, 1.3);
    const withFloor = { ...measured, tls: { ...measured.tls, stacks: [{ stack: 'edge', ratio: 1.3 }, { stack: 'hono', ratio: 1.2 }, { stack: 'node', ratio: 1.42 }] } };
    const check = extraChecks(withFloor, '').find((row) => row.label.startsWith('TLS'));
    expect(check).toMatchObject({ measured: '1.30x (node:https ÷ node:http, bare 307: 1.42x)', pass: false });
  });

  it('says how low the ratio can go with node\'s TLS cost alone when the rows carry CPU figures', async () => {
    const { extraChecks, reachableTlsRatio } = await load<ExtrasModule & { reachableTlsRatio: (stacks: unknown[]) => number | null }>('bench/lib/report-extras.js');
    const measured = results(1, 1, 20_000, 1.4);
    const stacks = [{ stack: 'edge', ratio: 1.4, plainCpu: 40, extraUs: 16 }, { stack: 'node', ratio: 1.5, plainCpu: 24, extraUs: 12 }];
    const check = extraChecks({ ...measured, tls: { ...measured.tls, stacks } }, '').find((row) => row.label.startsWith('TLS'));
    expect(check).toMatchObject({ measured: "1.40x (with node's TLS cost alone: 1.30x; node:https ÷ node:http, bare 307: 1.50x)", pass: false });
    expect(reachableTlsRatio([{ stack: 'node', plainCpu: 24, extraUs: 12 }])).toBeNull();
    expect(reachableTlsRatio([{ stack: 'edge', plainCpu: null, extraUs: 16 }, { stack: 'node', plainCpu: 24, extraUs: 12 }])).toBeNull();
  });

  it('leaves out what was not measured, and prints the tables of what was', async () => {
    const { extraChecks, extraLines } = await load<ExtrasModule>('bench/lib/report-extras.js');
    const partial = { ...results(1, 1, 20_000, null), scenarios: [] };
    expect(extraChecks(partial, '').map((check) => check.label)).toEqual(['cold S3 signature, median']);
    const lines = extraLines(results(1, 1, 20_000, 1.1));
    expect(lines).toContain('| cold sign: s3 | 20.00 µs |');
    expect(lines).toContain('| warm lookup: SignedUrlCache.get (1000 digests) | 95 ns |');
    expect(lines).toContain('### TLS at the door (bench/tls.js: registry-edge serve (log warn), plain and with listen.tls)');
    expect(extraLines({ scenarios: [] })).toEqual([]);
  });
});
