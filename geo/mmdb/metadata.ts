/**
 * The metadata map at the end of a MaxMind DB file, with the exact types the spec requires
 * (`node_count` uint32, `record_size`, `ip_version` and format versions uint16, `build_epoch`
 * uint64). Keys the spec does not define (`extraMetadata`) come last, so adding one changes nothing
 * before it.
 */
import { METADATA_MARKER } from '../../src/geo/mmdb-format.js';
import { FieldEncoder, TypedNumber, type WriterValue } from './data-section.js';

export interface MetadataFields {
  /** Structure name stored in metadata `database_type`. */
  databaseType: string;
  /** Metadata `description`, language code to text. */
  description?: Record<string, string>;
  /** Metadata `languages`. */
  languages?: string[];
  /** Metadata `build_epoch`; default now. */
  buildEpoch?: Date;
  /** Metadata keys of registry-edge's own, written after the standard ones. */
  extraMetadata?: Record<string, WriterValue>;
}

/** The marker and the encoded metadata map, ready to follow the data section. */
export function encodeMetadata(fields: MetadataFields, nodeCount: number, recordSize: number): Buffer {
  const metadata = new FieldEncoder(false);
  metadata.write({
    binary_format_major_version: new TypedNumber('uint16', 2),
    binary_format_minor_version: new TypedNumber('uint16', 0),
    build_epoch: new TypedNumber('uint64', BigInt(Math.floor((fields.buildEpoch ?? new Date()).getTime() / 1000))),
    database_type: fields.databaseType,
    description: fields.description ?? {},
    ip_version: new TypedNumber('uint16', 6),
    languages: fields.languages ?? [],
    node_count: new TypedNumber('uint32', nodeCount),
    record_size: new TypedNumber('uint16', recordSize),
    ...fields.extraMetadata,
  });
  return Buffer.concat([METADATA_MARKER, metadata.sink.result()]);
}
