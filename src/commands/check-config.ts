import { parseArgs } from 'node:util';
import { printUsage, readConfigFile, UsageError, wantsHelp, type Io } from './common.js';

export const usage = `  registry-edge check-config [FILE]
      Validate FILE (default: what serve would run, REGISTRY_EDGE_CONFIG or the embedded
      default), with environment overrides applied, and print the effective config.
`;

export function checkConfigCommand(args: string[], io: Io): number {
  if (wantsHelp(args)) return printUsage(io, usage);
  const { positionals } = parseArgs({ args, allowPositionals: true, strict: true });
  if (positionals.length > 1) throw new UsageError('check-config takes at most one FILE');
  const loaded = readConfigFile(positionals[0], io);
  // TODO(issue 23, lead): await checkHosts(loaded.config) from src/config/ (DNS checks of listen.host and admin.host) once it lands.
  io.stdout.write(`${JSON.stringify(loaded.config, null, 2)}\n`);
  io.stderr.write(`${loaded.source}: valid\n`);
  return 0;
}
