import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { StartupError } from './startup.js';

/** The part of a header a bearer token follows; anything else is not one. */
const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

/** Why the token file cannot serve, in words that never include its contents. */
function readToken(file: string): { digest: Buffer } | { problem: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return { problem: `admin.token_file: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  // Secrets made with `echo` or an editor end in a newline the caller never sends.
  const token = text.trim();
  if (token === '') return { problem: `admin.token_file: ${file} is empty` };
  if (/\s/.test(token)) return { problem: `admin.token_file: ${file} holds whitespace inside the token` };
  return { digest: digest(token) };
}

/**
 * The admin listener's credential: the digest of the token in `admin.token_file`, never the
 * token itself, so nothing can log it by accident. Comparing digests keeps the comparison at
 * one length and in constant time whatever the caller sends.
 */
export class AdminToken {
  private expected: Buffer | undefined;

  /** A token file that cannot be read at start is a start-up error; without a file, every caller is admitted. */
  constructor(readonly file: string) {
    if (file === '') return;
    const read = readToken(file);
    if ('problem' in read) throw new StartupError(read.problem);
    this.expected = read.digest;
  }

  get required(): boolean {
    return this.expected !== undefined;
  }

  /** Re-reads the file (a rotated Secret); on a problem the previous token stays and the problem is returned. */
  reread(): string | undefined {
    if (this.file === '') return undefined;
    const read = readToken(this.file);
    if ('problem' in read) return read.problem;
    this.expected = read.digest;
    return undefined;
  }

  /** Whether an `Authorization` header value carries the token (always true when none is required). */
  admits(authorization: string | undefined): boolean {
    if (this.expected === undefined) return true;
    const match = authorization === undefined ? null : BEARER.exec(authorization);
    if (match === null) return false;
    return timingSafeEqual(digest(match[1] as string), this.expected);
  }
}
