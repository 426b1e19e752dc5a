import type { Writable } from 'node:stream';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import type { Service } from '../lifecycle/lifecycle.js';

export interface Io {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

/** Exit codes, after sysexits: usage 64, bad config 78; a start-up failure (a port in use, a data file) is 1. */
export const EXIT_USAGE = 64;
export const EXIT_CONFIG = 78;
export const EXIT_STARTUP = 1;

export class UsageError extends Error {}

export type CommandResult = { code: number } | { serving: Service };

/** `--help` or `-h` anywhere among a command's arguments. */
export function wantsHelp(args: readonly string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}

/** Prints one command's part of the help; the exit status of asking for help. */
export function printUsage(io: Io, usage: string): number {
  io.stdout.write(`Usage:\n${usage}`);
  return 0;
}

export function readConfigFile(file: string | undefined, io: Io): Promise<LoadedConfig> {
  return loadConfig(file, io.env);
}

/** A TCP port given on the command line, 0 included. */
export function portOption(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new UsageError(`${name}: expected 0-65535, got ${JSON.stringify(text)}`);
  return Number(text);
}
