import type { Io } from './main.js';

export interface GeoUpdateOptions {
  from: string | undefined;
  out: string | undefined;
}

export const DEFAULT_RANGES_FILE = 'geo/cloud-ranges.mmdb';

/**
 * `registry-edge geo update`: compiles the cloud ranges MMDB (and the compact city file next
 * to it). Exit status 1 when a feed failed; the previous file is then left in place.
 */
export async function runGeoUpdate(options: GeoUpdateOptions, io: Io): Promise<number> {
  const { updateGeo } = await import('../geo/update.js');
  const out = options.out ?? DEFAULT_RANGES_FILE;
  const result = await updateGeo({
    from: options.from,
    out,
    log: (level, msg, fields) => io.stderr.write(`${level}: ${msg}${fields ? ` ${JSON.stringify(fields)}` : ''}\n`),
  });
  for (const [provider, count] of Object.entries(result.counts)) io.stdout.write(`${provider}: ${count} prefixes\n`);
  if (result.failed.length > 0) {
    io.stderr.write(`registry-edge: geo update failed for ${result.failed.join(', ')}; ${out} was not changed\n`);
    return 1;
  }
  io.stdout.write(`${result.written ? 'wrote' : 'kept'} ${out}\n`);
  return 0;
}
