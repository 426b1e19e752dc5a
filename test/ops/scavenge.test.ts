import { Agent, get as httpGet } from 'node:http';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parallelScavengeChosen } from '../../src/ops/scavenge.js';
import { spawnServe, type Spawned } from '../support/cli.js';
import { scratch, writeConfig } from '../support/serve.js';

// issue 20: scavenges run on the main thread alone once `serve` runs, unless the operator gave
// node the flag either way; checked from V8's own per-collection trace (--trace-gc-nvp).

describe('parallelScavengeChosen', () => {
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
    expect(parallelScavengeChosen(execArgv, nodeOptions)).toBe(chosen);
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
