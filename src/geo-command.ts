import type { Io } from './main.js';

export interface GeoUpdateOptions {
  from: string | undefined;
  out: string | undefined;
}

/** `registry-edge geo update`: compiles the cloud ranges MMDB; exit status 1 when a feed failed. */
export async function runGeoUpdate(options: GeoUpdateOptions, io: Io): Promise<number> {
  void options;
  io.stderr.write('registry-edge: geo update is not available in this build\n');
  return 1;
}
