// The layers a run stacks up, cheapest first, and how each one's server is started:
//   raw node:http 307 (the floor of any Node server) → a bare hono app on @hono/node-server
//   answering the same 307 (the floor of our stack) → the same hono app sending exactly
//   registry-edge's answer for the scenario and writing a log line of the same length the way
//   our sink does (what any server with our answers and our log pays on this stack) →
//   registry-edge with logging off → registry-edge writing one info line per request to a file
//   (how users run it) → the same with per-pull events on manifests (issue 16).
// Every difference between neighbours is a number in the report: what the framework costs,
// what our code costs, what the log line costs. archeio and --target sit beside them.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import process from 'node:process';

const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const ROOT = resolve(BENCH_DIR, '..');
export const CLI = join(ROOT, 'dist', 'src', 'cli.js');
/** What `npm start` and the image run: one bundle, so start-up is measured as users get it. */
export const BUNDLE = join(ROOT, 'dist', 'bundle', 'cli.js');
export const RAW_BASELINE = join(BENCH_DIR, 'baseline.js');
export const HONO_BASELINE = join(BENCH_DIR, 'lib', 'hono-baseline.js');
export const HONO_SAME = join(BENCH_DIR, 'lib', 'hono-same.js');
/** Layers that only mean something in some scenarios: pull events exist for manifest requests only. */
const ONLY_FOR = /** @type {Record<string, (s: { manifests: boolean }) => boolean>} */ ({ 'edge-events': (s) => s.manifests });

/** @type {Record<string, { label: string, color: string }>} */
export const LAYER_INFO = {
  raw: { label: 'raw node:http', color: '#a0a0a0' },
  hono: { label: 'bare hono', color: '#6b8fb5' },
  'hono-same': { label: 'hono + same answer', color: '#90cdf4' },
  'edge-silent': { label: 'registry-edge, log off', color: '#2b6cb0' },
  'edge-info': { label: 'registry-edge, info → file', color: '#1a365d' },
  'edge-events': { label: 'registry-edge, info + pull events', color: '#2c5282' },
  archeio: { label: 'archeio (Go)', color: '#dd6b20' },
  target: { label: 'target', color: '#805ad5' },
};

/**
 * @typedef {{ path: string, version: string, tag: string }} NodeBinary tag: '' for a single
 *   node, else `@v24` and the like so ids stay apart
 * @typedef {{ id: string, layer: string, label: string, node: NodeBinary | undefined, local: boolean, url?: string, pid?: number }} ServerSpec
 */

/**
 * The servers one scenario runs: every layer on every node binary, then archeio (when it can
 * serve the scenario), then an external --target.
 * manifests: every request of the scenario is a manifest request (the edge-events layer runs only then).
 * @param {{ layers: string[], nodes: NodeBinary[], archeio: string | undefined, archeioServes: boolean, manifests?: boolean, target?: { url: string, pid: number | undefined, name: string | undefined } }} input
 * @returns {ServerSpec[]}
 */
export function serversFor({ layers, nodes, archeio, archeioServes, manifests = false, target }) {
  /** @type {ServerSpec[]} */
  const servers = [];
  for (const node of nodes) {
    for (const layer of layers) {
      const info = LAYER_INFO[layer];
      if (!info) throw new Error(`unknown layer ${layer}`);
      if (ONLY_FOR[layer]?.({ manifests }) === false) continue;
      servers.push({ id: `${layer}${node.tag}`, layer, label: `${info.label}${node.tag ? ` (node ${node.version})` : ''}`, node, local: true });
    }
  }
  if (archeio && archeioServes) servers.push({ id: 'archeio', layer: 'archeio', label: /** @type {{ label: string }} */ (LAYER_INFO.archeio).label, node: undefined, local: true });
  if (target) {
    servers.push({ id: 'target', layer: 'target', label: target.name ?? target.url, node: undefined, local: false, url: target.url, ...(target.pid ? { pid: target.pid } : {}) });
  }
  return servers;
}

/**
 * How to start SERVER on PORT. Registry-edge reads the configuration of its log level;
 * archeio gets its environment variables (it has no config file) and one OS thread for Go
 * code, as one Node process has.
 * @param {ServerSpec} server
 * With `embeddedDataDir`, registry-edge runs the embedded default (no --config) on that data folder.
 * configFor(level, events): the scenario's configuration at that log level, with pull events on manifests or not.
 * answersFile: what hono-same answers (bench/lib/same-answer.js probes it from registry-edge).
 * @param {{ port: number, configFor: (level: string, events?: boolean) => string, bucketUrl: string, archeio?: string, edgeStub: boolean, embeddedDataDir?: string, logFile?: string, nodeFlags?: string[], answersFile?: string }} context
 */
export function commandFor(server, context) {
  const node = server.node?.path ?? process.execPath;
  const port = String(context.port);
  const flags = context.nodeFlags ?? [];
  const edge = server.layer === 'edge-info' || server.layer === 'edge-silent' || server.layer === 'edge-events';
  if (server.layer === 'raw' || (edge && context.edgeStub)) {
    return { command: node, args: [...flags, RAW_BASELINE, '--port', port], anyStatus: true, stdoutFile: context.logFile };
  }
  if (server.layer === 'hono') return { command: node, args: [...flags, HONO_BASELINE, '--port', port], anyStatus: true, stdoutFile: context.logFile };
  if (server.layer === 'hono-same') {
    if (!context.answersFile) throw new Error('hono-same needs the answers probed from registry-edge');
    return { command: node, args: [...flags, HONO_SAME, '--port', port, '--answers', context.answersFile], anyStatus: true, stdoutFile: context.logFile };
  }
  if (edge) {
    const level = server.layer === 'edge-silent' ? 'silent' : 'info';
    // The profiled round runs the unbundled build, so the profile names our modules; the code is the same.
    const entry = flags.some((flag) => flag.startsWith('--cpu-prof')) ? CLI : BUNDLE;
    if (context.embeddedDataDir !== undefined) {
      const env = { ...process.env, REGISTRY_EDGE_DATA_DIR: context.embeddedDataDir };
      return { command: node, args: [...flags, entry, 'serve', '--port', port, '--admin-port', '0'], anyStatus: false, stdoutFile: context.logFile, env };
    }
    const config = context.configFor(level, server.layer === 'edge-events');
    return { command: node, args: [...flags, entry, 'serve', '--config', config, '--port', port], anyStatus: false, stdoutFile: context.logFile };
  }
  if (server.layer === 'archeio' && context.archeio) {
    return {
      command: context.archeio,
      args: [],
      anyStatus: false,
      stdoutFile: context.logFile,
      env: {
        ...process.env,
        PORT: port,
        GOMAXPROCS: '1',
        UPSTREAM_REGISTRY_ENDPOINT: context.bucketUrl,
        UPSTREAM_REGISTRY_PATH: '',
        DEFAULT_AWS_BASE_URL: `${context.bucketUrl}/default`,
      },
    };
  }
  throw new Error(`cannot start a ${server.layer} server`);
}
