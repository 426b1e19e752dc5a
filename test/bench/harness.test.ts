// The load-test harness (`npm run bench`) as its users drive it: real processes on loopback,
// short rounds, results read back from the files it publishes.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { BlockList } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SHARED_RANGES } from '../support/geo.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const RUN = join(ROOT, 'bench', 'run.js');
const BASELINE = join(ROOT, 'bench', 'baseline.js');
const SHARED_AWS_FEED = join(SHARED_RANGES, 'aws-ip-ranges.json');
/** Short rounds and few connections: these tests check the harness, not the numbers. */
const TINY = ['--no-tls', '--no-signing', '--duration', '0.3', '--warmup', '0', '--startup-runs', '1', '--connections', '4', '--ranges', 'synthetic', '--open-loop', '0', '--no-scale'];

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'bench-test-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function runBench(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [RUN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** A second, independent server to point --target at: its own process, so it has a pid. */
async function startTargetServer(): Promise<{ url: string; pid: number }> {
  const child: ChildProcess = spawn(process.execPath, [BASELINE, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  cleanups.push(
    () =>
      new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  );
  const line = await new Promise<string>((done, fail) => {
    let text = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) done(text.split('\n')[0] ?? '');
    });
    child.once('exit', () => fail(new Error('target server exited before listening')));
  });
  const { port } = JSON.parse(line) as { port: number };
  return { url: `http://127.0.0.1:${port}`, pid: child.pid as number };
}

interface Summary {
  rps: number;
  requests: number;
  p99Ms: number;
  cpuUsBest: number | null;
  cpuUsMedian: number | null;
  statusCounts: Record<string, number>;
}
interface OpenLoopResult { ratePerS: number; scheduled: number; answered: number; latencyMs: { p50: number; p99: number; p999: number } }
interface ServerEntry {
  summary: Summary;
  rounds: unknown[];
  peakRssKb: number | null;
  logBytesPerRequest: number | null;
  openLoop?: OpenLoopResult;
  sanity: { wrongCount: number; checked: number };
}
interface Ranked { name: string; share: number }
interface Results {
  settings: { connections: number; rounds: number };
  environment: { nodes: { version: string; path: string }[] };
  geo: { source: string; s3Client: string | null };
  serverIds: string[];
  startup: Record<string, { samplesMs: number[]; medianMs: number }>;
  scenarios: { id: string; servers: string[]; byServer: Record<string, ServerEntry>; profile?: { byPackage: Ranked[]; byModule: Ranked[]; samples: number } }[];
  checks: { label: string; pass: boolean }[];
  warnings: string[];
}

