/**
 * Pagination of `/tags/list` and `/_catalog`: the registry returns at most `n` names and a
 * `Link: </v2/…?last=…&n=…>; rel="next"` header while more remain (distribution spec).
 */

/** The URL of the next page, resolved against the page's URL, or undefined on the last page. */
export function nextPageUrl(linkHeader: string | undefined, pageUrl: URL): URL | undefined {
  if (linkHeader === undefined) return undefined;
  for (const part of linkHeader.split(/,(?=\s*<)/)) {
    const match = /^\s*<([^>]*)>\s*(.*)$/.exec(part);
    if (!match) continue;
    const params = match[2] ?? '';
    if (!/(?:^|;)\s*rel\s*=\s*"?(?:[^";]*\s)?next(?:\s[^";]*)?"?\s*(?:;|$)/i.test(params)) continue;
    try {
      const next = new URL(match[1] ?? '', pageUrl);
      // A next page on another host would take our credentials somewhere they do not belong.
      return next.origin === pageUrl.origin ? next : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** Page size asked for; registries may answer fewer. */
export const PAGE_SIZE = 1000;
