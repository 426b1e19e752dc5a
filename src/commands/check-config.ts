import { parseArgs } from 'node:util';
import { checkHosts } from '../config/load.js';
import { checkTlsFiles } from '../server/tls-door.js';
import { printUsage, readConfigFile, UsageError, wantsHelp, type Io } from './common.js';

export const usage = `  registry-edge check-config [FILE]
      Validate FILE (default: what serve would run, REGISTRY_EDGE_CONFIG or the embedded
      default), with environment overrides applied, and print the effective config.
`;

export async function checkConfigCommand(args: string[], io: Io): Promise<number> {
  if (wantsHelp(args)) return printUsage(io, usage);
  const { positionals } = parseArgs({ args, allowPositionals: true, strict: true });
  if (positionals.length > 1) throw new UsageError('check-config takes at most one FILE');
  const loaded = await readConfigFile(positionals[0], io);
  await checkHosts(loaded.config, loaded.source);
  checkTlsFiles(loaded.config, loaded.source);
  io.stdout.write(`${JSON.stringify(loaded.config, null, 2)}\n`);
  io.stderr.write(`${loaded.source}: valid\n`);
  return 0;
}