describe('bench/run.js', () => {
  it('measures the raw layer and a --target server, flat out and at a fixed rate, and publishes Markdown, JSON and SVG', async () => {
    const out = scratchDir();
    const target = await startTargetServer();
    const result = await runBench([
      ...TINY, '--layers', 'raw', '--scenarios', 'S1,S2', '--rounds', '2', '--open-loop', '0.3', '--open-rate', '200',
      '--target', target.url, '--target-pid', String(target.pid), '--target-name', 'other-door', '--out', out,
    ]);
    expect(result.stderr).not.toMatch(/Error/);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('| scenario | raw node:http | other-door |');
    expect(result.stdout).toMatch(/\| S1 ping \| \d+\.\d \(\d+\.\d\) \| \d+\.\d \(\d+\.\d\) \|/);
    expect(result.stdout).toMatch(/\| S2 \| other-door \| 200 \| \d+\.\d{3} \| \d+\.\d{3} \|/);
    expect(result.stdout).toContain(`Servers on node ${process.version} (${process.execPath})`);

    const files = readdirSync(out).sort();
    expect(files).toEqual(expect.arrayContaining(['latest.json', 'latest.md', 'latest.svg']));
    expect(files.filter((f) => /^\d{8}T\d{6}Z\.(md|json|svg)$/.test(f))).toHaveLength(3);
    expect(readFileSync(join(out, 'latest.md'), 'utf8')).toContain(result.stdout.trim().split('\n')[0]);

    const json = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as Results;
    expect(json.scenarios.map((s) => s.id)).toEqual(['S1', 'S2']);
    expect(json.serverIds).toEqual(['raw', 'target']);
    expect(json.environment.nodes).toEqual([expect.objectContaining({ version: process.version, path: process.execPath })]);
    for (const scenario of json.scenarios) {
      for (const id of ['raw', 'target']) {
        const entry = scenario.byServer[id];
        expect(entry?.rounds).toHaveLength(2);
        expect(entry?.summary.rps).toBeGreaterThan(0);
        expect(entry?.summary.p99Ms).toBeGreaterThan(0);
        // Both servers answer every request with a 307; the counts are what they sent back.
        expect(Object.keys(entry?.summary.statusCounts ?? {})).toEqual(['307']);
        // With --target-pid the target gets CPU and memory columns like the local servers.
        expect(entry?.summary.cpuUsBest).toBeGreaterThan(0);
        expect(entry?.summary.cpuUsMedian).toBeGreaterThanOrEqual(entry?.summary.cpuUsBest ?? Infinity);
        expect(entry?.peakRssKb).toBeGreaterThan(10_000);
      }
    }
    // S2 also ran at a fixed rate: 200 req/s for 0.3 s is 60 scheduled requests per server.
    const open = json.scenarios[1]?.byServer.target?.openLoop;
    expect(open).toMatchObject({ ratePerS: 200, scheduled: 60, answered: 60 });
    expect(json.scenarios[0]?.byServer.raw?.openLoop).toBeUndefined();
    expect(json.startup.raw?.samplesMs).toHaveLength(1);
    expect(json.startup.target).toBeUndefined();
    expect(json.checks).toEqual([]);

    const svg = readFileSync(join(out, 'latest.svg'), 'utf8');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    // One CPU bar per scenario and server; no stacked panel without the registry-edge layers.
    expect(svg.match(/<rect [^>]*><title>/g)).toHaveLength(2 * 2);
    expect(svg).toContain('other-door');
  }, 90_000);

  it('flags a registry-edge stand-in whose answers are wrong and leaves the checks out', async () => {
    const out = scratchDir();
    const result = await runBench([...TINY, '--layers', 'raw,edge-info', '--edge-stub', '--scenarios', 'S1,S3', '--rounds', '1', '--no-profile', '--out', out]);
    expect(result.code).toBe(0);
    const json = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as Results;
    expect(json.geo.source).toBe('synthetic');
    // The stub is the baseline: a 307 for the ping and a fixed Location for the blob.
    expect(json.warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^S1: registry-edge, info → file gave 1 of 1 distinct requests an unexpected answer.*status 307, expected 200/),
        expect.stringMatching(/^S3: registry-edge, info → file gave 1 of 1 .*X-Forwarded-For: 13\.\d+\.\d+\.\d+, 35\.191\.0\.1\).*expected bucket aws-eu-west-3/),
      ]),
    );
    expect(json.checks).toEqual([]);
    expect(result.stdout).toContain('registry-edge, info → file');
  }, 90_000);

  it('stacks every layer over real registry-edge (events on manifests only), profiles it, and skips S3g without a city file', async () => {
    if (!existsSync(join(ROOT, 'dist', 'src', 'cli.js'))) throw new Error('dist/src/cli.js is missing: run npm run build first (npm test does)');
    const out = scratchDir();
    const home = scratchDir();
    // No city file anywhere the bench looks: an empty data folder and an empty home.
    const env = { ...process.env, HOME: home, REGISTRY_EDGE_DATA_DIR: join(home, 'data') };
    const result = await runBench(
      [...TINY, '--scenarios', 'S2,S3n,S3g', '--rounds', '1', '--open-loop', '0.3', '--open-rate', '300', '--connections', '8', '--out', out],
      env,
    );
    expect(result.stderr).not.toMatch(/Error/);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('| scenario | raw node:http | bare hono | hono + same answer | registry-edge, log off | registry-edge, info → file | registry-edge, info + pull events |');
    // Then hono + same answer's three columns and the events' two (S3n has no events).
    expect(result.stdout).toMatch(/\| S2 \| [+-]\d+\.\d \| [+-]\d+\.\d \| [+-]\d+\.\d \| \d+\.\d\dx \| \d+\.\d\dx \| \d+\.\d\dx \| [+-]\d+\.\d \| [+-]\d+\.\d \| \d+\.\d\dx \| [+-]\d+\.\d \| \d+\.\d\dx \|/);
    expect(result.stdout).toMatch(/\| S3n \|( [^|]+ \|){9} {2}\| {2}\|/);
    expect(result.stdout).toContain("### Where registry-edge's CPU goes");

    const json = JSON.parse(readFileSync(join(out, 'latest.json'), 'utf8')) as Results;
    expect(json.scenarios.map((s) => s.id)).toEqual(['S2', 'S3n']);
    expect(json.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/^S3g skipped: no compact city file \(looked for .*data\/locations\.mmdb/)]));
    expect(json.serverIds).toEqual(['raw', 'hono', 'hono-same', 'edge-silent', 'edge-info', 'edge-events']);
    expect(json.scenarios.map((s) => Object.keys(s.byServer).includes('edge-events'))).toEqual([true, false]);
    const s2 = json.scenarios[0];
    // Pull events make the manifest line longer; the check of issue 16 is reported.
    expect(s2?.byServer['edge-events']?.logBytesPerRequest).toBeGreaterThan((s2?.byServer['edge-info']?.logBytesPerRequest ?? 0) + 50);
    expect(json.checks.map((c) => c.label)).toContain('S2 CPU/req, info + pull events ÷ info (issue 16: the event line)');
    for (const scenario of json.scenarios) {
      // The floor layer gives registry-edge's answer and writes lines as long as registry-edge's
      // (whose log also holds its start-up and shutdown lines, so its figure is a little higher).
      expect(scenario.byServer['hono-same']?.sanity).toMatchObject({ wrongCount: 0, checked: 1 });
      const edgeBytes = scenario.byServer['edge-info']?.logBytesPerRequest ?? 0;
      expect(scenario.byServer['hono-same']?.logBytesPerRequest).toBeGreaterThan(0.9 * edgeBytes);
      expect(scenario.byServer['hono-same']?.logBytesPerRequest).toBeLessThan(1.05 * edgeBytes);
      // registry-edge answered every distinct request the way the bench config implies.
      expect(scenario.byServer['edge-info']?.sanity).toMatchObject({ wrongCount: 0, checked: 1 });
      expect(scenario.byServer['edge-silent']?.sanity).toMatchObject({ wrongCount: 0, checked: 1 });
      for (const id of json.serverIds) if (id !== 'edge-events' || scenario.id === 'S2') expect(scenario.byServer[id]?.summary.cpuUsBest, `${scenario.id} ${id}`).toBeGreaterThan(0);
      // One JSON line per request goes to the log file at info, nothing at silent.
      expect(scenario.byServer['edge-info']?.logBytesPerRequest).toBeGreaterThan(100);
      expect(scenario.byServer['edge-silent']?.logBytesPerRequest).toBe(0);
      expect(scenario.byServer['edge-info']?.openLoop).toMatchObject({ ratePerS: 300, scheduled: 90, answered: 90 });
      const profile = scenario.profile;
      expect(profile?.samples).toBeGreaterThan(50);
      const packages = profile?.byPackage.map((p) => p.name) ?? [];
      // Request lines are formatted and written without pino, so a tiny round need not sample it.
      expect(packages).toEqual(expect.arrayContaining(['node', 'hono', '@hono/node-server', 'registry-edge']));
      expect(profile?.byModule.every((m) => /^dist\/(src|geo)\//.test(m.name))).toBe(true);
    }
    expect(json.startup.edge?.samplesMs).toHaveLength(1);
    expect(json.checks.map((c) => c.label)).toEqual(expect.arrayContaining(['S2 CPU/req ÷ raw node:http (moonshot)', 'start-up, embedded default (spawn → first /v2/ 200)']));
    const svg = readFileSync(join(out, 'latest.svg'), 'utf8');
    // One bar per layer and scenario (six in S2, five in S3n), then registry-edge stacked in four segments per scenario.
    expect(svg.match(/<rect [^>]*><title>/g)).toHaveLength(6 + 5 + 2 * 4);
  }, 300_000);

  it('rejects bad flags with a message and exit status 2, and prints usage for --help', async () => {
    const rounds = await runBench(['--rounds', '0']);
    expect(rounds.code).toBe(2);
    expect(rounds.stderr).toContain('--rounds must be an integer ≥ 1');
    const pid = await runBench(['--target-pid', '123']);
    expect(pid.code).toBe(2);
    expect(pid.stderr).toContain('--target-pid needs --target');
    const scenario = await runBench(['--scenarios', 'S9']);
    expect(scenario.code).toBe(2);
    expect(scenario.stderr).toContain('--scenarios takes a comma list of S1, S2, S2c, S2r, S3, S3n, S3s, S3g, S4, S5');
    const fraction = await runBench(['--open-fraction', '2']);
    expect(fraction.code).toBe(2);
    expect(fraction.stderr).toContain('--open-fraction must be at most 1');
    const node = await runBench(['--node', '/nonexistent/node', '--layers', 'raw']);
    expect(node.code).toBe(1);
    expect(node.stderr).toContain('--node /nonexistent/node: not a node binary that runs here');
    const help = await runBench(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--target URL');
  }, 30_000);
});

