// Where a server's CPU went, from a V8 .cpuprofile (`node --cpu-prof`): self time attributed
// by package (node internals, hono, @hono/node-server, pino, maxmind, ...) and, for our own
// code, by module (dist/src/<folder>/<file>). Pure: the caller reads the file.

/**
 * @typedef {{ functionName: string, url: string, lineNumber: number, columnNumber: number }} CallFrame
 * @typedef {{ id: number, callFrame: CallFrame, children?: number[] }} ProfileNode
 * @typedef {{ nodes: ProfileNode[], startTime: number, endTime: number, samples: number[], timeDeltas: number[] }} CpuProfile
 * @typedef {{ package: string, module: string | undefined }} Place
 */

/** Entries V8 itself reports, not code: kept apart so a share of "our code" is honest. */
const VM_ENTRIES = /** @type {Record<string, string>} */ ({
  '(garbage collector)': 'GC',
  '(program)': 'V8 / native (program)',
  '(idle)': 'idle',
  '(root)': 'V8 / native (program)',
});

export const OUR_PACKAGE = 'registry-edge';
/** node work with no package on the stack above it: the event loop, the HTTP parser, deferred socket writes. */
export const NO_CALLER = '(no package above: event loop, HTTP parser, deferred writes)';

/**
 * Where a script URL belongs: `node` for node's own JavaScript, the package under the last
 * node_modules folder, registry-edge for the build output (with its module path), `bench`
 * for the bench's own servers, else `other`. Returns undefined for an empty URL (a native
 * frame: its caller decides).
 * @param {string} url
 * @returns {Place | undefined}
 */
