import { ConfigError } from './config/load.js';
import { StartupError } from './ops/startup.js';
import { EXIT_CONFIG, EXIT_STARTUP, EXIT_USAGE, UsageError, type CommandResult, type Io } from './commands/common.js';
import { version } from './commands/version.js';

export { EXIT_CONFIG, EXIT_USAGE, StartupError, UsageError, type CommandResult, type Io };
export type { Service } from './lifecycle/lifecycle.js';

/**
 * The help text is imported when it is shown: it quotes every command's usage, so a static
 * import would load every command (and its clients) into every process.
 */
async function help(): Promise<string> {
  return (await import('./commands/help.js')).HELP;
}

/*
 * Each command is loaded when it runs: `serve` starts without parsing the code of sync, verify
 * and their registry and cloud clients (start-up is spawn to first answer, issue 20).
 */
const COMMANDS: Record<string, (args: string[], io: Io) => Promise<CommandResult>> = {
  serve: async (args, io) => (await import('./commands/serve.js')).serveCommand(args, io),
  'check-config': async (args, io) => ({ code: await (await import('./commands/check-config.js')).checkConfigCommand(args, io) }),
  explain: async (args, io) => ({ code: await (await import('./commands/explain.js')).explainCommand(args, io) }),
  hosts: async (args, io) => ({ code: await (await import('./commands/hosts.js')).hostsCommand(args, io) }),
  geo: async (args, io) => ({ code: await (await import('./commands/geo.js')).geoCommand(args, io) }),
  healthcheck: async (args, io) => ({ code: await (await import('./commands/healthcheck.js')).healthcheckCommand(args, io) }),
  sync: async (args, io) => ({ code: await (await import('./commands/sync.js')).syncCommand(args, io) }),
  verify: async (args, io) => ({ code: await (await import('./commands/verify.js')).verifyCommand(args, io) }),
};

function dispatch(command: string | undefined, args: string[], io: Io): Promise<CommandResult> {
  const handler = command !== undefined && Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (handler !== undefined) return handler(args, io);
  switch (command) {
    case '--version':
    case 'version':
      io.stdout.write(`${version()}\n`);
      return Promise.resolve({ code: 0 });
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      return help().then((text) => {
        io.stdout.write(text);
        return { code: 0 };
      });
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

/** Runs one command line. Usage, configuration and start-up errors become exit codes with a one-line message. */
export async function run(argv: string[], io: Io): Promise<CommandResult> {
  const [command, ...args] = argv;
  try {
    return await dispatch(command, args, io);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.stderr.write(`registry-edge: ${error.message}\n`);
      return { code: EXIT_CONFIG };
    }
    if (error instanceof StartupError) {
      io.stderr.write(`registry-edge: ${error.message}\n`);
      return { code: EXIT_STARTUP };
    }
    if (error instanceof UsageError || String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`registry-edge: ${(error as Error).message}\n\n${await help()}`);
      return { code: EXIT_USAGE };
    }
    throw error;
  }
}
