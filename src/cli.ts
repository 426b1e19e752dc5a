#!/usr/bin/env node
// The process edge: argv, exit codes and signals. The commands live in commands/, dispatched by main.ts.
import module from 'node:module';

// Node 22.1 and later keep compiled code between runs (in the OS temp folder), which shortens
// every start after the first; node 20 has no such cache. Enabled before the rest is imported,
// so the modules below are compiled through it.
(module as { enableCompileCache?: () => unknown }).enableCompileCache?.();
const { run } = await import('./main.js');
const { flushLogger } = await import('./log.js');

// process.stdout and process.stderr are made on first use (for a pipe, a socket: a few ms of
// start-up); serve writes its lines to fd 1 itself and touches neither unless it must report.
const io = {
  get stdout() {
    return process.stdout;
  },
  get stderr() {
    return process.stderr;
  },
  env: process.env,
};
const result = await run(process.argv.slice(2), io);
if ('code' in result) {
  process.exitCode = result.code;
} else {
  const { serving } = result;
  const stop = (signal: NodeJS.Signals): void => {
    serving.logger.info({ signal }, 'signal received');
    void serving.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  // The outcome is logged by the reload itself; a failed reload keeps serving the old state.
  process.on('SIGHUP', () => {
    serving.logger.info({ signal: 'SIGHUP' }, 'signal received');
    void serving.reload('SIGHUP');
  });
  process.on('uncaughtException', (error) => {
    serving.logger.fatal({ err: error }, 'uncaught exception');
    flushLogger(serving.logger);
    process.exit(70);
  });
}
