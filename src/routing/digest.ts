/**
 * The digest grammar registry-edge accepts, in one place: what a client may ask for in a blob,
 * manifest or referrers path, and what an inventory file may list. Only the registered
 * algorithms at their exact lengths, lower-case hex: anything else could not name a blob.
 */

/** The grammar in words, for error messages. */
export const DIGEST_FORM = 'sha256:<64 hex> or sha512:<128 hex>, lower case';

const DIGEST = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
const SHA256_LENGTH = 'sha256:'.length + 64;

/**
 * Whether `text` is a digest, with the overwhelmingly common sha256 checked by hand: a loop over
 * 64 character codes is several times cheaper than the alternation regex on every blob request.
 */
export function isValidDigest(text: string): boolean {
  if (text.length === SHA256_LENGTH && text.startsWith('sha256:')) {
    for (let i = 7; i < SHA256_LENGTH; i++) {
      const c = text.charCodeAt(i);
      if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
    }
    return true;
  }
  return DIGEST.test(text);
}
