/** A configuration that cannot run; `problems` name each bad field and its value. */
export class ConfigError extends Error {
  constructor(readonly problems: string[], source: string) {
    // One problem stays on one line, like every other start-up error; several are listed.
    super(
      problems.length === 1
        ? `invalid configuration (${source}): ${problems[0]}`
        : `invalid configuration (${source}):\n  - ${problems.join('\n  - ')}`,
    );
    this.name = 'ConfigError';
  }
}

/** A value as the user wrote it, short enough for one line of a message. */
export function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 80)}...` : text;
}
