// CPU-profile attribution of the bench (bench/lib/profile.js): a small hand-made .cpuprofile
// in, self time by package, by our module and by function out.
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

interface Frame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { id: number; callFrame: Frame; children?: number[] }
interface Profile { nodes: ProfileNode[]; startTime: number; endTime: number; samples: number[]; timeDeltas: number[] }
interface Ranked { name: string; us: number; share: number; package?: string }
interface ProfileModule {
  placeOfUrl(url: string): { package: string; module: string | undefined } | undefined;
  attributeProfile(profile: Profile, options?: { fromUs?: number; toUs?: number; top?: number }): {
    samples: number; busyUs: number; idleUs: number; byPackage: Ranked[]; byModule: Ranked[]; byFunction: Ranked[]; nodeByCaller: Ranked[];
  };
}
const ROOT = resolve(import.meta.dirname, '..', '..');
// A computed path keeps TypeScript from demanding declarations for the plain-JS bench code.
const modulePath = join(ROOT, 'bench', 'lib', 'profile.js');
const load = async (): Promise<ProfileModule> => (await import(modulePath)) as ProfileModule;

const APP = 'file:///srv/registry-edge';
const frame = (functionName: string, url: string, lineNumber = 0): Frame => ({ functionName, url, lineNumber, columnNumber: 0 });

/**
 * (root) ─┬ (idle)
 *         ├ (garbage collector)
 *         ├ (program)
 *         └ emit (node:events) ─┬ listener (@hono/node-server) ── dispatch (hono) ── handler (dist/src/server/app.js)
 *                               │                                                   ├ route (dist/src/routing/plan.js)
 *                               │                                                   └ write (pino) ── writeUtf8String (native)
 *                               └ writev (native, under node)
 */
const NODES: ProfileNode[] = [
  { id: 1, callFrame: frame('(root)', ''), children: [2, 3, 4, 5] },
  { id: 2, callFrame: frame('(idle)', '') },
  { id: 3, callFrame: frame('(garbage collector)', '') },
  { id: 4, callFrame: frame('(program)', '') },
  { id: 5, callFrame: frame('emit', 'node:events', 9), children: [6, 11] },
  { id: 6, callFrame: frame('listener', `${APP}/node_modules/@hono/node-server/dist/index.mjs`, 41), children: [7] },
  { id: 7, callFrame: frame('dispatch', `${APP}/node_modules/hono/dist/hono-base.js`, 199), children: [8] },
  { id: 8, callFrame: frame('handler', `${APP}/dist/src/server/app.js`, 150), children: [9, 10] },
  { id: 9, callFrame: frame('route', `${APP}/dist/src/routing/plan.js`, 30) },
  { id: 10, callFrame: frame('write', `${APP}/node_modules/pino/lib/proto.js`, 200), children: [12] },
  { id: 11, callFrame: frame('writev', '') },
  { id: 12, callFrame: frame('writeUtf8String', '') },
];

/** Samples (node id, µs until the next sample); the profile starts at t = 1000 µs. */
function profileOf(timeline: [number, number][]): Profile {
  const samples = timeline.map(([id]) => id);
  // timeDeltas[i] is the gap before sample i; a sample stands for the gap after it.
  const timeDeltas = [0, ...timeline.slice(0, -1).map(([, us]) => us)];
  return { nodes: NODES, startTime: 1000, endTime: 1000 + timeline.reduce((s, [, us]) => s + us, 0), samples, timeDeltas };
}

