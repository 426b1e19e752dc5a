/**
 * Certificate rotation without a restart: files replaced the way the kubelet replaces a mounted
 * Secret, picked up by the watcher while clients keep pulling; refused pairs change nothing.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Debouncer, watchedFolders, type Timers } from '../../src/server/tls-watch.js';
import { TestCa, type Issued } from '../support/test-ca.js';
import { SecretMount } from '../support/secret-mount.js';
import { clientLoop, handshake, httpsGet, startDemoDoor } from '../support/tls-door.js';

let ca: TestCa;
let caPem: Buffer;
let pairs: Issued[];
let rsaPair: Issued;
let scratch: string;

beforeAll(async () => {
  ca = await TestCa.create('ec');
  caPem = await readFile(ca.root.cert);
  pairs = await Promise.all([ca.issue('first'), ca.issue('second'), ca.issue('third')]);
  rsaPair = await ca.issue('rsa', { keyType: 'rsa' });
  scratch = await mkdtemp(join(tmpdir(), 'registry-edge-rotation-'));
});

afterAll(async () => {
  await ca?.close();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

async function fingerprintOf(issued: Issued): Promise<string> {
  const { X509Certificate } = await import('node:crypto');
  return new X509Certificate(await readFile(issued.leaf)).fingerprint256;
}

async function mountIn(name: string, issued: Issued): Promise<SecretMount> {
  const mount = new SecretMount(join(scratch, name));
  await mkdir(mount.dir, { recursive: true });
  await mount.update({ cert: issued.cert, key: issued.key });
  return mount;
}

describe('rotation under load (Kubernetes Secret layout, file watcher)', () => {
  it('zero failed requests; new connections present the new certificate; open ones keep theirs', async () => {
    const mount = await mountIn('under-load', pairs[0] as Issued);
    const door = await startDemoDoor({ cert: mount.cert, key: mount.key }, { watchDebounceMs: 50 });
    const [first, second] = [await fingerprintOf(pairs[0] as Issued), await fingerprintOf(pairs[1] as Issued)];
    const longLived = await handshake(door.port, { ca: caPem, ALPNProtocols: ['http/1.1'] });
    const loop = clientLoop(door.url, caPem);
    try {
      await expect.poll(() => loop.requests, { timeout: 5000 }).toBeGreaterThan(20);
      expect([...loop.seen]).toEqual([first]);
      await mount.update({ cert: (pairs[1] as Issued).cert, key: (pairs[1] as Issued).key });
      await expect.poll(() => loop.seen.has(second), { timeout: 5000 }).toBe(true);
      const afterSwap = loop.requests;
      await expect.poll(() => loop.requests, { timeout: 5000 }).toBeGreaterThan(afterSwap + 20);
    } finally {
      await loop.stop();
    }
    expect(loop.failures).toEqual([]);
    expect(door.holder.current.leaf.fingerprint256).toBe(second);
    expect((await httpsGet(`${door.url}/v2/`, { ca: caPem })).fingerprint).toBe(second);
    // The connection made before the swap still has, and serves on, the first certificate.
    expect(longLived.socket.getPeerCertificate().fingerprint256).toBe(first);
    const answer = await new Promise<string>((resolve) => {
      longLived.socket.once('data', (chunk: Buffer) => resolve(chunk.toString('latin1')));
      longLived.socket.write('GET /v2/ HTTP/1.1\r\nHost: edge\r\n\r\n');
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    longLived.socket.destroy();

    const loaded = door.logs.messages('tls certificate loaded');
    expect(loaded.map((line) => line.fingerprint256)).toEqual([second]);
    expect(loaded[0]).toMatchObject({ trigger: 'file', cert: mount.cert });
    expect(await door.sample('registry_edge_tls_certificate_reloads_total', { result: 'success' })).toBe(1);
    await door.close();
  });
});

describe('a bad new pair', () => {
  it('is refused with an error naming the field and file; the old pair keeps serving', async () => {
    const mount = await mountIn('bad-pair', pairs[0] as Issued);
    const door = await startDemoDoor({ cert: mount.cert, key: mount.key }, { watchDebounceMs: 50 });
    try {
      const first = await fingerprintOf(pairs[0] as Issued);
      // The certificate of one pair with the key of another.
      await mount.update({ cert: (pairs[2] as Issued).cert, key: rsaPair.key });
      await expect.poll(() => door.reloads.length, { timeout: 5000 }).toBe(1);
      const [result] = door.reloads;
      expect(result?.ok).toBe(false);
      if (result?.ok === false) {
        expect(result.error.field).toBe('listen.tls.key');
        expect(result.error.message).toBe(`listen.tls.key: ${mount.key} is not the key of the certificate in ${mount.cert} (listen.tls.cert)`);
      }
      expect((await httpsGet(`${door.url}/v2/`, { ca: caPem })).fingerprint).toBe(first);
      const [refused] = door.logs.messages('tls certificate refused; the previous one keeps serving');
      expect(refused).toMatchObject({ level: 'error', field: 'listen.tls.key', file: mount.key, serving: first });
      expect(await door.sample('registry_edge_tls_certificate_reloads_total', { result: 'failure' })).toBe(1);

      // Fixing the files is picked up the same way.
      await mount.update({ cert: (pairs[2] as Issued).cert, key: (pairs[2] as Issued).key });
      const third = await fingerprintOf(pairs[2] as Issued);
      await expect.poll(async () => (await httpsGet(`${door.url}/v2/`, { ca: caPem })).fingerprint, { timeout: 5000 }).toBe(third);
    } finally {
      await door.close();
    }
  });

  it('an explicit reload (SIGHUP, POST /reload) with unchanged files changes nothing and says so', async () => {
    const mount = await mountIn('unchanged', pairs[0] as Issued);
    const door = await startDemoDoor({ cert: mount.cert, key: mount.key });
    try {
      const result = door.holder.reload();
      expect(result).toMatchObject({ ok: true, changed: false });
      expect(result.material).toBe(door.holder.current);
    } finally {
      await door.close();
    }
  });

  it('a reload naming new paths (a configuration reload) switches to them and watches their folder', async () => {
    const mount = await mountIn('old-path', pairs[0] as Issued);
    const moved = await mountIn('new-path', pairs[1] as Issued);
    const door = await startDemoDoor({ cert: mount.cert, key: mount.key }, { watchDebounceMs: 50 });
    try {
      expect(door.watcher?.folders).toEqual([mount.dir]);
      const result = door.holder.reload({ cert: moved.cert, key: moved.key });
      expect(result).toMatchObject({ ok: true, changed: true });
      expect(door.watcher?.folders).toEqual([moved.dir]);
      expect((await httpsGet(`${door.url}/v2/`, { ca: caPem })).fingerprint).toBe(await fingerprintOf(pairs[1] as Issued));
      await moved.update({ cert: (pairs[2] as Issued).cert, key: (pairs[2] as Issued).key });
      await expect.poll(() => door.holder.current.leaf.fingerprint256, { timeout: 5000 }).toBe(await fingerprintOf(pairs[2] as Issued));
    } finally {
      await door.close();
    }
  });

  it('a plain file rewritten in place (no symlinks) is picked up too', async () => {
    const dir = join(scratch, 'plain');
    await mkdir(dir, { recursive: true });
    const files = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
    await writeFile(files.cert, await readFile((pairs[0] as Issued).cert));
    await writeFile(files.key, await readFile((pairs[0] as Issued).key));
    const door = await startDemoDoor(files, { watchDebounceMs: 50 });
    try {
      await writeFile(files.key, await readFile(rsaPair.key));
      await writeFile(files.cert, await readFile(rsaPair.cert));
      await expect.poll(() => door.holder.current.leaf.fingerprint256, { timeout: 5000 }).toBe(await fingerprintOf(rsaPair));
    } finally {
      await door.close();
    }
  });
});

/** Timers run by hand: the debounce is tested without waiting on the clock. */
function manualTimers(): Timers & { fire(): void; pending: number } {
  const queue = new Map<number, () => void>();
  let next = 0;
  return {
    set(callback) {
      next += 1;
      queue.set(next, callback);
      return next;
    },
    clear(handle) {
      queue.delete(handle as number);
    },
    fire() {
      const callbacks = [...queue.values()];
      queue.clear();
      for (const callback of callbacks) callback();
    },
    get pending() {
      return queue.size;
    },
  };
}

