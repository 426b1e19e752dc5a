import { parseArgs } from 'node:util';
import { printUsage, UsageError, wantsHelp, type Io } from './common.js';

export const usage = `  registry-edge geo update [--from DIR] [--out FILE]
      Download (or read from DIR) the cloud providers' IP range feeds and compile the MMDB.
`;

export async function geoCommand(args: string[], io: Io): Promise<number> {
  if (wantsHelp(args)) return printUsage(io, usage);
  const [sub, ...rest] = args;
  if (sub !== 'update') throw new UsageError('usage: registry-edge geo update [--from DIR] [--out FILE]');
  const { values } = parseArgs({ args: rest, options: { from: { type: 'string' }, out: { type: 'string' } }, strict: true });
  const { runGeoUpdate } = await import('../geo-command.js');
  return runGeoUpdate({ from: values.from, out: values.out }, io);
}
