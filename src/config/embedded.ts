/**
 * The embedded default configuration parsed at build time. Parsing its YAML cost ~25 ms of
 * every start-up (spawn to first answer, issue 20), for a document that changes only with
 * the package. The YAML stays the one source: the build stores the parsed document with the
 * text's SHA-256, and start-up takes that copy only when the text it just read still hashes
 * the same, else it parses the YAML as for any file.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { embeddedConfigPath, embeddedDocumentPath } from '../paths.js';

interface StoredDocument {
  sha256: string;
  document: unknown;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The build's parsed copy of TEXT (the embedded default as read now); undefined when there is none or it is of other text. */
export function storedDocument(text: string, path: string = embeddedDocumentPath()): unknown {
  let stored: StoredDocument;
  try {
    stored = JSON.parse(readFileSync(path, 'utf8')) as StoredDocument;
  } catch {
    return undefined;
  }
  return typeof stored === 'object' && stored !== null && stored.sha256 === sha256(text) ? stored.document : undefined;
}

/** The build step: parses the embedded default with PARSE (the loader's YAML reader) and stores it; returns where. */
export async function storeDocument(
  parse: (text: string, source: string) => Promise<unknown>,
  from: string = embeddedConfigPath(),
  to: string = embeddedDocumentPath(),
): Promise<string> {
  const text = readFileSync(from, 'utf8');
  const stored: StoredDocument = { sha256: sha256(text), document: await parse(text, from) };
  mkdirSync(dirname(to), { recursive: true });
  writeFileSync(to, `${JSON.stringify(stored)}\n`);
  return to;
}
