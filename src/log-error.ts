/**
 * An `err` log field the way pino's standard serializer wrote it, so error lines keep their
 * shape: `type`, `message` and `stack` with each cause appended, then the error's other
 * enumerable fields (errors among them serialized the same way).
 */

type ErrorLike = { message: string; stack?: unknown; cause?: unknown; errors?: unknown; name?: unknown } & Record<string, unknown>;

function isErrorLike(value: unknown): value is ErrorLike {
  return typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string';
}

/** The cause of ERROR when it is error-like; a function cause (VError style) is called. */
function causeOf(error: ErrorLike): ErrorLike | undefined {
  const cause = typeof error.cause === 'function' ? (error.cause as () => unknown)() : error.cause;
  return isErrorLike(cause) ? cause : undefined;
}

/** The message, then each cause's message after `: ` (a function cause adds its own separator). */
function messageWithCauses(error: ErrorLike, seen = new Set<ErrorLike>(), skip = false): string {
  const message = skip ? '' : error.message || '';
  if (seen.has(error)) return `${message}: ...`;
  const cause = causeOf(error);
  if (cause === undefined) return message;
  seen.add(error);
  const functionCause = typeof error.cause === 'function';
  return message + (functionCause ? '' : ': ') + messageWithCauses(cause, seen, functionCause);
}

/** The stack, then `caused by: ` and each cause's stack. */
function stackWithCauses(error: ErrorLike, seen = new Set<ErrorLike>()): string {
  const stack = typeof error.stack === 'string' ? error.stack : '';
  if (seen.has(error)) return `${stack}\ncauses have become circular...`;
  const cause = causeOf(error);
  if (cause === undefined) return stack;
  seen.add(error);
  return `${stack}\ncaused by: ${stackWithCauses(cause, seen)}`;
}

function serialize(error: ErrorLike, open: Set<ErrorLike>): Record<string, unknown> {
  open.add(error);
  const constructor = (error as { constructor?: unknown }).constructor;
  const out: Record<string, unknown> = {
    type: typeof constructor === 'function' ? constructor.name : error.name,
    message: messageWithCauses(error),
    stack: stackWithCauses(error),
  };
  if (Array.isArray(error.errors)) out.aggregateErrors = error.errors.map((item: unknown) => (isErrorLike(item) ? serialize(item, open) : item));
  for (const key in error) {
    if (out[key] !== undefined) continue;
    const value = error[key];
    if (!isErrorLike(value)) out[key] = value;
    // Causes are already in the message and stack; an error being serialized is not entered again.
    else if (key !== 'cause' && !open.has(value)) out[key] = serialize(value, open);
  }
  open.delete(error);
  return out;
}

/** VALUE as pino's `err` serializer wrote it; anything that is not error-like stays as it is. */
export function serializeError(value: unknown): unknown {
  return isErrorLike(value) ? serialize(value, new Set()) : value;
}
