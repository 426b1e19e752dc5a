/**
 * The run time's one door to the build-time geo pipeline (top-level `geo/`): `geo update` and
 * the background refresher (geo.refresh) both come through here. The pipeline (feed parsers,
 * MMDB writer, city compaction) is loaded only when one of them runs, so a server that never
 * refreshes never loads it. A test checks that nothing else in src/ imports geo/.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { UpdateGeoResult } from '../../geo/update.js';
import { dataDir } from '../paths.js';
import type { GeoLog } from './types.js';

export type { UpdateGeoResult };

export interface GeoDataUpdate {
  /** The ranges file to write; the compact city file goes beside it. */
  out: string;
  /** Read the feeds from this folder instead of downloading them. */
  from?: string;
  /** Also refresh the compact city file (the refresher does not: its source cannot change while running). */
  locations: boolean;
  log: GeoLog;
  env?: NodeJS.ProcessEnv;
}

/** A folder that must exist and does not; nothing was read or compiled yet. */
export function isOutputFolderError(error: unknown): error is Error {
  return error instanceof Error && error.name === 'OutputFolderError';
}

/**
 * Compiles and writes the geo data files. The data folder is registry-edge's own and is created
 * on first use; any other folder (`--out`, a configured `geo.ranges`) must exist already.
 */
export async function updateGeoData(request: GeoDataUpdate): Promise<UpdateGeoResult> {
  const folder = dataDir(request.env);
  if (resolve(dirname(request.out)) === folder) await mkdir(folder, { recursive: true });
  const { updateGeo } = await import('../../geo/update.js');
  return updateGeo({
    out: request.out,
    log: request.log,
    locations: request.locations ? {} : false,
    ...(request.from !== undefined ? { from: request.from } : {}),
  });
}
