import { parseArgs } from 'node:util';
import { buildPlan, redirectHosts } from '../routing/plan.js';
import { printUsage, readConfigFile, wantsHelp, type Io } from './common.js';

export const usage = `  registry-edge hosts [--config FILE]
      Print every host a redirect may point at, one per line (for egress allow-lists).
`;

export async function hostsCommand(args: string[], io: Io): Promise<number> {
  if (wantsHelp(args)) return printUsage(io, usage);
  const { values } = parseArgs({ args, options: { config: { type: 'string' } }, strict: true });
  const loaded = await readConfigFile(values.config, io);
  io.stdout.write(`${redirectHosts(buildPlan(loaded.config)).join('\n')}\n`);
  return 0;
}
