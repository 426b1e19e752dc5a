// The report's sections for what signing and TLS cost, and their targets (issue 13: a warm
// signed blob redirect ≤ 1.10x the unsigned one in CPU per request, an S3 cold signature
// ≤ 30 µs median; issue 12: TLS HTTP/1.1 keep-alive ≤ 1.25x plain). Pure.

export const EXTRA_TARGETS = { signedVsUnsigned: 1.1, s3ColdSignUs: 30, tlsVsPlain: 1.25 };

/** @param {number | null | undefined} value */
function times(value) {
  return typeof value === 'number' && Number.isFinite(value) ? `${value.toFixed(2)}x` : '';
}

/**
 * Best-round CPU µs/req of registry-edge (info → file, else log off) in a scenario.
 * @param {any} results @param {string} scenarioId @param {string} tag
 * @returns {{ cpu: number, layer: string } | undefined}
 */
function edgeCpu(results, scenarioId, tag) {
  const byServer = results.scenarios.find((/** @type {any} */ s) => s.id === scenarioId)?.byServer;
  for (const layer of ['edge-info', 'edge-silent']) {
    const cpu = byServer?.[`${layer}${tag}`]?.summary?.cpuUsBest;
    if (typeof cpu === 'number' && cpu > 0) return { cpu, layer };
  }
  return undefined;
}

/** S3s ÷ S3n: the same route and bucket rule, signed and not. @param {any} results @param {string} tag */
export function signedRatio(results, tag) {
  const signed = edgeCpu(results, 'S3s', tag);
  const unsigned = edgeCpu(results, 'S3n', tag);
  if (!signed || !unsigned || signed.layer !== unsigned.layer) return undefined;
  return { ratio: signed.cpu / unsigned.cpu, signed: signed.cpu, unsigned: unsigned.cpu, layer: signed.layer };
}

/** @param {any} results */
function s3ColdSignNs(results) {
  return results.coldSigning?.rows?.find((/** @type {any} */ row) => row.what === 'cold sign: s3')?.ns;
}

/**
 * The checks these measurements support; missing inputs leave a check out.
 * @param {any} results @param {string} tag
 * @returns {{ label: string, target: string, measured: string, pass: boolean }[]}
 */
export function extraChecks(results, tag) {
  const checks = [];
  const signed = signedRatio(results, tag);
  if (signed) {
    checks.push({
      label: `S3s ÷ S3n CPU/req: warm signed ÷ unsigned blob redirect (${signed.layer}, best round)`,
      target: `≤ ${EXTRA_TARGETS.signedVsUnsigned}x`,
      measured: `${times(signed.ratio)} (${signed.signed.toFixed(1)} vs ${signed.unsigned.toFixed(1)} µs)`,
      pass: signed.ratio <= EXTRA_TARGETS.signedVsUnsigned,
    });
  }
  const cold = s3ColdSignNs(results);
  if (typeof cold === 'number') {
    checks.push({ label: 'cold S3 signature, median', target: `≤ ${EXTRA_TARGETS.s3ColdSignUs} µs`, measured: `${(cold / 1000).toFixed(2)} µs`, pass: cold / 1000 <= EXTRA_TARGETS.s3ColdSignUs });
  }
  const tls = results.tls?.cpuRatio;
  if (typeof tls === 'number') {
    // node's own TLS ÷ plain on a bare 307, from the same rounds: what no code of ours can go below.
    const floor = results.tls?.stacks?.find((/** @type {{ stack: string }} */ row) => row.stack === 'node')?.ratio;
    const reachable = reachableTlsRatio(results.tls?.stacks ?? []);
    const alone = reachable === null ? '' : `with node's TLS cost alone: ${times(reachable)}; `;
    const measured = typeof floor === 'number' ? `${times(tls)} (${alone}node:https ÷ node:http, bare 307: ${times(floor)})` : times(tls);
    checks.push({ label: 'TLS ÷ plain CPU/req, warm blob redirect, HTTP/1.1 keep-alive (bench/tls.js)', target: `≤ ${EXTRA_TARGETS.tlsVsPlain}x`, measured, pass: tls <= EXTRA_TARGETS.tlsVsPlain });
  }
  return checks;
}

/**
 * The lowest TLS ÷ plain the measured server can reach on node: its plain CPU per request plus
 * what TLS costs node's bare 307 (TLS − plain of the `node` row), over its plain CPU. Null
 * without both rows. Pure.
 * @param {Array<{ stack: string, plainCpu?: number | null, extraUs?: number | null }>} stacks the measured server first
 */
export function reachableTlsRatio(stacks) {
  const plain = stacks[0]?.plainCpu;
  const nodeExtra = stacks.find((row) => row.stack === 'node')?.extraUs;
  if (typeof plain !== 'number' || plain <= 0 || typeof nodeExtra !== 'number' || stacks[0]?.stack === 'node') return null;
  return (plain + nodeExtra) / plain;
}

/** Markdown sections for signing and TLS. @param {any} results @returns {string[]} */
export function extraLines(results) {
  const lines = [];
  if (results.coldSigning?.rows?.length) {
    lines.push('', `### Signing (bench/signing.js: median per operation, ${results.coldSigning.rounds} round(s))`, '');
    lines.push('| operation | median per op |', '| --- | ---: |');
    for (const row of results.coldSigning.rows) lines.push(`| ${row.what} | ${row.ns >= 1000 ? `${(row.ns / 1000).toFixed(2)} µs` : `${Math.round(row.ns)} ns`} |`);
  }
  if (results.tls?.lines?.length) {
    lines.push('', `### TLS at the door (bench/tls.js: ${results.tls.server ?? 'registry-edge'}, plain and with listen.tls)`, '', ...results.tls.lines);
  }
  return lines;
}
