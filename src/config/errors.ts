/** A configuration that cannot run; `problems` name each bad field and its value. */
export class ConfigError extends Error {
  constructor(readonly problems: string[], source: string) {
    super(`invalid configuration (${source}):\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** A value as the user wrote it, short enough for one line of a message. */
export function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 80 ? `${text.slice(0, 80)}...` : text;
}
