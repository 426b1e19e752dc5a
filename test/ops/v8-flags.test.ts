import { spawnSync } from 'node:child_process';
import { Agent, get as httpGet } from 'node:http';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { v8FlagChosen } from '../../src/ops/v8-flags.js';
import { spawnServe, type Spawned } from '../support/cli.js';
import { scratch, writeConfig } from '../support/serve.js';

// issue 20: scavenges run on the main thread alone once `serve` runs, unless the operator gave
// node the flag either way; checked from V8's own per-collection trace (--trace-gc-nvp).

describe('v8FlagChosen', () => {
  const cases: Array<[execArgv: string[], nodeOptions: string | undefined, chosen: boolean]> = [
    [[], undefined, false],
    [['--max-old-space-size=256'], '--enable-source-maps', false],
    [['--parallel-scavenge'], undefined, true],
    [['--no-parallel-scavenge'], undefined, true],
    [[], '--enable-source-maps --no-parallel_scavenge', true],
    [[], '  --parallel-scavenge  ', true],
    [['--parallel-scavenge-task-trace'], undefined, false],
  ];
  it.each(cases)('execArgv %j, NODE_OPTIONS %j -> %s', (execArgv, nodeOptions, chosen) => {
    expect(v8FlagChosen('parallel-scavenge', execArgv, nodeOptions)).toBe(chosen);
  });

  const retain: Array<[execArgv: string[], chosen: boolean]> = [
    [[], false],
    [['--retain-maps-for-n-gc=2'], true],
    [['--retain_maps_for_n_gc=0'], true],
    [['--retain-maps-for-n-gcx=1'], false],
  ];
  it.each(retain)('retain-maps-for-n-gc, execArgv %j -> %s', (execArgv, chosen) => {
    expect(v8FlagChosen('retain-maps-for-n-gc', execArgv, undefined)).toBe(chosen);
  });
});

// issue 20: after a full collection, V8 drops the shapes of objects that had no live instance,
// and optimised code that relied on them is thrown away (the slow speed after a reload). The
// child makes short-lived objects of one shape in a hot function, as node's nextTick does,
// keeps none, collects four times, and --trace-deopt says whether the code was marked.
const SHAPES_CHILD = `
import { retainShapesAcrossCollections } from ${JSON.stringify(new URL('../../dist/src/ops/v8-flags.js', import.meta.url).href)};
if (process.argv.includes('retain')) console.log('set', retainShapesAcrossCollections([], undefined));
const id = Symbol('id');
// Each object outlives its call (escape analysis would otherwise remove it, shape and all).
let last;
function shortLived(value) { return { [id]: value, callback: value, args: value }; }
function drive(count) {
  for (let i = 0; i < count; i++) last = shortLived(i);
  return last.args;
}
let total = 0;
// Optimisation runs on a helper thread: wait for it, then run the code it installed.
for (let pass = 0; pass < 3; pass++) {
  for (let round = 0; round < 200; round++) total += drive(500);
  await new Promise((resolve) => setTimeout(resolve, 50));
}
last = undefined;
for (let i = 0; i < 4; i++) globalThis.gc();
total += drive(500);
console.log('done', total > 0);
`;

function deoptTrace(...args: string[]): string {
  const child = spawnSync(process.execPath, ['--trace-deopt', '--expose-gc', '--input-type=module', '-e', SHAPES_CHILD, '--', ...args], { encoding: 'utf8', timeout: 30_000 });
  expect(child.status, child.stderr).toBe(0);
  return child.stdout;
}

describe('object shapes across full collections (the built module; run "npm run build" first)', () => {
  const marked = /marking dependent code .*(shortLived|drive)/;

  it('by default, the hot code that made them is marked for deoptimisation', () => {
    const trace = deoptTrace();
    expect(trace).toContain('done true');
    expect(trace).toMatch(marked);
  });

  it('with retainShapesAcrossCollections, it is not', () => {
    const trace = deoptTrace('retain');
    expect(trace).toContain('set true');
    expect(trace).toContain('done true');
    expect(trace).not.toMatch(marked);
  });
});

/** Helper time of each scavenge after the listening line, in ms, as --trace-gc-nvp prints it. */
function helperTimes(edge: Spawned): number[] {
  const listening = edge.lines.findIndex((line) => line.msg === 'listening');
  return edge.lines
    .slice(listening + 1)
    .map((line) => (typeof line.raw === 'string' && line.raw.includes(' gc=s ') ? /background\.scavenge\.parallel=([\d.]+)/.exec(line.raw) : null))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => Number(match[1]));
}

/** Pings over keep-alive connections until the process has run `scavenges` collections after it listened. */
async function driveScavenges(edge: Spawned, scavenges: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const ping = () => new Promise<void>((resolve, reject) => httpGet({ host: '127.0.0.1', port: edge.port, path: '/v2/', agent }, (res) => res.resume().on('end', resolve)).on('error', reject));
  try {
    for (let round = 0; round < 200 && helperTimes(edge).length < scavenges; round++) await Promise.all(Array.from({ length: 200 }, ping));
  } finally {
    agent.destroy();
  }
}

describe('scavenges of a serving process (the built binary; run "npm run build" first)', () => {
  const dir = scratch('registry-edge-scavenge-');
  let edge: Spawned | undefined;
  afterEach(async () => {
    await edge?.stop();
    edge = undefined;
  });
  afterAll(() => dir.cleanup());

  const config = () => writeConfig(`${dir.path}/config.yaml`, { origin: { url: 'https://origin.example' }, log: { level: 'warn' } });

  it('run without helper threads', async () => {
    edge = await spawnServe(['--config', config()], {}, ['--trace-gc-nvp']);
    await driveScavenges(edge, 12);
    const helpers = helperTimes(edge);
    expect(helpers.length).toBeGreaterThanOrEqual(12);
    expect(helpers.filter((ms) => ms > 0)).toEqual([]);
  }, 60_000);

  it('keep the helpers when node was told --parallel-scavenge', async () => {
    edge = await spawnServe(['--config', config()], {}, ['--trace-gc-nvp', '--parallel-scavenge']);
    await driveScavenges(edge, 12);
    expect(helperTimes(edge).filter((ms) => ms > 0).length).toBeGreaterThan(0);
  }, 60_000);
});
