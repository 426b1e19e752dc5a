/**
 * The kinds of field a configuration is made of, as valibot schemas. Each refusal message
 * says what was expected and ends with the value as written (`..., got 70000`); the loader
 * puts the field path in front.
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import * as v from 'valibot';
import { networkText, parseNetwork } from '../net/cidr.js';
import { show } from './errors.js';

type Issue = v.BaseIssue<unknown>;

/** The message of a refused value: what was expected, then what was written. */
export function expected(what: string): (issue: Issue) => string {
  return (issue) => `expected ${what}, got ${show(issue.input)}`;
}

/** A validation whose `find` says what is wrong with the value, or undefined when nothing is. */
export function problem<T>(find: (value: T) => string | undefined): v.RawCheckAction<T> {
  return v.rawCheck<T>(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const wrong = find(dataset.value);
    if (wrong !== undefined) addIssue({ message: `${wrong}, got ${show(dataset.value)}` });
  });
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A YAML mapping with exactly these fields: an unknown one is an error (typos must not pass). */
export function mapping<const E extends v.ObjectEntries>(entries: E) {
  const allowed = Object.keys(entries).join(', ');
  return v.pipe(
    v.custom<Record<string, unknown>>(isMapping, expected('a mapping')),
    v.strictObject(entries, (issue) => (issue.expected === 'never' ? `unknown field (allowed: ${allowed})` : 'required')),
  );
}

/** A mapping that may be left out: every field then takes its default. */
export function section<const E extends v.ObjectEntries>(entries: E) {
  return v.nullish(mapping(entries), {});
}

export function flag(fallback: boolean) {
  return v.nullish(v.boolean(expected('true or false')), fallback);
}

export function choice<const T extends readonly [string, ...string[]]>(choices: T) {
  return v.picklist(choices, expected(`one of ${choices.join(', ')}`));
}

const DIGITS = /^\d+$/;

/** An integer from min to max; a string of digits counts (environment overrides are text). */
export function int(min: number, max: number, fallback: number) {
  const message = expected(`an integer from ${min} to ${max}`);
  return v.nullish(
    v.pipe(
      v.unknown(),
      v.transform((value) => (typeof value === 'string' && DIGITS.test(value) ? Number(value) : value)),
      v.number(message),
      v.check((n) => Number.isInteger(n) && n >= min && n <= max, message),
    ),
    fallback,
  );
}

/** A string that `find` accepts (see `problem`). */
export function checked(find: (value: string) => string | undefined) {
  return v.pipe(v.string(expected('a string')), problem(find));
}

/** A list of `item`; a single value stands for a list of one. */
export function list<const T extends v.GenericSchema>(item: T) {
  return v.nullish(
    v.pipe(
      v.unknown(),
      v.transform((value) => (typeof value === 'string' ? [value] : value)),
      v.array(item, expected('a list')),
    ),
    [],
  );
}

/** A file path; a relative one belongs to `folder` (the configuration file's). */
export function file(folder: string) {
  return v.pipe(
    v.string(expected('a file path')),
    v.nonEmpty(expected('a file path')),
    v.transform((path) => resolve(folder, path)),
  );
}

/** A file path, or empty for none. */
export function optionalFile(folder: string) {
  return v.nullish(v.pipe(v.string(expected('a file path or ""')), v.transform((path) => (path === '' ? '' : resolve(folder, path)))), '');
}

/** Why `value` cannot be a base URL to redirect to, or undefined when it can. */
export function urlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'expected an absolute http:// or https:// URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'expected an http:// or https:// URL';
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    return 'expected a URL without query, fragment or credentials';
  }
  if (!/^[\x21-\x7e]+$/.test(value) || value.includes('\\')) return 'expected a URL of plain printable ASCII';
  return undefined;
}

/** An http(s) base URL or empty; without trailing slashes unless `keepSlash` (a page, not a base). */
export function optionalUrl(keepSlash = false) {
  return v.nullish(
    v.pipe(
      v.string(expected('a string')),
      v.trim(),
      problem((value: string) => (value === '' ? undefined : urlProblem(value))),
      v.transform((value) => (keepSlash ? value : value.replace(/\/+$/, ''))),
    ),
    '',
  );
}

export function requiredUrl() {
  return v.nullish(v.pipe(optionalUrl().wrapped, v.nonEmpty('required (an http:// or https:// URL)')), '');
}

/** Why `text` is not a CIDR block (a bare address is a host route), or undefined when it is one. */
export function cidrProblem(text: string): string | undefined {
  const network = parseNetwork(text);
  if (network === undefined) return 'expected a CIDR such as 10.0.0.0/8 or 2001:db8::/32';
  if (!network.hostBitsSet) return undefined;
  return `expected a CIDR without host bits (did you mean ${networkText(network)}?)`;
}

const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/;

/** A DNS name by its syntax alone; whether it resolves is `checkHosts`' question. */
export function isHostName(text: string): boolean {
  return text.length <= 253 && text.split('.').every((label) => LABEL.test(label));
}

/** An address to listen on: an IP literal, `localhost`, or a host name to resolve at start-up. */
export function listenHost(allowEmpty = false) {
  return checked((host) => {
    if (host === '' && allowEmpty) return undefined;
    if (isIP(host) !== 0 || host === 'localhost' || isHostName(host)) return undefined;
    return 'expected an IP address such as 0.0.0.0, :: or 127.0.0.1, or a host name';
  });
}

const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** `12h`, `30m`, `1h30m`, `45s` → milliseconds; empty → 0. Undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  if (text === '') return 0;
  const match = DURATION.exec(text);
  if (!match) return undefined;
  const [, h = '0', m = '0', s = '0'] = match;
  return ((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1000;
}

/** A duration of at least `minMs`, or empty for off. */
export function duration(minMs: number, minText: string) {
  return checked((value) => {
    const ms = parseDuration(value);
    if (ms !== undefined && (ms === 0 || ms >= minMs)) return undefined;
    return `expected a duration of at least ${minText} such as 12h, 30m or 1h30m, or empty`;
  });
}
