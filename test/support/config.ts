import { ConfigError, validateConfig, type ValidateOptions } from '../../src/config/load.js';

/** The smallest valid document: everything else takes its default. */
export const MINIMAL = { origin: { url: 'https://registry.example' } };

/** The problems validateConfig reports for `doc` (none: []); any other error is rethrown. */
export function problems(doc: unknown, options: ValidateOptions = {}): string[] {
  try {
    validateConfig(doc, 'test', options);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}
