// Command-line flags of `node bench/run.js`. Pure: argv in, options or an error message out.

export const USAGE = `Usage: node bench/run.js [flags]      (npm run bench -- [flags])

  --rounds N          measured rounds per scenario and server (default 5; --quick: 1)
  --duration S        seconds per measured round (default 2; --quick: 0.5)
  --warmup S          warm-up seconds per scenario and server (default 1; --quick: 0.3)
  --connections N     connections of the flat-out (closed-loop) rounds (default 50)
  --startup-runs N    start-up measurements per server (default 5; --quick: 2)
  --quick             fast smoke run with the defaults above
  --scenarios LIST    subset of S1,S2,S2c,S2r,S3,S3n,S3s,S3g,S4,S5 (default all)
  --layers LIST       subset of raw,hono,hono-same,edge-silent,edge-info,edge-events (default all;
                      edge-events runs in manifest scenarios only)
  --node PATH         node binary every server runs on (default: the one running the bench)
  --compare-node PATH also run every layer on this node binary, in the same rounds
  --archeio PATH      also start this archeio binary for each scenario it can serve
                      (GOMAXPROCS=1, on the servers' core; see bench/README.md to build it)
  --target URL        also run every scenario against this already running server
  --target-pid PID    its process, to report CPU per request and peak RSS
  --target-name NAME  its label in the tables (default: the URL)
  --open-loop S       seconds of fixed-rate (open-loop) load per server in S2/S3/S3n/S3g
                      (default 2; --quick: 0.5; 0 = off)
  --open-fraction F   that rate as a share of registry-edge's flat-out req/s (default 0.5)
  --open-rate N       a fixed rate in req/s instead
  --open-connections N keep-alive connections of the open-loop generator (default 32)
  --open-rounds N     fixed-rate rounds per server, alternating like the closed rounds; the
                      tables show the round with the median p99 and the worst (default 3;
                      --quick: 1)
  --no-profile        skip the extra --cpu-prof round of registry-edge per scenario
  --no-tls            skip the TLS measurement (bench/tls.js: plain vs TLS HTTP/1.1, HTTP/2
                      with h2load, full handshakes), which runs after the scenarios
  --no-signing        skip what signing costs: scenario S3s (S3n's bucket made private,
                      SigV4-signed) and the cold-signature table (bench/signing.js)
  --locations FILE    compact city file for S3g (default: found in the data folder or the
                      bench cache; S3g is skipped when there is none)
  --build-locations   build that file into ~/.cache/registry-edge/bench when missing (~45 s)
  --ranges DIR        feeds to compile (aws-ip-ranges.json, gcp-cloud.json); default
                      ../shared/ranges, or a generated synthetic feed when that is missing;
                      'synthetic' forces the generated one
  --out DIR           where results go (default bench/results)
  --no-pin            do not pin servers and the load generator to separate CPUs
  --edge-stub         stand the raw baseline in for registry-edge (to work on the harness)
  --no-scale          skip the scaling family (bench/scale.js: 1 to 10,000 networks, 10 and
                      1,000 buckets, an inventory of --inventory-digests; about a minute)
  --scale-duration S  seconds per scaling round (default 1; --quick: 0.3)
  --scale-rounds N    scaling rounds per case (default 3; --quick: 1)
  --inventory-digests N digests in the scaling family's inventory (default 1000000)
  --check             exit 1 when a target from issue 20 is missed
  --help              this text
`;

export const SCENARIO_IDS = ['S1', 'S2', 'S2c', 'S2r', 'S3', 'S3n', 'S3s', 'S3g', 'S4', 'S5'];
export const LAYER_IDS = ['raw', 'hono', 'hono-same', 'edge-silent', 'edge-info', 'edge-events'];

const VALUED = new Set([
  'duration', 'rounds', 'warmup', 'connections', 'startup-runs', 'scenarios', 'layers', 'node', 'compare-node', 'archeio',
  'target', 'target-pid', 'target-name', 'open-loop', 'open-fraction', 'open-rate', 'open-connections', 'open-rounds', 'locations', 'out', 'ranges',
  'scale-duration', 'scale-rounds', 'inventory-digests',
]);
const SWITCHES = new Set(['quick', 'no-pin', 'edge-stub', 'check', 'help', 'no-profile', 'build-locations', 'no-tls', 'no-signing', 'no-scale']);

