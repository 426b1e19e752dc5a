import type { PullFields } from './pull-event.js';
import { PULL_EVENT_SCHEMA } from './pull-event.js';

/** What the request line says about one answered request. */
export interface RequestLineFacts {
  method: string;
  kind: string;
  status: number;
  target: string;
  provider: string | undefined;
  region: string | undefined;
  reason: string | undefined;
  /** The host of the origin (primary or replica) a redirect to an origin chose. */
  origin: string | undefined;
  clientIp: string | undefined;
  /** Of requestIdOf's characters only (none of them needs a JSON escape), so it is written as it is. */
  requestId: string;
  durationMs: number;
}

/** Characters a JSON string may hold unescaped, ASCII only so a line's length is its byte count. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
/** Past this, `\u` escapes: JSON.stringify leaves other characters as they are. */
const NOT_ASCII = /[\u007f-\uffff]/g;

/** A JSON string literal; the common case (plain ASCII) is one regex test and a concatenation. */
export function jsonText(value: string): string {
  if (PLAIN.test(value)) return `"${value}"`;
  return JSON.stringify(value).replace(NOT_ASCII, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A value the classifier has already held to the distribution-spec grammar (a repository, a tag or digest): no escape to look for. */
const plainText = (value: string): string => `"${value}"`;

/**
 * `,"name":<value as JSON>` for the value this field had on the previous line. Consecutive lines
 * mostly repeat a field's value (one method, one origin host, one cloud region, a pulling
 * client's user agent), and most of those are the very same string, so a line usually costs one
 * comparison per field instead of a regex test and two concatenations.
 */
class FieldText {
  private last: string | undefined = undefined;
  private text = '';

  constructor(
    private readonly opening: string,
    private readonly render: (value: string) => string = jsonText,
  ) {}

  of(value: string): string {
    if (value !== this.last) {
      this.text = `${this.opening}${this.render(value)}`;
      this.last = value;
    }
    return this.text;
  }

  optional(value: string | undefined): string {
    return value === undefined ? '' : this.of(value);
  }
}

const METHOD = new FieldText(',"method":');
const TARGET = new FieldText(',"target":');
const BUCKET = new FieldText(',"bucket":');
const PROVIDER = new FieldText(',"provider":');
const REGION = new FieldText(',"region":');
const ORIGIN = new FieldText(',"origin":');
const REASON = new FieldText(',"reason":');
const CLIENT_IP = new FieldText(',"client_ip":');
const BACKEND = new FieldText(',"backend":');
const USER_AGENT = new FieldText(',"user_agent":');
const REPOSITORY = new FieldText(',"repository":', plainText);
const REFERENCE = new FieldText(',"reference":', plainText);

/** The line's opening up to its pid: the same for every line of one millisecond at one level. */
class LineHead {
  private time = -1;
  private pid = -1;
  private level = '';
  private text = '';

  of(level: string, time: number, pid: number): string {
    if (time !== this.time || pid !== this.pid || level !== this.level) {
      this.text = `{"level":"${level}","time":${time},"pid":${pid}`;
      this.time = time;
      this.pid = pid;
      this.level = level;
    }
    return this.text;
  }
}

const HEAD = new LineHead();

/**
 * The line from its method to its client address, with the values it was made of. Consecutive
 * lines mostly share all nine (a pull's layers, a health check, one client's manifests): one
 * comparison each then replaces a dozen concatenations, and the line has fewer parts to flatten
 * when the sink copies it out.
 */
class LineMiddle {
  private method = '';
  private kind = '';
  private status = -1;
  private target = '';
  private provider: string | undefined = undefined;
  private region: string | undefined = undefined;
  private reason: string | undefined = undefined;
  private origin: string | undefined = undefined;
  private clientIp: string | undefined = undefined;
  private text = '';

  of(facts: RequestLineFacts, provider: string | undefined, region: string | undefined): string {
    if (
      facts.method !== this.method || facts.kind !== this.kind || facts.status !== this.status || facts.target !== this.target || provider !== this.provider ||
      region !== this.region || facts.reason !== this.reason || facts.origin !== this.origin || facts.clientIp !== this.clientIp
    ) {
      this.method = facts.method;
      this.kind = facts.kind;
      this.status = facts.status;
      this.target = facts.target;
      this.provider = provider;
      this.region = region;
      this.reason = facts.reason;
      this.origin = facts.origin;
      this.clientIp = facts.clientIp;
      this.text = middleText(facts, provider, region);
    }
    return this.text;
  }
}

function middleText(facts: RequestLineFacts, provider: string | undefined, region: string | undefined): string {
  const bucket = facts.kind === 'blob' && facts.target !== 'origin' && facts.target !== 'none' ? BUCKET.of(facts.target) : '';
  return (
    `${METHOD.of(facts.method)},"route":"${facts.kind}","status":${facts.status}${TARGET.of(facts.target)}${bucket}${PROVIDER.optional(provider)}` +
    `${REGION.optional(region)}${REASON.optional(facts.reason)}${ORIGIN.optional(facts.origin)}${CLIENT_IP.optional(facts.clientIp)}`
  );
}

const MIDDLE = new LineMiddle();

/**
 * `.mmm` for each count of microseconds past a whole millisecond, trailing zeros dropped (and
 * nothing for 0), so `millis` writes what `String(Math.round(ms * 1000) / 1000)` writes without
 * the double-to-text conversion, which was a third of the line's cost.
 */
const FRACTIONS = Array.from({ length: 1000 }, (_, us) => (us === 0 ? '' : `.${String(us).padStart(3, '0').replace(/0+$/, '')}`));

/** A duration in milliseconds, rounded to the microsecond, as JSON writes the rounded number. */
export function millis(durationMs: number): string {
  const us = Math.round(durationMs * 1000);
  // Past 2^31 µs (35 minutes) the integer split below would overflow; no answer waits that long, but stay exact.
  if (!(us >= 0 && us < 2 ** 31)) return String(us / 1000);
  const whole = (us / 1000) | 0;
  return `${whole}${FRACTIONS[us - whole * 1000] as string}`;
}

const eventOpening = (kind: string): string => `,"event":"pull","schema":${PULL_EVENT_SCHEMA},"kind":"${kind}"`;
/** The event's constant opening for the kinds that have events, made once. */
const MANIFEST_OPENING = eventOpening('manifest');
const BLOB_OPENING = eventOpening('blob');

/**
 * The event's own fields. Repository and reference are written as they are: the classifier let
 * the request through only when both match the distribution-spec grammar (lower-case names,
 * `[A-Za-z0-9._-]` tags, hex digests), none of whose characters needs a JSON escape.
 */
function eventText(kind: string, target: string, event: PullFields): string {
  const repository = event.repository === undefined ? '' : REPOSITORY.of(event.repository);
  const agent = event.userAgent === undefined ? ',"user_agent":null' : USER_AGENT.of(event.userAgent);
  const opening = kind === 'manifest' ? MANIFEST_OPENING : kind === 'blob' ? BLOB_OPENING : eventOpening(kind);
  return `${opening}${repository}${REFERENCE.of(event.reference)}${BACKEND.of(target)}${agent}`;
}

/**
 * The `request` line, the same JSON pino would write for these fields, built as one string:
 * it is written once per request, and pino's generic serialisation was most of its cost.
 */
export function requestLine(time: number, pid: number, facts: RequestLineFacts, event: PullFields | undefined): string {
  const head = HEAD.of(facts.status >= 500 ? 'error' : 'info', time, pid);
  // An event always names the client's cloud and region ("none" when not in one); a plain request line only when known.
  const middle = MIDDLE.of(facts, event === undefined ? facts.provider : event.provider, event === undefined ? facts.region : event.region);
  return (
    `${head}${middle},"request_id":"${facts.requestId}"` +
    `,"ms":${millis(facts.durationMs)}${event === undefined ? '' : eventText(facts.kind, facts.target, event)},"msg":"request"}\n`
  );
}
