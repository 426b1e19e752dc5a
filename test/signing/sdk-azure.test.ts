import {
  BlobSASPermissions,
  ContainerClient,
  generateBlobSASQueryParameters,
  SASProtocol,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import { describe, expect, it } from 'vitest';
import { AZURE_SAS_VERSION, azureSigner } from '../../src/signing/index.js';
import { AZURE_ACCOUNT, AZURE_KEY, objectUrl, SIGNED_AT_MS, SPECIAL_KEYS } from './fixtures.js';

/**
 * Byte-for-byte agreement with @azure/storage-blob: the SAS query equals
 * `generateBlobSASQueryParameters` for read-only, one blob, HTTPS only (or HTTPS and HTTP),
 * and the path equals the SDK's own blob URL for that name.
 */

const CONTAINER = 'registry-blobs';
const endpoints = [`https://${AZURE_ACCOUNT}.blob.core.windows.net`, `http://127.0.0.1:10000/${AZURE_ACCOUNT}`];

describe('Azure blob SAS URLs agree with @azure/storage-blob', () => {
  const credential = new StorageSharedKeyCredential(AZURE_ACCOUNT, AZURE_KEY);
  const cases = [false, true].flatMap((allowHttp) => endpoints.flatMap((endpoint) => SPECIAL_KEYS.map((key) => ({ allowHttp, endpoint, key }))));

  it.each(cases)('allowHttp=$allowHttp $endpoint $key', ({ allowHttp, endpoint, key }) => {
    const ours = azureSigner({ account: AZURE_ACCOUNT, accountKey: Buffer.from(AZURE_KEY, 'base64'), expiresS: 600, allowHttp });
    const sas = generateBlobSASQueryParameters(
      {
        containerName: CONTAINER,
        blobName: key,
        permissions: BlobSASPermissions.parse('r'),
        expiresOn: new Date(SIGNED_AT_MS + 600_000),
        protocol: allowHttp ? SASProtocol.HttpsAndHttp : SASProtocol.Https,
        version: AZURE_SAS_VERSION,
      },
      credential,
    ).toString();
    const blobUrl = new ContainerClient(`${endpoint}/${CONTAINER}`).getBlobClient(key).url;
    const url = objectUrl(`${endpoint}/${CONTAINER}`, key);
    expect(ours.presignGet(url, SIGNED_AT_MS)).toBe(`${blobUrl}?${sas}`);
    expect(ours.signedHead(url, SIGNED_AT_MS).url).toBe(`${blobUrl}?${sas}`);
  });

  it('is read-only, one blob, HTTPS only, and ends at expiry', () => {
    const ours = azureSigner({ account: AZURE_ACCOUNT, accountKey: Buffer.from(AZURE_KEY, 'base64'), expiresS: 900, allowHttp: false });
    const q = new URL(ours.presignGet(`https://${AZURE_ACCOUNT}.blob.core.windows.net/c/blobs/sha256:ab`, SIGNED_AT_MS)).searchParams;
    expect(Object.fromEntries(q)).toMatchObject({ sv: AZURE_SAS_VERSION, spr: 'https', se: '2024-05-01T12:49:56Z', sr: 'b', sp: 'r' });
    expect(q.has('st')).toBe(false);
  });
});
