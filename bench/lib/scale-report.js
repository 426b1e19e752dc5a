// The scaling family's tables (bench/scale.js), for its own output and the `npm run bench` report. Pure.

/** @param {number | null | undefined} value @param {number} [digits] */
const fixed = (value, digits = 1) => (typeof value === 'number' ? value.toFixed(digits) : '–');

/** @param {any} scale */
export function renderScaleMarkdown(scale) {
  const lines = ['', '### Scaling (issue 19): a warm networks-rule blob redirect as the configuration grows', ''];
  lines.push(`Rounds: ${scale.settings.rounds} × ${scale.settings.durationS} s at ${scale.settings.connections} connections per case, alternating; CPU is the best round.`, '');
  lines.push('| case | networks | buckets | CPU µs/req | vs 1 network | p99 ms | req/s | start-up ms | RSS MiB |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const c of scale.cases) {
    lines.push(`| ${c.id}${c.wrong ? ' (**wrong answer**)' : ''} | ${c.networks} | ${c.buckets} | ${fixed(c.cpuUsBest)} | ${fixed(c.ratio, 2)}x | ${fixed(c.p99Ms, 2)} | ${fixed(c.rps, 0)} | ${fixed(c.startupMs, 0)} | ${fixed(c.rssKb / 1024, 0)} |`);
  }
  const t = scale.table;
  lines.push('', `Largest (${scale.largest.id}): start-up ${fixed(scale.largest.startupMs, 0)} ms, reload ${fixed(scale.largest.reloadMs, 0)} ms (median of 3 POST /reload; target < 1 s each).`);
  lines.push(`Memory per network: ${fixed(scale.rssPerNetworkBytes, 0)} bytes of RSS (n10000-b10 against n1-b10, the whole process); the prefix table alone: ${fixed(t.bytesPerNetwork, 1)} bytes a network (${t.groups} groups, compiled in ${fixed(t.buildMs, 1)} ms for ${t.networks}).`);
  lines.push('', '| inventory | digests | file MiB | start-up ms | RSS MiB | above none MiB | load in process ms | table MiB | lookup ns |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const none = scale.inventory.find((/** @type {any} */ i) => i.lists === 0);
  for (const i of scale.inventory) {
    const label = i.lists === 0 ? 'none' : i.lists === 1 ? 'one list (`*`)' : `${i.lists} bucket lists`;
    const above = none && i.lists ? (i.rssKb - none.rssKb) / 1024 : null;
    lines.push(`| ${label} | ${i.digests} | ${fixed(i.fileBytes / 2 ** 20)} | ${fixed(i.startupMs, 0)} | ${fixed(i.rssKb / 1024, 0)} | ${fixed(above)} | ${fixed(i.inProcess?.loadMs, 0)} | ${fixed(i.inProcess ? i.inProcess.bytes / 2 ** 20 : null)} | ${fixed(i.inProcess?.lookupNs, 0)} |`);
  }
  lines.push('', 'Targets: ≤ 1.10x CPU with 10,000 networks, start-up and reload < 1 s, 1,000,000 digests: start-up < 1 s, ≤ 64 MiB above none, lookup < 1 µs.');
  return lines;
}

