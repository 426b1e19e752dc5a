/** Secrets named by file (a Kubernetes Secret mount), read fresh at each run. */
import { readFile } from 'node:fs/promises';
import { StoreConfigError } from './types.js';

/** The file's content without the trailing newline editors and `kubectl create secret` add. */
export async function readSecretFile(path: string, field: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new StoreConfigError(`${field}: cannot read ${path}: ${(error as Error).message}`);
  }
  const value = text.replace(/\r?\n$/, '');
  if (value === '') throw new StoreConfigError(`${field}: ${path} is empty`);
  return value;
}

/** The file's content when a path is given, else undefined. */
export async function optionalSecretFile(path: string, field: string): Promise<string | undefined> {
  return path === '' ? undefined : readSecretFile(path, field);
}
