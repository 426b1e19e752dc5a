import { parseArgs } from 'node:util';
import { createLogger } from '../log.js';
import { buildRuntime } from '../server/build.js';
import { explain } from '../server/explain.js';
import { givenClient } from '../routing/request.js';
import { printUsage, readConfigFile, UsageError, wantsHelp, type Io } from './common.js';

export const usage = `  registry-edge explain --ip IP --path PATH [--method GET] [--config FILE]
      Print, as JSON, how a request from IP for PATH is answered and why.
`;

export async function explainCommand(args: string[], io: Io): Promise<number> {
  if (wantsHelp(args)) return printUsage(io, usage);
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string' }, ip: { type: 'string' }, path: { type: 'string' }, method: { type: 'string' } },
    strict: true,
  });
  if (values.ip === undefined || values.path === undefined) throw new UsageError('explain needs --ip IP and --path PATH');
  const client = givenClient(values.ip).result;
  if (!client.ok) throw new UsageError(`--ip ${JSON.stringify(values.ip)} is not a client address the server accepts: ${client.reason}`);
  const loaded = await readConfigFile(values.config, io);
  const rt = await buildRuntime(loaded, createLogger('warn', io.stderr));
  try {
    const result = await explain(rt, { ip: values.ip, path: values.path, method: values.method ?? 'GET' });
    io.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    await rt.close();
  }
  return 0;
}
