/**
 * A throw-away certificate authority made with Debian's `openssl` in a temp dir: a root CA,
 * an optional intermediate, server certificates for 127.0.0.1 / localhost and client
 * certificates for mutual TLS. Real keys and real X.509, so the TLS under test is never mocked.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const OPENSSL = '/usr/bin/openssl';

export type KeyType = 'ec' | 'rsa';

export interface Issued {
  /** PEM certificate file (leaf first, then the intermediate when one signed it). */
  cert: string;
  key: string;
  /** The leaf alone, for fingerprints. */
  leaf: string;
}

export interface Authority {
  cert: string;
  key: string;
  name: string;
}

function keyArgs(type: KeyType): string[] {
  return type === 'ec' ? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-newkey', 'rsa:2048'];
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run(OPENSSL, args, { cwd });
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`openssl ${args.join(' ')} failed: ${stderr ?? String(error)}`);
  }
}

export interface LeafOptions {
  keyType?: KeyType;
  /** subjectAltName entries; default IP 127.0.0.1 and ::1, DNS localhost. */
  altNames?: string[];
  days?: number;
  usage?: 'serverAuth' | 'clientAuth';
  /** Signed by this authority instead of the root (an intermediate). */
  issuer?: Authority;
}

export class TestCa {
  private serial = 1;

  private constructor(readonly dir: string, readonly root: Authority) {}

  /** A new root CA (ECDSA P-256 unless told otherwise) in a fresh temp dir. */
  static async create(keyType: KeyType = 'ec', name = 'registry-edge test root'): Promise<TestCa> {
    const dir = await mkdtemp(join(tmpdir(), 'registry-edge-ca-'));
    const root = { cert: join(dir, 'root.crt'), key: join(dir, 'root.key'), name };
    try {
      await openssl([
        'req', '-x509', ...keyArgs(keyType), '-nodes', '-keyout', root.key, '-out', root.cert, '-days', '3', '-subj', `/CN=${name}`,
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      ], dir);
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    return new TestCa(dir, root);
  }

  /** An intermediate CA signed by the root, to prove chains are accepted and sent. */
  async intermediate(name = 'registry-edge test intermediate', keyType: KeyType = 'ec'): Promise<Authority> {
    const base = join(this.dir, `ca-${this.serial}`);
    await this.sign(base, name, keyType, this.root, 3, ['basicConstraints=critical,CA:TRUE,pathlen:0', 'keyUsage=critical,keyCertSign,cRLSign']);
    return { cert: `${base}.crt`, key: `${base}.key`, name };
  }

  /** A leaf certificate and its key; the cert file carries the intermediate after the leaf. */
  async issue(name: string, options: LeafOptions = {}): Promise<Issued> {
    const base = join(this.dir, `${name}-${this.serial}`);
    const altNames = options.altNames ?? ['IP:127.0.0.1', 'IP:::1', 'DNS:localhost'];
    const usage = options.usage ?? 'serverAuth';
    const issuer = options.issuer ?? this.root;
    await this.sign(base, name, options.keyType ?? 'ec', issuer, options.days ?? 2, [
      'basicConstraints=critical,CA:FALSE',
      `keyUsage=critical,digitalSignature${options.keyType === 'rsa' ? ',keyEncipherment' : ''}`,
      `extendedKeyUsage=${usage}`,
      `subjectAltName=${altNames.join(',')}`,
    ]);
    const leaf = `${base}.crt`;
    if (options.issuer === undefined) return { cert: leaf, key: `${base}.key`, leaf };
    const chain = `${base}-chain.crt`;
    await writeFile(chain, Buffer.concat([await readFile(leaf), await readFile(options.issuer.cert)]));
    return { cert: chain, key: `${base}.key`, leaf };
  }

  private async sign(base: string, name: string, keyType: KeyType, issuer: Authority, days: number, extensions: string[]): Promise<void> {
    this.serial += 1;
    await openssl(['req', '-new', ...keyArgs(keyType), '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${name}`], this.dir);
    await writeFile(`${base}.ext`, `${extensions.join('\n')}\n`);
    await openssl([
      'x509', '-req', '-in', `${base}.csr`, '-CA', issuer.cert, '-CAkey', issuer.key, '-set_serial', String(this.serial),
      '-days', String(days), '-extfile', `${base}.ext`, '-out', `${base}.crt`,
    ], this.dir);
  }

  async close(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