interface FeedModule {
  syntheticFeeds(): {
    aws: { prefixes: { ip_prefix: string; region: string; service: string }[]; ipv6_prefixes: { ipv6_prefix: string; region: string }[] };
    gcp: { prefixes: { ipv4Prefix: string; scope: string }[] };
  };
  normalizeAwsFeed(feed: unknown): { text: string; provider: string; region: string }[];
  pickRegionAddress(entries: unknown[], provider: string, region: string, options?: { family?: 4 | 6 }): string | undefined;
}
// A computed path keeps TypeScript from demanding declarations for the plain-JS bench code.
const feedModulePath = join(ROOT, 'bench', 'lib', 'feed.js');
const loadFeedModule = async (): Promise<FeedModule> => (await import(feedModulePath)) as FeedModule;

/** Independent of the bench's own CIDR code: node's BlockList decides containment. */
function regionsContaining(prefixes: { text: string; region: string }[], ip: string): string[] {
  const family = ip.includes(':') ? 'ipv6' : 'ipv4';
  return prefixes
    .filter(({ text }) => {
      const [address = '', bits = ''] = text.split('/');
      if (address.includes(':') !== (family === 'ipv6')) return false;
      const list = new BlockList();
      list.addSubnet(address, Number(bits), family);
      return list.check(ip, family);
    })
    .map((p) => p.region);
}

