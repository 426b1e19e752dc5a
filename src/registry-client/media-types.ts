/** The manifest and layer media types sync understands (OCI image spec, Docker v2 schema 2). */

export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_SCHEMA1 = 'application/vnd.docker.distribution.manifest.v1+json';
export const DOCKER_SCHEMA1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws';

export const INDEX_TYPES: ReadonlySet<string> = new Set([OCI_INDEX, DOCKER_LIST]);
export const IMAGE_TYPES: ReadonlySet<string> = new Set([OCI_MANIFEST, DOCKER_MANIFEST]);

/** What a manifest GET accepts: every type sync can walk. */
export const MANIFEST_ACCEPT = [OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST].join(', ');

/**
 * Layers a registry may not redistribute: clients fetch them from the `urls` the descriptor
 * names, never from `/blobs/`, so sync skips (and reports) them.
 */
export function isForeignLayer(mediaType: string): boolean {
  return (
    mediaType === 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip' ||
    mediaType.startsWith('application/vnd.oci.image.layer.nondistributable.')
  );
}
