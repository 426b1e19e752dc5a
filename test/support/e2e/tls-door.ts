/**
 * The TLS half of the suite: a test CA and a server certificate for 127.0.0.1 made with
 * Debian's openssl, a front door serving them (`listen.tls`), and where each client wants the CA.
 * `serve` reads `listen.tls`, so these tests run; REGISTRY_EDGE_E2E_TLS=0 skips them (a machine
 * whose clients cannot be given a private CA).
 */
import { mkdir, copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TestCa, type Issued } from '../test-ca.js';
import { startFrontDoor, type FrontDoor, type FrontDoorSetup } from './front-door.js';

export const SERVE_SPEAKS_TLS = process.env.REGISTRY_EDGE_E2E_TLS !== '0';

export const TLS_SKIP_REASON = SERVE_SPEAKS_TLS ? undefined : 'REGISTRY_EDGE_E2E_TLS=0 turns the TLS tests off';

export interface TlsMaterials {
  ca: TestCa;
  server: Issued;
}

export async function makeTlsMaterials(): Promise<TlsMaterials> {
  const ca = await TestCa.create('ec', 'registry-edge e2e CA');
  const server = await ca.issue('edge', { altNames: ['IP:127.0.0.1', 'DNS:localhost'] });
  return { ca, server };
}

export function startTlsFrontDoor(label: string, workDir: string, setup: FrontDoorSetup, materials: TlsMaterials): Promise<FrontDoor> {
  return startFrontDoor(label, workDir, { ...setup, listen: { ...setup.listen, tls: { cert: materials.server.cert, key: materials.server.key } } });
}

/** containers-certs.d(5): one folder per host[:port] holding `ca.crt`, under `root`. */
export async function certsDirFor(root: string, host: string, materials: TlsMaterials): Promise<string> {
  const dir = join(root, host);
  await mkdir(dir, { recursive: true });
  await copyFile(materials.ca.root.cert, join(dir, 'ca.crt'));
  return dir;
}
