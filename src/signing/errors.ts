import type * as v from 'valibot';

/** A signing setting that cannot work. The message starts with the field, as config errors do. */
export class SigningConfigError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'SigningConfigError';
  }
}

/** `buckets[2].signing` + issue path `key_file` -> `buckets[2].signing.key_file`. */
export function issueField(at: string, issue: v.BaseIssue<unknown>): string {
  let field = at;
  for (const item of issue.path ?? []) {
    const key = item.key;
    field += typeof key === 'number' ? `[${key}]` : `.${String(key)}`;
  }
  return field;
}