describe('bench feeds', () => {
  it('generates a synthetic AWS-format feed of the real one\'s size with unambiguous regions', async () => {
    const feed = await loadFeedModule();
    const { aws, gcp } = feed.syntheticFeeds();
    const total = aws.prefixes.length + aws.ipv6_prefixes.length;
    expect(total).toBeGreaterThan(15_000);
    expect(total).toBeLessThan(18_000);
    expect(gcp.prefixes.length).toBeGreaterThan(900);
    for (const p of aws.prefixes.slice(0, 50)) {
      expect(p.ip_prefix).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/);
      expect(typeof p.region).toBe('string');
      expect(typeof p.service).toBe('string');
    }
    const entries = feed.normalizeAwsFeed(aws);
    const ip = feed.pickRegionAddress(entries, 'aws', 'eu-west-3');
    expect(ip).toBeDefined();
    expect(regionsContaining(entries, ip ?? '')).toEqual(['eu-west-3']);
  });

  it('picks the S3 client from an eu-west-3 prefix of ../shared/ranges/aws-ip-ranges.json that no other region overlaps', async () => {
    if (!existsSync(SHARED_AWS_FEED)) throw new Error(`missing ${SHARED_AWS_FEED}: this test reads the shared AWS feed`);
    const feed = await loadFeedModule();
    const entries = feed.normalizeAwsFeed(JSON.parse(readFileSync(SHARED_AWS_FEED, 'utf8')));
    for (const family of [4, 6] as const) {
      const ip = feed.pickRegionAddress(entries, 'aws', 'eu-west-3', { family });
      expect(ip).toBeDefined();
      const regions = regionsContaining(entries, ip ?? '');
      expect(regions.length).toBeGreaterThan(0);
      expect(new Set(regions)).toEqual(new Set(['eu-west-3']));
    }
  });
});
