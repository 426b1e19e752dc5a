/**
 * The credentials sync sends to the origin: `sync.auth.username` with a password file, or the
 * `auths` entry for the origin's host in a Docker `config.json` (`sync.auth.docker_config`,
 * else `$DOCKER_CONFIG/config.json` when that variable is set); none = anonymous.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Credentials } from '../registry-client/auth.js';
import { dockerConfigCredentials } from '../registry-client/docker-config.js';
import type { SyncAuth } from './settings.js';
import { readSecretFile } from './stores/credentials.js';

export class SyncConfigError extends Error {
  override name = 'SyncConfigError';
}

export async function originCredentials(auth: SyncAuth, originUrl: string, env: NodeJS.ProcessEnv): Promise<Credentials | undefined> {
  if (auth.username !== '' || auth.password_file !== '') {
    if (auth.username === '' || auth.password_file === '') {
      throw new SyncConfigError('sync.auth: username and password_file go together');
    }
    return { username: auth.username, password: await readSecretFile(auth.password_file, 'sync.auth.password_file') };
  }
  const explicit = auth.docker_config !== '';
  const file = explicit ? auth.docker_config : env.DOCKER_CONFIG ? join(env.DOCKER_CONFIG, 'config.json') : '';
  if (file === '') return undefined;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if (!explicit) return undefined;
    throw new SyncConfigError(`sync.auth.docker_config: cannot read ${file}: ${(error as Error).message}`);
  }
  try {
    return dockerConfigCredentials(text, new URL(originUrl).host, file);
  } catch (error) {
    throw new SyncConfigError((error as Error).message);
  }
}
