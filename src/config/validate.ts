/** A parsed document to a Config, or a ConfigError listing every problem found. */
import * as v from 'valibot';
import { packageRegions } from '../geo/nearest.js';
import { ConfigError } from './errors.js';
import { configSchema } from './schema.js';
import { semanticProblems, type KnownRegions } from './semantic.js';
import type { Config } from './types.js';

export interface ValidateOptions {
  /** Relative paths in the document belong to this folder (default: the working directory). */
  folder?: string;
  /** For the data folder (`REGISTRY_EDGE_DATA_DIR`), where `geo.ranges` defaults to. */
  env?: NodeJS.ProcessEnv;
  /** Region names per provider (default: the package's geo/regions.json, read when needed). */
  regions?: KnownRegions;
}

type PathItem = { key?: unknown };

/** `buckets[2].networks[0]`, from valibot's path items. */
function fieldPath(path: readonly PathItem[] | undefined): string {
  if (path === undefined || path.length === 0) return '(top level)';
  return path
    .map(({ key }, index) => (typeof key === 'number' ? `[${key}]` : index === 0 ? String(key) : `.${String(key)}`))
    .join('');
}

const packageKnownRegions: KnownRegions = (provider) => packageRegions().get(provider);

/** Semantic problems of a parse, with a broken geo/regions.json reported as one of them. */
function crossFieldProblems(output: Config, unparsed: ReadonlySet<string>, regions: KnownRegions): string[] {
  try {
    return semanticProblems(output, unparsed, regions);
  } catch (error) {
    return [`buckets: cannot check regions: ${(error as Error).message}`];
  }
}

/** Validates a document (environment overrides already applied) into the effective Config. */
export function validateConfig(doc: unknown, source: string, options: ValidateOptions = {}): Config {
  const schema = configSchema({ folder: options.folder ?? process.cwd(), env: options.env ?? process.env });
  // abortPipeEarly: one message per field (the first thing wrong with it), every field checked.
  const result = v.safeParse(schema, doc ?? {}, { abortPipeEarly: true });
  const issues = result.issues ?? [];
  const problems = issues.map((issue) => `${fieldPath(issue.path)}: ${issue.message}`);
  const unparsed = new Set(issues.map((issue) => (issue.path?.[0]?.key as string | undefined) ?? '*'));
  // Where the schema refused a field, `output` holds something else there; the checks skip it.
  problems.push(...crossFieldProblems(result.output as Config, unparsed, options.regions ?? packageKnownRegions));
  if (problems.length > 0) throw new ConfigError(problems, source);
  return result.output as Config;
}
