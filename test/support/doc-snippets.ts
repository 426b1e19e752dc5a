/**
 * Fenced code blocks read out of the project's Markdown guides, so that tests check (and the
 * e2e suite runs) exactly what a reader copies. A block may carry an id after its language:
 * ```` ```toml id=containerd-mirror-tls ````; renderers ignore it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const DOCS = join(import.meta.dirname, '..', '..', 'docs');

export interface Snippet {
  language: string;
  id: string | undefined;
  text: string;
  /** 1-based line of the opening fence. */
  line: number;
}

export function snippets(markdown: string): Snippet[] {
  const found: Snippet[] = [];
  const fence = /^( *)```([A-Za-z0-9]*)([^\n]*)\n([\s\S]*?)^\1```/gm;
  for (const match of markdown.matchAll(fence)) {
    const indent = match[1] ?? '';
    const body = (match[4] ?? '')
      .split('\n')
      .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line))
      .join('\n');
    const id = /\bid=([A-Za-z0-9._-]+)/.exec(match[3] ?? '')?.[1];
    found.push({ language: match[2] ?? '', id, text: body, line: markdown.slice(0, match.index).split('\n').length });
  }
  return found;
}

/** The block with this id in docs/<guide>; throws naming the guide when it is gone. */
export function snippet(guide: string, id: string): Snippet {
  const found = snippets(readFileSync(join(DOCS, guide), 'utf8')).filter((candidate) => candidate.id === id);
  if (found.length !== 1) throw new Error(`docs/${guide}: expected one block with id=${id}, found ${found.length}`);
  return found[0] as Snippet;
}

/**
 * Replaces each placeholder of a snippet, and fails when one is missing: a guide edited so a
 * placeholder disappears must fail the suite rather than silently test something else.
 */
export function substitute(text: string, replacements: ReadonlyArray<readonly [string, string]>, optional: readonly string[] = []): string {
  let result = text;
  for (const [placeholder, value] of replacements) {
    if (!result.includes(placeholder)) {
      if (optional.includes(placeholder)) continue;
      throw new Error(`snippet has no ${JSON.stringify(placeholder)} to replace:\n${text}`);
    }
    result = result.split(placeholder).join(value);
  }
  return result;
}
