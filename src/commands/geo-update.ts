import { resolve } from 'node:path';
import { loadConfig } from '../config/load.js';
import { isOutputFolderError, updateGeoData, type UpdateGeoResult } from '../geo/pipeline.js';
import type { Io } from './common.js';
import { dataDir } from '../paths.js';

export interface GeoUpdateOptions {
  from?: string | undefined;
  out?: string | undefined;
  /** The configuration whose `geo.ranges` is written (else REGISTRY_EDGE_CONFIG, else the embedded default). */
  config?: string | undefined;
}

/** sysexits EX_CANTCREAT: an output file cannot be created. */
export const EXIT_CANNOT_CREATE = 73;

/**
 * Where `geo update` writes: `--out` (relative to the working folder, like any argument), else
 * the `geo.ranges` of the effective configuration, exactly the file `serve` with the same
 * configuration and environment reads. Without a configuration that is the data folder
 * (src/paths.ts), whichever folder either command is started from.
 */
export async function geoUpdateTarget(options: GeoUpdateOptions, env: NodeJS.ProcessEnv): Promise<string> {
  if (options.out !== undefined) return resolve(options.out);
  // The loader has already made geo.ranges absolute (against the config file's folder, or the data folder).
  return (await loadConfig(options.config, env)).config.geo.ranges;
}

export interface UpdateReport {
  code: number;
  stdout: string[];
  stderr: string[];
}

/** What the update changed, file by file, told as it is (pure, so every outcome is tested). */
export function describeUpdate(result: UpdateGeoResult): UpdateReport {
  const stdout = Object.entries(result.counts).map(([provider, count]) => `${provider}: ${count} prefixes`);
  const files: Array<{ path: string; written: boolean; upToDate: boolean }> = [{ path: result.out, written: result.written, upToDate: false }];
  if (result.locations) files.push({ path: result.locations.out, written: result.locations.written, upToDate: result.locations.upToDate === true });
  if (result.failed.length === 0) {
    for (const file of files) stdout.push(file.written ? `wrote ${file.path}` : `kept ${file.path}${file.upToDate ? ' (up to date)' : ''}`);
    return { code: 0, stdout, stderr: [] };
  }
  const reasons = result.failed.map((item) => `${item} (${result.errors[item] ?? 'unknown error'})`).join(', ');
  const changed = files.filter((file) => file.written).map((file) => `${file.path} was replaced`);
  const unchanged = files.filter((file) => !file.written).map((file) => `${file.path} was not changed`);
  return { code: 1, stdout, stderr: [`registry-edge: geo update failed for ${reasons}; ${[...changed, ...unchanged].join('; ')}`] };
}

/**
 * `registry-edge geo update`: compiles the cloud ranges MMDB (and the compact city file next
 * to it). Exit status 1 when something failed, saying exactly which files changed; 73 when the
 * folder to write into is missing, found before anything is downloaded or compiled.
 */
export async function runGeoUpdate(options: GeoUpdateOptions, io: Io): Promise<number> {
  const out = await geoUpdateTarget(options, io.env);
  let result: UpdateGeoResult;
  try {
    result = await updateGeoData({
      out,
      ...(options.from !== undefined ? { from: resolve(options.from) } : {}),
      locations: true,
      env: io.env,
      log: (level, msg, fields) => io.stderr.write(`${level}: ${msg}${fields ? ` ${JSON.stringify(fields)}` : ''}\n`),
    });
  } catch (error) {
    if (!isOutputFolderError(error)) throw error;
    io.stderr.write(`registry-edge: geo update: ${error.message}; create it first, or leave --out out to write to the data folder (${dataDir(io.env)})\n`);
    return EXIT_CANNOT_CREATE;
  }
  const report = describeUpdate(result);
  for (const line of report.stdout) io.stdout.write(`${line}\n`);
  for (const line of report.stderr) io.stderr.write(`${line}\n`);
  return report.code;
}
