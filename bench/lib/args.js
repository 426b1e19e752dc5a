// Command-line flags of `node bench/run.js`. Pure: argv in, options or an error message out.

export const USAGE = `Usage: node bench/run.js [flags]      (npm run bench -- [flags])

  --duration S        seconds per measured round (default 5; --quick: 1)
  --rounds N          measured rounds per scenario and server (default 3; --quick: 1)
  --warmup S          warm-up seconds per scenario and server (default 2; --quick: 0.5)
  --connections N     concurrent connections (default 50)
  --startup-runs N    start-up measurements per server (default 5; --quick: 3)
  --quick             fast smoke run with the defaults above
  --scenarios LIST    subset, e.g. S1,S3 (default S1,S2,S3,S4,S5)
  --servers LIST      subset of baseline,edge (default both)
  --target URL        also run every scenario against this already running server
  --target-pid PID    its process, to report CPU per request and peak RSS
  --target-name NAME  its label in the table (default: the URL)
  --ranges DIR        feeds to compile (aws-ip-ranges.json, gcp-cloud.json); default
                      ../shared/ranges, or a generated synthetic feed when that is missing;
                      'synthetic' forces the generated one
  --out DIR           where results go (default bench/results)
  --no-pin            do not pin server and load generator to separate CPUs
  --edge-stub         stand the baseline in for registry-edge (to work on the harness itself)
  --check             exit 1 when a registry-edge target from the issue is missed
  --help              this text
`;

const SCENARIO_IDS = ['S1', 'S2', 'S3', 'S4', 'S5'];
const SERVER_IDS = ['baseline', 'edge'];

/**
 * @param {string[]} argv arguments after the script name
 * @returns {{ ok: true, options: any } | { ok: false, error: string } | { ok: false, help: true }}
 */
export function parseArgs(argv) {
  /** @type {Record<string, string | boolean>} */
  const raw = {};
  const valued = new Set(['duration', 'rounds', 'warmup', 'connections', 'startup-runs', 'scenarios', 'servers', 'target', 'target-pid', 'target-name', 'out', 'ranges']);
  const switches = new Set(['quick', 'no-pin', 'edge-stub', 'check', 'help']);
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--')) return { ok: false, error: `unexpected argument: ${arg}` };
    const [name = '', inline] = arg.slice(2).split(/=(.*)/s, 2);
    if (switches.has(name)) raw[name] = true;
    else if (valued.has(name)) {
      const value = inline ?? argv[i + 1];
      if (value === undefined || (inline === undefined && value.startsWith('--'))) return { ok: false, error: `--${name} needs a value` };
      if (inline === undefined) i += 1;
      raw[name] = value;
    } else return { ok: false, error: `unknown flag --${name}` };
  }
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
  try {
    const target = raw.target === undefined ? undefined : String(raw.target);
    if (target !== undefined) {
      const url = new URL(target);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('--target must be an http(s) URL');
    }
    const options = {
      durationS: number('duration', quick ? 1 : 5, false, 0.1),
      rounds: number('rounds', quick ? 1 : 3, true, 1),
      warmupS: number('warmup', quick ? 0.5 : 2, false, 0),
      connections: number('connections', 50, true, 1),
      startupRuns: number('startup-runs', quick ? 3 : 5, true, 0),
      quick,
      scenarios: list('scenarios', SCENARIO_IDS),
      servers: list('servers', SERVER_IDS),
      target: target === undefined ? undefined : new URL(target).origin,
      targetPid: raw['target-pid'] === undefined ? undefined : number('target-pid', 0, true, 1),
      targetName: raw['target-name'] === undefined ? undefined : String(raw['target-name']),
      outDir: raw.out === undefined ? undefined : String(raw.out),
      ranges: raw.ranges === undefined ? undefined : String(raw.ranges),
      pin: raw['no-pin'] !== true,
      edgeStub: raw['edge-stub'] === true,
      check: raw.check === true,
    };
    if (options.targetPid !== undefined && options.target === undefined) throw new Error('--target-pid needs --target');
    return { ok: true, options };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}