describe('bench CPU-profile attribution', () => {
  it.each([
    ['node:internal/http', 'node', undefined],
    ['node:events', 'node', undefined],
    [`${APP}/node_modules/hono/dist/hono-base.js`, 'hono', undefined],
    [`${APP}/node_modules/@hono/node-server/dist/index.mjs`, '@hono/node-server', undefined],
    [`${APP}/node_modules/pino/node_modules/sonic-boom/index.js`, 'sonic-boom', undefined],
    [`${APP}/node_modules/maxmind/lib/index.js`, 'maxmind', undefined],
    [`${APP}/dist/src/server/app.js`, 'registry-edge', 'dist/src/server/app.js'],
    [`${APP}/dist/src/cli.js`, 'registry-edge', 'dist/src/cli.js'],
    [`${APP}/dist/geo/update.js`, 'registry-edge', 'dist/geo/update.js'],
    [`${APP}/bench/lib/hono-baseline.js`, 'bench', undefined],
    ['internal/http.js', 'node', undefined],
    ['file:///elsewhere/tool.js', 'other', undefined],
  ])('puts %s under %s', async (url, pkg, module) => {
    const { placeOfUrl } = await load();
    expect(placeOfUrl(url)).toEqual({ package: pkg, module });
  });

  it('leaves an empty URL to the caller', async () => {
    const { placeOfUrl } = await load();
    expect(placeOfUrl('')).toBeUndefined();
  });

  it('attributes self time by package, module and function; native frames go to their caller, idle to nobody', async () => {
    const { attributeProfile } = await load();
    const result = attributeProfile(
      profileOf([
        [2, 500], // idle
        [5, 100], // node:events
        [6, 100], // @hono/node-server
        [7, 50], // hono
        [8, 200], // our app.js
        [9, 300], // our plan.js
        [10, 50], // pino
        [12, 150], // native under pino
        [11, 200], // native under node
        [3, 100], // GC
        [4, 50], // (program)
        [8, 0], // the last sample has no gap after it
      ]),
    );
    expect(result.samples).toBe(12);
    expect(result.idleUs).toBe(500);
    expect(result.busyUs).toBe(1300);
    expect(result.byPackage.map((p) => [p.name, p.us])).toEqual([
      ['registry-edge', 500],
      ['node', 300],
      ['pino', 200],
      ['@hono/node-server', 100],
      ['GC', 100],
      ['hono', 50],
      ['V8 / native (program)', 50],
    ]);
    expect(result.byPackage[0]?.share).toBeCloseTo(500 / 1300, 6);
    expect(result.byModule.map((m) => [m.name, m.us])).toEqual([
      ['dist/src/routing/plan.js', 300],
      ['dist/src/server/app.js', 200],
    ]);
    expect(result.byFunction[0]).toEqual({ name: 'route dist/src/routing/plan.js:31', us: 300, share: 300 / 1300, package: 'registry-edge' });
    expect(result.byFunction).toContainEqual({ name: 'writeUtf8String (native)', us: 150, share: 150 / 1300, package: 'pino' });
    expect(result.byFunction).toContainEqual({ name: 'writev (native)', us: 200, share: 200 / 1300, package: 'node' });
    // node's 300 µs: emit (100) and the writev under it (200) have no other package above them.
    expect(result.nodeByCaller.map((c) => [c.name, c.us])).toEqual([['(no package above: event loop, HTTP parser, deferred writes)', 300]]);
  });

  it('splits node\'s own time by the package that called into it', async () => {
    const { attributeProfile } = await load();
    const nodes: ProfileNode[] = [
      { id: 1, callFrame: frame('(root)', ''), children: [2] },
      { id: 2, callFrame: frame('processTicksAndRejections', 'node:internal/process/task_queues', 66), children: [3, 6] },
      { id: 3, callFrame: frame('write', `${APP}/node_modules/sonic-boom/index.js`, 300), children: [4] },
      { id: 4, callFrame: frame('write', 'node:fs', 800), children: [5] },
      { id: 5, callFrame: frame('writeString', '') },
      { id: 6, callFrame: frame('uncork', 'node:internal/streams/writable', 500) },
    ];
    const result = attributeProfile({ nodes, startTime: 0, endTime: 300, samples: [5, 4, 6, 3], timeDeltas: [0, 100, 50, 100] });
    expect(result.nodeByCaller.map((c) => [c.name, c.us])).toEqual([
      ['sonic-boom', 150],
      ['(no package above: event loop, HTTP parser, deferred writes)', 100],
    ]);
  });

  it('counts only the samples inside the measured window', async () => {
    const { attributeProfile } = await load();
    // Sample times: 1000 (start-up code), 2000, 2100 (in the window), 5000 (shutdown).
    const profile = profileOf([
      [9, 1000],
      [8, 100],
      [8, 2900],
      [5, 0],
    ]);
    const result = attributeProfile(profile, { fromUs: 1500, toUs: 4000 });
    expect(result.samples).toBe(2);
    expect(result.byPackage).toEqual([{ name: 'registry-edge', us: 3000, share: 1 }]);
    expect(result.byModule.map((m) => m.name)).toEqual(['dist/src/server/app.js']);
  });

  it('keeps only the top entries of the module and function lists', async () => {
    const { attributeProfile } = await load();
    const result = attributeProfile(profileOf([[8, 10], [9, 20], [10, 30], [7, 40], [6, 0]]), { top: 2 });
    expect(result.byFunction.map((f) => f.us)).toEqual([40, 30]);
    expect(result.byModule).toHaveLength(2);
    expect(result.byPackage).toHaveLength(4);
  });
});
