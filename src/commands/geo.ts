import { parseArgs } from 'node:util';
import { printUsage, UsageError, wantsHelp, type Io } from './common.js';

export const usage = `  registry-edge geo update [--from DIR] [--out FILE] [--config FILE]
      Download (or read from DIR) the cloud providers' IP range feeds and compile the MMDB
      where serve reads it: --out, else geo.ranges of the effective configuration (by default
      the data folder, $REGISTRY_EDGE_DATA_DIR or data/ in the package).
`;

export async function geoCommand(args: string[], io: Io): Promise<number> {
  if (wantsHelp(args)) return printUsage(io, usage);
  const [sub, ...rest] = args;
  if (sub !== 'update') throw new UsageError('usage: registry-edge geo update [--from DIR] [--out FILE] [--config FILE]');
  const { values } = parseArgs({ args: rest, options: { from: { type: 'string' }, out: { type: 'string' }, config: { type: 'string' } }, strict: true });
  const { runGeoUpdate } = await import('./geo-update.js');
  return runGeoUpdate({ from: values.from, out: values.out, config: values.config }, io);
}
