// Self cost per function from a callgrind profile, and which part of a node process each
// function belongs to. node links OpenSSL, llhttp and libuv statically, without debug info, so
// the part is told by the symbol: plain C names in the node binary are OpenSSL's (llhttp and
// libuv go by prefix), C++ names by namespace, JIT code has no name at all.
import { execFileSync } from 'node:child_process';

export const CATEGORIES = [
  'OpenSSL',
  'libc (malloc, free, memcpy, strcmp)',
  'node C++: TLS and stream wraps',
  'node C++: other (callbacks, async hooks, http parser)',
  'V8 C++: runtime and API',
  'V8 builtins',
  'JavaScript (JIT code)',
  'V8 GC and compiler',
  'llhttp, libuv, other libraries',
];

const TLS_AND_STREAMS = /node::crypto|TLSWrap|NodeBIO|node::(StreamBase|StreamResource|LibuvStreamWrap|WriteWrap|StreamReq|ReportWritesToJSStreamListener|EmitToJSStreamListener|CustomBufferJSListener|SimpleWriteWrap)/;
const GC_AND_COMPILER = /v8::internal::(Heap|Scaveng|Mark|Sweep|Concurrent|MemoryAllocator|IterateObjectCache|RootScavengeVisitor|Evacuat)|Scavenger|heap::|compiler::|maglev::|turboshaft::|interpreter::|Compile/;

/**
 * The category of a callgrind_annotate function entry ("file:function [object]"). Pure.
 * @param {string} entry
 */
export function categoryOf(entry) {
  const object = entry.slice(entry.lastIndexOf('[') + 1);
  const name = entry.slice(0, entry.lastIndexOf(' [')).replace(/^[^:]*:/, '');
  if (object.includes('libc.so') || object.includes('libstdc++')) return CATEGORIES[1];
  if (name.startsWith('0x')) return CATEGORIES[6];
  if (name.startsWith('Builtins_')) return CATEGORIES[5];
  if (/^(llhttp|uv_|uv__)/.test(name) || !/node/.test(object)) return CATEGORIES[8];
  if (!name.includes('::') && !name.includes('(')) return CATEGORIES[0];
  if (TLS_AND_STREAMS.test(name)) return CATEGORIES[2];
  if (GC_AND_COMPILER.test(name)) return CATEGORIES[7];
  if (name.startsWith('node::')) return CATEGORIES[3];
  return CATEGORIES[4];
}

/**
 * Self instructions per request of every function in a callgrind profile.
 * @param {string} file the callgrind output @param {number} requests counted while it recorded
 * @returns {Map<string, number>}
 */
export function selfCosts(file, requests) {
  const text = execFileSync('callgrind_annotate', ['--inclusive=no', '--threshold=100', file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const costs = new Map();
  for (const line of text.split('\n')) {
    const match = /^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.+)$/.exec(line);
    if (match === null || line.includes('PROGRAM TOTALS')) continue;
    const [, count = '0', entry = ''] = match;
    costs.set(entry, (costs.get(entry) ?? 0) + Number(count.replaceAll(',', '')) / requests);
  }
  return costs;
}
