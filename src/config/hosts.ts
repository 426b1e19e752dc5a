/**
 * The one configuration check that needs the network: host names to listen on must resolve.
 * Loading stays synchronous (IP literals and the name's syntax are checked there); start-up
 * and `check-config` await this before binding, so a bad name is a ConfigError, not a crash
 * in listen().
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { ConfigError, show } from './errors.js';
import type { Config } from './types.js';

/** The listeners' host fields that are names rather than addresses (an empty admin.host is "off"). */
function namedHosts(config: Config): Array<[field: string, host: string]> {
  const hosts: Array<[string, string]> = [['listen.host', config.listen.host]];
  if (config.admin.port !== 0 && config.admin.host !== '') hosts.push(['admin.host', config.admin.host]);
  return hosts.filter(([, host]) => isIP(host) === 0);
}

async function resolveProblem(field: string, host: string): Promise<string | undefined> {
  try {
    await lookup(host);
    return undefined;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    return `${field}: expected an IP address or a host name that resolves, got ${show(host)} (${code})`;
  }
}

/** Resolves every host name the listeners use; throws ConfigError naming each one that does not. */
export async function checkHosts(config: Config, source = 'configuration'): Promise<void> {
  const found = await Promise.all(namedHosts(config).map(([field, host]) => resolveProblem(field, host)));
  const problems = found.filter((problem): problem is string => problem !== undefined);
  if (problems.length > 0) throw new ConfigError(problems, source);
}
