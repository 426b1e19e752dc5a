/**
 * Reading a configuration: the file (or the embedded default), YAML, archeio's environment
 * overrides, then the schema. Relative paths in a file belong to that file's folder, so the
 * same file means the same thing from any working directory; the embedded default's are
 * relative to `config/`.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { LineCounter, YAMLError } from 'yaml';
import { embeddedConfigPath } from '../paths.js';
import { storedDocument } from './embedded.js';
import { applyEnv } from './env.js';
import { loadSigners, type BucketSigners } from './signers.js';
import { ConfigError } from './errors.js';
import type { Config } from './types.js';
import { validateConfig } from './validate.js';
import { NOT_PLAIN, parsePlainYaml } from './plain-yaml.js';

export { ConfigError } from './errors.js';
export { applyEnv, ENV_OVERRIDES } from './env.js';
export { checkHosts } from './hosts.js';
export { loadSigners, NO_SIGNERS, type BucketSigners } from './signers.js';
export { parseDuration } from './fields.js';
export { validateConfig, type ValidateOptions } from './validate.js';

export const EMBEDDED_SOURCE = 'embedded default (config/registry-k8s-io.yaml)';

export interface LoadedConfig {
  config: Config;
  /** Where it came from: a file path, or the embedded default. */
  source: string;
  /** Signers of the private buckets, read with the file; absent means "load them from `config`". */
  signers?: BucketSigners;
}

/**
 * One YAML error as a problem: position and reason, then the line it is on (and the one
 * before, for errors found at the start of a line) with a caret under the spot.
 */
function yamlProblem(error: YAMLError, lines: readonly string[], counter: LineCounter): string {
  const { line, col } = counter.linePos(error.pos[0]);
  const width = String(line).length;
  const frame = (n: number) => `      ${String(n).padStart(width)} | ${lines[n - 1] ?? ''}`.trimEnd();
  // Keep tabs in the caret line so it lines up under tab-indented text.
  const pad = (lines[line - 1] ?? '').slice(0, col - 1).replace(/[^\t]/g, ' ');
  const context = line > 1 && col === 1 ? [frame(line - 1)] : [];
  return [
    `not valid YAML at line ${line}, column ${col}: ${error.message}`,
    ...context,
    frame(line),
    `      ${' '.repeat(width)} | ${pad}^`,
  ].join('\n');
}

/**
 * The YAML document as plain data; rejects with a ConfigError listing every syntax error.
 * The `yaml` package is loaded only for text the plain reader leaves to it: parsing and
 * starting its code was ~14 ms of every start-up (issue 20), and the embedded default and
 * most configuration files never need it.
 */
export async function parseYamlText(text: string, source: string): Promise<unknown> {
  const plain = parsePlainYaml(text);
  if (plain !== NOT_PLAIN) return plain;
  const { LineCounter, parseDocument } = await import('yaml');
  const counter = new LineCounter();
  const document = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  if (document.errors.length > 0) {
    const lines = text.split(/\r?\n/);
    throw new ConfigError(document.errors.map((error) => yamlProblem(error, lines, counter)), source);
  }
  try {
    return document.toJS({ maxAliasCount: 100 });
  } catch (error) {
    // Unresolvable or too many aliases: reported by the conversion, without a position.
    throw new ConfigError([`not valid YAML: ${(error as Error).message}`], source);
  }
}

/**
 * Reads, merges environment overrides, validates; throws ConfigError naming every bad field.
 * No file (and no REGISTRY_EDGE_CONFIG) means the embedded registry.k8s.io default.
 */
export async function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  const named = file ?? (env.REGISTRY_EDGE_CONFIG || undefined);
  const path = named === undefined ? embeddedConfigPath() : resolve(named);
  const source = named ?? EMBEDDED_SOURCE;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError([`cannot read ${path}: ${(error as Error).message}`], source);
  }
  const parsed = (named === undefined ? storedDocument(text) : undefined) ?? (await parseYamlText(text, source));
  const doc = applyEnv(parsed, env);
  const config = validateConfig(doc, source, { folder: dirname(path), env });
  return { config, source, signers: loadSigners(config, source, env) };
}
