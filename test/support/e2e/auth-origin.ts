/**
 * The origin registry behind authentication, over the storage an anonymous registry was
 * filled through: htpasswd (bcrypt from `htpasswd -B`, Debian apache2-utils), or `auth.token`
 * with a certificate made here by `openssl` and a small token issuer signing RS256 JWTs.
 */
import { createPrivateKey, createSign, X509Certificate, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { originRegistryConfig, REGISTRY_BINARY } from './origin-registry.js';
import { ManagedProcess, runCommand, startOnFreePort } from './processes.js';

export const HTPASSWD_BINARY = '/usr/bin/htpasswd';
export const SERVICE = 'registry-edge-e2e';
export const ISSUER = 'registry-edge-e2e-issuer';

export interface AuthOrigin {
  process: ManagedProcess;
  url: string;
  host: string;
}

async function startRegistry(label: string, workDir: string, storageDir: string, authLines: string[]): Promise<AuthOrigin> {
  return startOnFreePort(async (port) => {
    const configFile = join(workDir, `${label}.yml`);
    await writeFile(configFile, `${originRegistryConfig(storageDir, port)}auth:\n${authLines.map((line) => `  ${line}`).join('\n')}\n`);
    const registry = new ManagedProcess(`docker-registry ${label}`, REGISTRY_BINARY, ['serve', configFile], { cwd: workDir });
    const url = `http://127.0.0.1:${port}`;
    try {
      await registry.waitUntil(async () => (await fetch(`${url}/v2/`)).status === 401, 15_000);
    } catch (error) {
      await registry.stop();
      throw error;
    }
    return { process: registry, url, host: `127.0.0.1:${port}` };
  });
}

export async function startHtpasswdOrigin(workDir: string, storageDir: string, user: string, password: string): Promise<AuthOrigin> {
  const made = await runCommand(HTPASSWD_BINARY, ['-Bbn', user, password]);
  if (made.code !== 0) throw new Error(`htpasswd failed: ${made.stderr}`);
  const file = join(workDir, 'htpasswd');
  await writeFile(file, made.stdout);
  return startRegistry('htpasswd', workDir, storageDir, ['htpasswd:', `  realm: ${SERVICE}`, `  path: ${JSON.stringify(file)}`]);
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** An RS256 JWT with the certificate in `x5c`, as distribution's token verifier wants it. */
export function signToken(key: KeyObject, certificateDer: Buffer, claims: Record<string, unknown>): string {
  const head = base64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', x5c: [certificateDer.toString('base64')] }));
  const body = base64url(JSON.stringify(claims));
  const signature = createSign('RSA-SHA256').update(`${head}.${body}`).sign(key);
  return `${head}.${body}.${base64url(signature)}`;
}

export interface TokenIssuer {
  server: Server;
  url: string;
  /** Every token request: scope asked and whether credentials came with it. */
  requests: Array<{ scope: string; user: string | undefined }>;
  close(): Promise<void>;
}

/**
 * Grants `pull` on `anonymousRepositories` to anyone and on every repository to `user`
 * with `password`; wrong credentials get a 401, as real issuers answer.
 */
export async function startTokenIssuer(
  workDir: string,
  options: { user: string; password: string; anonymousRepositories: string[] },
): Promise<TokenIssuer & { certificateFile: string }> {
  const keyFile = join(workDir, 'token-key.pem');
  const certificateFile = join(workDir, 'token-cert.pem');
  const made = await runCommand('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certificateFile, '-days', '1', '-subj', '/CN=registry-edge-e2e-token']);
  if (made.code !== 0) throw new Error(`openssl failed: ${made.stderr}`);
  const key = createPrivateKey(await readFile(keyFile));
  const certificate = new X509Certificate(await readFile(certificateFile));
  const requests: TokenIssuer['requests'] = [];
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://issuer');
    const scope = url.searchParams.get('scope') ?? '';
    const basic = /^Basic (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const [user, password] = basic === undefined ? [] : Buffer.from(basic, 'base64').toString().split(':');
    requests.push({ scope, user });
    if (user !== undefined && (user !== options.user || password !== options.password)) {
      response.writeHead(401, { 'content-type': 'application/json' }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    const [type = '', name = '', actions = ''] = scope.split(':');
    const allowed = user !== undefined || (type === 'repository' && options.anonymousRepositories.includes(name));
    const now = Math.floor(Date.now() / 1000);
    const token = signToken(key, certificate.raw, {
      iss: ISSUER, sub: user ?? '', aud: SERVICE, exp: now + 300, nbf: now - 10, iat: now, jti: `${now}-${requests.length}`,
      access: allowed && scope !== '' ? [{ type, name, actions: actions.split(',') }] : [],
    });
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    server, url: `http://127.0.0.1:${port}`, requests, certificateFile,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export async function startTokenOrigin(workDir: string, storageDir: string, issuer: TokenIssuer & { certificateFile: string }): Promise<AuthOrigin> {
  return startRegistry('token', workDir, storageDir, [
    'token:',
    `  realm: ${issuer.url}/token`,
    `  service: ${SERVICE}`,
    `  issuer: ${ISSUER}`,
    `  rootcertbundle: ${JSON.stringify(issuer.certificateFile)}`,
  ]);
}