export function placeOfUrl(url) {
  if (!url) return undefined;
  if (url.startsWith('node:')) return { package: 'node', module: undefined };
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const parts = path.slice(modules + '/node_modules/'.length).split('/');
    const name = parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1] ?? ''}` : (parts[0] ?? '');
    return { package: name, module: undefined };
  }
  for (const marker of ['/dist/src/', '/dist/geo/']) {
    const at = path.lastIndexOf(marker);
    if (at >= 0) return { package: OUR_PACKAGE, module: path.slice(at + 1) };
  }
  if (path.includes('/bench/')) return { package: 'bench', module: undefined };
  // Internal modules of older node versions had bare names such as `internal/http.js`.
  if (!path.startsWith('/') && !path.includes(':')) return { package: 'node', module: undefined };
  return { package: 'other', module: undefined };
}

/**
 * Self time per profile node in µs, from the samples whose timestamp lies in [fromUs, toUs]
 * (V8's monotonic clock, the same as process.hrtime on Linux). Each sample stands for the
 * time until the next one.
 * @param {CpuProfile} profile @param {{ fromUs?: number, toUs?: number }} [window]
 */
export function selfTimes(profile, window = {}) {
  const from = window.fromUs ?? -Infinity;
  const to = window.toUs ?? Infinity;
  /** @type {Map<number, number>} */
  const self = new Map();
  let time = profile.startTime;
  const { samples, timeDeltas } = profile;
  let counted = 0;
  for (let i = 0; i < samples.length; i += 1) {
    time += timeDeltas[i] ?? 0;
    if (time < from || time > to) continue;
    const next = timeDeltas[i + 1] ?? 0;
    const id = /** @type {number} */ (samples[i]);
    self.set(id, (self.get(id) ?? 0) + next);
    counted += 1;
  }
  return { self, samples: counted };
}

/**
 * @param {Map<string, { us: number, package?: string }>} map @param {number} busyUs @param {number} limit
 */
function ranked(map, busyUs, limit) {
  return [...map.entries()]
    .map(([name, entry]) => ({ name, us: entry.us, share: busyUs > 0 ? entry.us / busyUs : 0, ...(entry.package ? { package: entry.package } : {}) }))
    .sort((a, b) => b.us - a.us || a.name.localeCompare(b.name))
    .slice(0, limit);
}

/** @param {Map<string, { us: number, package?: string }>} map @param {string} key @param {number} us @param {string} [pkg] */
function add(map, key, us, pkg) {
  const entry = map.get(key);
  if (entry) entry.us += us;
  else map.set(key, pkg === undefined ? { us } : { us, package: pkg });
}

/**
 * Self time by package, by registry-edge module and by function. Native frames (no URL,
 * e.g. a socket write's C++ side) count for the package of their nearest JavaScript caller;
 * GC and V8's "(program)" stay apart; idle time is left out of every share. nodeByCaller
 * splits node's own share by the nearest other package on the stack, so that e.g. the file
 * write behind a log line shows up under the logger that asked for it.
 * @param {CpuProfile} profile @param {{ fromUs?: number, toUs?: number, top?: number }} [options]
 */
export function attributeProfile(profile, options = {}) {
  const top = options.top ?? 12;
  /** @type {Map<number, ProfileNode>} */
  const byId = new Map();
  /** @type {Map<number, number>} */
  const parentOf = new Map();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  }
  /** @type {Map<number, Place>} */
  const placeCache = new Map();
  /** @param {number} id @returns {Place} */
  const placeOf = (id) => {
    const cached = placeCache.get(id);
    if (cached) return cached;
    const node = byId.get(id);
    const frame = node?.callFrame;
    const vm = frame && !frame.url ? VM_ENTRIES[frame.functionName] : undefined;
    /** @type {Place} */
    let place;
    if (vm) place = { package: vm, module: undefined };
    else {
      const own = frame ? placeOfUrl(frame.url) : undefined;
      const parent = parentOf.get(id);
      place = own ?? (parent === undefined ? { package: 'V8 / native (program)', module: undefined } : placeOf(parent));
    }
    placeCache.set(id, place);
    return place;
  };

  /** @type {Map<number, string>} */
  const callerCache = new Map();
  /**
   * The nearest package above a node-internals frame that is not node itself: whose request
   * made node do that work (the response write, the log write, ...).
   * @param {number} id @returns {string}
   */
  const callerOf = (id) => {
    const cached = callerCache.get(id);
    if (cached !== undefined) return cached;
    const parent = parentOf.get(id);
    let caller = NO_CALLER;
    if (parent !== undefined) {
      const above = placeOf(parent).package;
      caller = above === 'node' || above.startsWith('V8') ? callerOf(parent) : above;
    }
    callerCache.set(id, caller);
    return caller;
  };

  const { self, samples } = selfTimes(profile, options);
  /** @type {Map<string, { us: number }>} */
  const packages = new Map();
  /** @type {Map<string, { us: number }>} */
  const modules = new Map();
  /** @type {Map<string, { us: number, package: string }>} */
  const functions = new Map();
  /** @type {Map<string, { us: number }>} */
  const nodeCallers = new Map();
  let idleUs = 0;
  let busyUs = 0;
  for (const [id, us] of self) {
    const place = placeOf(id);
    if (place.package === 'idle') {
      idleUs += us;
      continue;
    }
    busyUs += us;
    add(packages, place.package, us);
    if (place.module) add(modules, place.module, us);
    if (place.package === 'node') add(nodeCallers, callerOf(id), us);
    const frame = byId.get(id)?.callFrame;
    const name = frame?.functionName || '(anonymous)';
    const where = frame?.url ? `${shortUrl(frame.url)}:${(frame.lineNumber ?? 0) + 1}` : '(native)';
    add(functions, `${name} ${where}`, us, place.package);
  }
  return {
    samples,
    busyUs,
    idleUs,
    byPackage: ranked(packages, busyUs, Infinity),
    byModule: ranked(modules, busyUs, top),
    byFunction: ranked(functions, busyUs, top),
    nodeByCaller: ranked(nodeCallers, busyUs, Infinity),
  };
}

/** A script URL short enough for a table cell. @param {string} url */
export function shortUrl(url) {
  const place = placeOfUrl(url);
  if (place?.module) return place.module;
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) return path.slice(modules + '/node_modules/'.length);
  if (path.includes('/bench/')) return path.slice(path.lastIndexOf('/bench/') + 1);
  return path;
}