/** @param {string[]} argv @returns {{ ok: true, raw: Record<string, string | boolean> } | { ok: false, error: string }} */
function readFlags(argv) {
  /** @type {Record<string, string | boolean>} */
  const raw = {};
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) return { ok: false, error: `unexpected argument: ${arg}` };
    const [name = '', inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (SWITCHES.has(name)) raw[name] = true;
    else if (VALUED.has(name)) {
      const value = inline ?? argv[i + 1];
      if (value === undefined || (inline === undefined && value.startsWith('--'))) return { ok: false, error: `--${name} needs a value` };
      if (inline === undefined) i += 1;
      raw[name] = value;
    } else return { ok: false, error: `unknown flag --${name}` };
  }
  return { ok: true, raw };
}

/**
 * @param {string[]} argv arguments after the script name
 * @returns {{ ok: true, options: any } | { ok: false, error: string } | { ok: false, help: true }}
 */
export function parseArgs(argv) {
  const flags = readFlags(argv);
  if (!flags.ok) return flags;
  const { raw } = flags;
  if (raw.help) return { ok: false, help: true };
  const quick = raw.quick === true;
  /** @param {string} name @param {number} fallback @param {boolean} integer @param {number} min */
  const number = (name, fallback, integer, min) => {
    if (raw[name] === undefined) return fallback;
    const value = Number(raw[name]);
    if (!Number.isFinite(value) || value < min || (integer && !Number.isInteger(value))) throw new Error(`--${name} must be ${integer ? 'an integer' : 'a number'} ≥ ${min}`);
    return value;
  };
  /** @param {string} name @param {string[]} allowed */
  const list = (name, allowed) => {
    if (raw[name] === undefined) return allowed;
    const items = String(raw[name]).split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = items.filter((item) => !allowed.includes(item));
    if (unknown.length || !items.length) throw new Error(`--${name} takes a comma list of ${allowed.join(', ')}`);
    return allowed.filter((item) => items.includes(item));
  };
  /** @param {string} name */
  const text = (name) => (raw[name] === undefined ? undefined : String(raw[name]));
  try {
    const target = text('target');
    if (target !== undefined) {
      const url = new URL(target);
      if (url.protocol !== 'http:') throw new Error('--target must be an http:// URL');
    }
    const openFraction = number('open-fraction', 0.5, false, 0.01);
    if (openFraction > 1) throw new Error('--open-fraction must be at most 1');
    const options = {
      durationS: number('duration', quick ? 0.5 : 2, false, 0.1),
      rounds: number('rounds', quick ? 1 : 5, true, 1),
      warmupS: number('warmup', quick ? 0.3 : 1, false, 0),
      connections: number('connections', 50, true, 1),
      startupRuns: number('startup-runs', quick ? 2 : 5, true, 0),
      quick,
      scenarios: list('scenarios', SCENARIO_IDS).filter((id) => id !== 'S3s' || raw['no-signing'] !== true),
      layers: list('layers', LAYER_IDS),
      node: text('node'),
      compareNode: text('compare-node'),
      archeio: text('archeio'),
      target: target === undefined ? undefined : new URL(target).origin,
      targetPid: raw['target-pid'] === undefined ? undefined : number('target-pid', 0, true, 1),
      targetName: text('target-name'),
      openLoopS: number('open-loop', quick ? 0.5 : 2, false, 0),
      openFraction,
      openRate: raw['open-rate'] === undefined ? undefined : number('open-rate', 0, false, 1),
      openConnections: number('open-connections', 32, true, 1),
      openRounds: number('open-rounds', quick ? 1 : 3, true, 1),
      profile: raw['no-profile'] !== true,
      tls: raw['no-tls'] !== true,
      signing: raw['no-signing'] !== true,
      locations: text('locations'),
      buildLocations: raw['build-locations'] === true,
      outDir: text('out'),
      ranges: text('ranges'),
      pin: raw['no-pin'] !== true,
      edgeStub: raw['edge-stub'] === true,
      check: raw.check === true,
      scale: raw['no-scale'] !== true,
      scaleDurationS: number('scale-duration', quick ? 0.3 : 1, false, 0.1),
      scaleRounds: number('scale-rounds', quick ? 1 : 3, true, 1),
      inventoryDigests: number('inventory-digests', 1_000_000, true, 1),
    };
    if (options.targetPid !== undefined && options.target === undefined) throw new Error('--target-pid needs --target');
    return { ok: true, options };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}
