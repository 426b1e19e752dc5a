/**
 * Walks the origin: repositories (listed or from the catalog), their tags (filtered), each
 * manifest down to the chosen platforms, and, with `referrers`, cosign tags and the referrers
 * API. The result is every blob to copy, once, with a repository it can be fetched from.
 */
import type { RegistryClient } from '../registry-client/client.js';
import { cosignTags, parseManifest, referrersFallbackTag, selectChildren, selectTags, type Descriptor } from './manifest.js';
import { forEachLimit } from './pool.js';

export interface PlannedBlob {
  digest: string;
  size: number;
  /** Where the blob is fetched from, and the first reference that needed it (for messages). */
  repository: string;
  reference: string;
}

export interface WalkProblem {
  what: string;
  error: string;
}

export interface WalkResult {
  blobs: Map<string, PlannedBlob>;
  foreign: Array<PlannedBlob & { mediaType: string }>;
  problems: WalkProblem[];
  repositories: number;
  manifests: number;
}

export interface WalkOptions {
  repositories: readonly string[] | '*';
  tags: string;
  platforms: 'all' | readonly string[];
  referrers: boolean;
  concurrency: number;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

class Walker {
  readonly result: WalkResult = { blobs: new Map(), foreign: [], problems: [], repositories: 0, manifests: 0 };
  private readonly seen = new Set<string>();
  private referrersApi = true;

  constructor(private readonly client: RegistryClient, private readonly options: WalkOptions) {}

  async repository(repository: string): Promise<void> {
    let tags: string[];
    try {
      tags = await this.client.tags(repository);
    } catch (error) {
      this.result.problems.push({ what: `repository ${repository}`, error: message(error) });
      return;
    }
    this.result.repositories++;
    const digests: string[] = [];
    await forEachLimit(selectTags(tags, this.options.tags), this.options.concurrency, (tag) =>
      this.reference(repository, tag, `${repository}:${tag}`, this.options.platforms, digests));
    if (this.options.referrers) await this.referrers(repository, new Set(tags), digests);
  }

  /** Walks one manifest (and what it points at); every manifest digest met goes to `digests`. */
  private async reference(repository: string, reference: string, label: string, platforms: WalkOptions['platforms'], digests: string[]): Promise<void> {
    try {
      const fetched = await this.client.manifest(repository, reference);
      if (fetched === undefined) throw new Error('not found on the origin');
      const key = `${repository}@${fetched.digest}`;
      if (this.seen.has(key)) return;
      this.seen.add(key);
      digests.push(fetched.digest);
      this.result.manifests++;
      const parsed = parseManifest(fetched.bytes, fetched.mediaType, label);
      if (parsed.kind === 'index') {
        const children = selectChildren(parsed.manifests, platforms);
        await forEachLimit(children, this.options.concurrency, (child) =>
          this.reference(repository, child.digest, `${label}@${child.digest}`, platforms, digests));
        return;
      }
      for (const blob of parsed.blobs) this.add(blob, repository, label);
      for (const blob of parsed.foreign) {
        this.result.foreign.push({ digest: blob.digest, size: blob.size, repository, reference: label, mediaType: blob.mediaType });
      }
    } catch (error) {
      this.result.problems.push({ what: label, error: message(error) });
    }
  }

  private add(blob: Descriptor, repository: string, reference: string): void {
    if (!this.result.blobs.has(blob.digest)) this.result.blobs.set(blob.digest, { digest: blob.digest, size: blob.size, repository, reference });
  }

  /** Signatures, attestations and SBOMs of every manifest walked, by tag and by the referrers API. */
  private async referrers(repository: string, tags: ReadonlySet<string>, digests: string[]): Promise<void> {
    const subjects = [...digests];
    const byTag = subjects.flatMap((digest) => [...cosignTags(digest), referrersFallbackTag(digest)]).filter((tag) => tags.has(tag));
    await forEachLimit(byTag, this.options.concurrency, (tag) => this.reference(repository, tag, `${repository}:${tag}`, 'all', []));
    await forEachLimit(subjects, this.options.concurrency, async (digest) => {
      if (!this.referrersApi) return;
      try {
        const index = await this.client.referrers(repository, digest);
        if (index === undefined) {
          this.referrersApi = false;
          return;
        }
        const parsed = parseManifest(index, 'application/vnd.oci.image.index.v1+json', `referrers of ${repository}@${digest}`);
        const children = parsed.kind === 'index' ? parsed.manifests : [];
        await forEachLimit(children, this.options.concurrency, (child) =>
          this.reference(repository, child.digest, `${repository}@${child.digest} (referrer)`, 'all', []));
      } catch (error) {
        this.result.problems.push({ what: `referrers of ${repository}@${digest}`, error: message(error) });
      }
    });
  }
}

export async function walkOrigin(client: RegistryClient, options: WalkOptions): Promise<WalkResult> {
  const walker = new Walker(client, options);
  let repositories: readonly string[];
  if (options.repositories === '*') {
    try {
      repositories = await client.catalog();
    } catch (error) {
      walker.result.problems.push({ what: 'catalog', error: message(error) });
      return walker.result;
    }
  } else repositories = options.repositories;
  await forEachLimit(repositories, Math.min(4, options.concurrency), (repository) => walker.repository(repository));
  return walker.result;
}
