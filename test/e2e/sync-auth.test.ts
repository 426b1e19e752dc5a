/**
 * Sync from an origin behind authentication, as registry clients meet it: the distribution
 * registry with `auth.token` (a token issuer in this test signing RS256 JWTs with a key and
 * certificate made by openssl), and with `auth.htpasswd` (bcrypt from `htpasswd -B`).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHtpasswdOrigin, startTokenIssuer, startTokenOrigin, type AuthOrigin, type TokenIssuer } from '../support/e2e/auth-origin.js';
import { APP_REPO, TOOL_REPO } from '../support/e2e/fixtures.js';
import { BLOB_KEY_PREFIX } from '../support/e2e/nginx-bucket.js';
import { describeRun, runSyncCommand, storeSnapshot, wrongKeys, writeConfig } from '../support/e2e/sync.js';
import { createWorld, repositoryBlobs, type World } from '../support/e2e/world.js';

const USER = 'syncer';
const PASSWORD = 'correct horse battery staple';

let world: World;
let issuer: TokenIssuer;
let tokenOrigin: AuthOrigin;
let htpasswdOrigin: AuthOrigin;

beforeAll(async () => {
  world = await createWorld();
  const storage = join(world.dir, 'origin', 'storage');
  await mkdir(join(world.dir, 'auth'), { recursive: true });
  const started = await startTokenIssuer(join(world.dir, 'auth'), { user: USER, password: PASSWORD, anonymousRepositories: [TOOL_REPO] });
  issuer = started;
  world.onClose(() => started.close());
  tokenOrigin = await startTokenOrigin(join(world.dir, 'auth'), storage, started);
  world.onClose(() => tokenOrigin.process.stop());
  htpasswdOrigin = await startHtpasswdOrigin(join(world.dir, 'auth'), storage, USER, PASSWORD);
  world.onClose(() => htpasswdOrigin.process.stop());
  await writeFile(join(world.dir, 'password'), `${PASSWORD}\n`);
});

afterAll(async () => {
  await world?.close();
});

async function syncFrom(name: string, origin: AuthOrigin, repositories: string[], auth: Record<string, string>) {
  const root = join(world.dir, name);
  const config = await writeConfig(world.dir, name, {
    origin: { url: origin.url },
    blobs: { key: `${BLOB_KEY_PREFIX}{digest}` },
    buckets: [{ name, url: 'http://127.0.0.1:9', store: { type: 'dir', path: root } }],
    sync: { repositories, origin_rps: 0, retries: 0, auth },
  });
  const result = await runSyncCommand('sync', ['--config', config]);
  return { result, snapshot: await storeSnapshot(root) };
}

function expectEveryBlob(snapshot: Map<string, string>, repository: string): void {
  expect(wrongKeys(snapshot)).toEqual([]);
  expect([...snapshot.keys()].sort()).toEqual([...repositoryBlobs(world.fixtures, repository).keys()].sort());
}

describe('an origin with token auth', () => {
  it('syncs anonymously where the issuer grants anonymous pulls', async () => {
    const { result, snapshot } = await syncFrom('token-anonymous', tokenOrigin, [TOOL_REPO], {});
    expect(result.code, describeRun('anonymous token sync', result)).toBe(0);
    expectEveryBlob(snapshot, TOOL_REPO);
    expect(issuer.requests.some((request) => request.user === undefined && request.scope === `repository:${TOOL_REPO}:pull`)).toBe(true);
  });

  it('syncs with credentials from a Docker config.json (base64 auth)', async () => {
    const dockerConfig = join(world.dir, 'docker-config.json');
    const auth = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
    await writeFile(dockerConfig, JSON.stringify({ auths: { [tokenOrigin.host]: { auth } } }));
    const { result, snapshot } = await syncFrom('token-docker-config', tokenOrigin, [APP_REPO], { docker_config: dockerConfig });
    expect(result.code, describeRun('token sync with config.json', result)).toBe(0);
    expectEveryBlob(snapshot, APP_REPO);
    expect(issuer.requests.some((request) => request.user === USER && request.scope === `repository:${APP_REPO}:pull`)).toBe(true);
  });

  it('without credentials for a private repository fails, naming it', async () => {
    const { result, snapshot } = await syncFrom('token-denied', tokenOrigin, [APP_REPO], {});
    expect(result.code).toBe(1);
    expect(result.events.find((event) => event.event === 'problem')).toMatchObject({ what: `repository ${APP_REPO}` });
    expect(snapshot.size).toBe(0);
  });

  it('with a wrong password fails with the token endpoint named', async () => {
    const wrong = join(world.dir, 'wrong-password');
    await writeFile(wrong, 'nope\n');
    const { result } = await syncFrom('token-wrong', tokenOrigin, [APP_REPO], { username: USER, password_file: wrong });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/token endpoint .* answered 401/);
  });
});

describe('an origin with htpasswd (basic) auth', () => {
  it('syncs with a user and password file', async () => {
    const { result, snapshot } = await syncFrom('htpasswd', htpasswdOrigin, [APP_REPO, TOOL_REPO], { username: USER, password_file: join(world.dir, 'password') });
    expect(result.code, describeRun('htpasswd sync', result)).toBe(0);
    expect(wrongKeys(snapshot)).toEqual([]);
    expect(snapshot.size).toBe(new Set([...repositoryBlobs(world.fixtures, APP_REPO).keys(), ...repositoryBlobs(world.fixtures, TOOL_REPO).keys()]).size);
  });

  it('without credentials fails, saying the origin wants them', async () => {
    const { result } = await syncFrom('htpasswd-anonymous', htpasswdOrigin, [APP_REPO], {});
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('the origin asks for a user and password (Basic) and sync.auth gives none');
  });
});