describe('Debouncer', () => {
  it('runs once after a burst, and again after the next burst', () => {
    const timers = manualTimers();
    let runs = 0;
    const debouncer = new Debouncer(100, () => (runs += 1), timers);
    for (let poke = 0; poke < 5; poke += 1) debouncer.poke();
    expect(timers.pending).toBe(1);
    timers.fire();
    expect(runs).toBe(1);
    debouncer.poke();
    timers.fire();
    expect(runs).toBe(2);
  });

  it('cancel drops a pending run', () => {
    const timers = manualTimers();
    let runs = 0;
    const debouncer = new Debouncer(100, () => (runs += 1), timers);
    debouncer.poke();
    debouncer.cancel();
    timers.fire();
    expect(runs).toBe(0);
  });
});

describe('watchedFolders', () => {
  it.each([
    [{ cert: '/etc/tls/tls.crt', key: '/etc/tls/tls.key' }, ['/etc/tls']],
    [{ cert: '/etc/tls/tls.crt', key: '/etc/keys/tls.key', client_ca: '/etc/ca/ca.crt' }, ['/etc/ca', '/etc/keys', '/etc/tls']],
    [{ cert: '/a/x.crt', key: '/a/x.key', client_ca: '' }, ['/a']],
  ])('%j → %j', (files, folders) => {
    expect(watchedFolders(files)).toEqual(folders);
  });
});
