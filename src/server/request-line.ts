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

const optional = (name: string, value: string | undefined): string => (value === undefined ? '' : `,"${name}":${jsonText(value)}`);

function eventText(kind: string, target: string, event: PullFields): string {
  return (
    `,"event":"pull","schema":${PULL_EVENT_SCHEMA},"kind":"${kind}"${optional('repository', event.repository)},"reference":${jsonText(event.reference)}` +
    `,"backend":${jsonText(target)},"user_agent":${event.userAgent === undefined ? 'null' : jsonText(event.userAgent)}`
  );
}

/**
 * The `request` line, the same JSON pino would write for these fields, built as one string:
 * it is written once per request, and pino's generic serialisation was most of its cost.
 */
export function requestLine(time: number, pid: number, facts: RequestLineFacts, event: PullFields | undefined): string {
  const level = facts.status >= 500 ? 'error' : 'info';
  const bucket = facts.kind === 'blob' && facts.target !== 'origin' && facts.target !== 'none' ? facts.target : undefined;
  // An event always names the client's cloud and region ("none" when not in one); a plain request line only when known.
  const provider = event === undefined ? facts.provider : event.provider;
  const region = event === undefined ? facts.region : event.region;
  return (
    `{"level":"${level}","time":${time},"pid":${pid},"method":${jsonText(facts.method)},"route":"${facts.kind}","status":${facts.status}` +
    `,"target":${jsonText(facts.target)}${optional('bucket', bucket)}${optional('provider', provider)}${optional('region', region)}` +
    `${optional('reason', facts.reason)}${optional('origin', facts.origin)}${optional('client_ip', facts.clientIp)},"request_id":"${facts.requestId}"` +
    `,"ms":${Math.round(facts.durationMs * 1000) / 1000}${event === undefined ? '' : eventText(facts.kind, facts.target, event)},"msg":"request"}\n`
  );
}
