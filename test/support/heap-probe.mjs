// Preloaded into a served binary started with --expose-gc (see test/hostile/memory.test.ts):
// on SIGUSR2 it collects garbage until the heap stops shrinking and prints one JSON line with
// what is left, so a test measures retained memory only, from outside the process.
process.on('SIGUSR2', () => {
  let previous = Infinity;
  for (let i = 0; i < 6; i++) {
    globalThis.gc();
    const used = process.memoryUsage().heapUsed;
    if (used >= previous) break;
    previous = used;
  }
  const { heapUsed, rss } = process.memoryUsage();
  process.stdout.write(`${JSON.stringify({ msg: 'heap probe', heapUsed, rss })}\n`);
});
