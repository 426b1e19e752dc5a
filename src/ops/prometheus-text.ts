/** One sample of the Prometheus text exposition format. */
export interface Sample {
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\', '"': '"', n: '\n' };

/**
 * Special values in any letter case, as Prometheus itself reads them (Go's ParseFloat):
 * prom-client writes an empty event-loop-lag histogram's mean as `Nan`.
 */
function parseNumber(text: string): number {
  const special = text.toLowerCase();
  if (special === '+inf' || special === 'inf') return Number.POSITIVE_INFINITY;
  if (special === '-inf') return Number.NEGATIVE_INFINITY;
  if (special === 'nan') return Number.NaN;
  const value = Number(text);
  if (text === '' || Number.isNaN(value)) throw new Error(`not a sample value: ${JSON.stringify(text)}`);
  return value;
}

/** Reads `{a="x",b="y"}` from `line` at `start` (just after `{`); returns the labels and where they end. */
function parseLabels(line: string, start: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let at = start;
  for (;;) {
    while (line[at] === ' ' || line[at] === ',') at++;
    if (line[at] === '}') return { labels, end: at + 1 };
    const name = LABEL_NAME.exec(line.slice(at))?.[0];
    if (name === undefined || line[at + name.length] !== '=' || line[at + name.length + 1] !== '"') {
      throw new Error(`bad label at column ${at + 1}: ${line}`);
    }
    at += name.length + 2;
    let value = '';
    while (line[at] !== '"') {
      if (at >= line.length) throw new Error(`unterminated label value: ${line}`);
      if (line[at] === '\\') {
        const escaped = line[at + 1] ?? '';
        value += ESCAPES[escaped] ?? `\\${escaped}`;
        at += 2;
      } else {
        value += line[at];
        at++;
      }
    }
    labels[name] = value;
    at++;
  }
}

/** Parses one non-comment line; a trailing timestamp is ignored. */
export function parseSampleLine(line: string): Sample {
  const name = NAME.exec(line)?.[0];
  if (name === undefined) throw new Error(`no metric name: ${line}`);
  let labels: Record<string, string> = {};
  let at = name.length;
  if (line[at] === '{') ({ labels, end: at } = parseLabels(line, at + 1));
  const [value = ''] = line.slice(at).trim().split(/\s+/);
  return { name, labels, value: parseNumber(value) };
}

/** Every sample of a text-format scrape (what `/metrics` answers), comments and blank lines skipped. */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    samples.push(parseSampleLine(line));
  }
  return samples;
}
