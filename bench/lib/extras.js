// What `npm run bench` measures beside the layered scenarios, each skippable by a flag: the
// cost of TLS at the door (bench/tls.js, issue 12) and of cold signatures (bench/signing.js,
// issue 13). Each gives the report a section and its own targets; a part that fails to run
// is a warning in the report, never a failed run.
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import process from 'node:process';
import { measureTls } from '../tls.js';
import { ROOT } from './layers.js';

const SIGNING_BENCH = join(ROOT, 'bench', 'signing.js');

/** Example credentials in AWS's documented shape; the bench bucket checks no signature. */
const BENCH_AWS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };

/**
 * Writes the S3 key files S3s's signing block names (as a Kubernetes Secret mount would hold them).
 * @param {string} dir
 */
export function writeSigningFiles(dir) {
  const files = { accessKeyId: join(dir, 'aws-access-key-id'), secretAccessKey: join(dir, 'aws-secret-access-key') };
  writeFileSync(files.accessKeyId, `${BENCH_AWS.accessKeyId}\n`, { mode: 0o600 });
  writeFileSync(files.secretAccessKey, `${BENCH_AWS.secretAccessKey}\n`, { mode: 0o600 });
  return files;
}

/**
 * The cold-signature table: bench/signing.js in a child (it imports dist/ and an RSA key
 * generation of its own), with rounds scaled to the run.
 * @param {{ quick: boolean, rounds: number }} options
 * @returns {Promise<{ node: string, rounds: number, rows: { what: string, ns: number }[] }>}
 */
export async function measureColdSigning({ quick, rounds }) {
  const args = [SIGNING_BENCH, '--json', '--rounds', String(quick ? 1 : Math.max(3, rounds)), '--ops', String(quick ? 200 : 2000)];
  const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: ROOT, timeout: 120_000 });
  return JSON.parse(stdout);
}

/**
 * Runs the extra measurements the options ask for; each result or its failure lands in RESULTS.
 * @param {any} options parsed flags @param {(message: string) => void} say @param {string[]} warnings
 */
export async function runExtras(options, say, warnings) {
  /** @type {{ signing: any, tls: any }} */
  const extras = { signing: null, tls: null };
  if (options.signing) {
    say('cold signatures (bench/signing.js)');
    extras.signing = await measureColdSigning(options).catch((error) => {
      warnings.push(`cold signatures not measured: ${error instanceof Error ? error.message : String(error)}`);
      return null;
    });
  }
  if (options.tls) {
    say('TLS at the door (bench/tls.js)');
    const settings = { duration: options.durationS, rounds: options.rounds, connections: Math.min(options.connections, 20), warmupS: options.warmupS, pin: options.pin, say };
    const measured = await measureTls(settings).catch((error) => {
      warnings.push(`TLS not measured: ${error instanceof Error ? error.message : String(error)}`);
      return null;
    });
    if (measured) {
      for (const warning of measured.warnings) warnings.push(`TLS: ${warning}`);
      extras.tls = measured;
    }
  }
  return extras;
}
