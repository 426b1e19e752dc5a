/**
 * A bucket: Debian nginx serving a directory of blobs laid out as `blobs.key` says, with its
 * own pid, logs and temp paths in the suite's temp dir so it never touches /var.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NGINX_JSON_LOG_FORMAT, parseNginxJsonLog, type AccessRecord } from './access-log.js';
import { ManagedProcess, startOnFreePort } from './processes.js';

export const NGINX_BINARY = '/usr/sbin/nginx';
/** Object key prefix of `blobs.key: /containers/images/{digest}`. */
export const BLOB_KEY_PREFIX = '/containers/images/';
export const READY_PATH = '/__e2e_ready';

export function nginxBucketConfig(workDir: string, rootDir: string, port: number): string {
  const path = (name: string): string => JSON.stringify(join(workDir, name));
  // A single process (no master/worker split) makes the PID we hold the only one to kill.
  return `
daemon off;
master_process off;
pid ${path('nginx.pid')};
error_log ${path('error.log')} warn;
events { worker_connections 256; }
http {
  default_type application/octet-stream;
  client_body_temp_path ${path('tmp/client_body')};
  proxy_temp_path ${path('tmp/proxy')};
  fastcgi_temp_path ${path('tmp/fastcgi')};
  uwsgi_temp_path ${path('tmp/uwsgi')};
  scgi_temp_path ${path('tmp/scgi')};
  log_format e2e escape=json ${NGINX_JSON_LOG_FORMAT};
  access_log ${path('access.log')} e2e;
  sendfile on;
  server {
    listen 127.0.0.1:${port};
    root ${JSON.stringify(rootDir)};
    location = ${READY_PATH} { access_log off; return 204; }
  }
}
`;
}

export class NginxBucket {
  constructor(
    readonly name: string,
    readonly process: ManagedProcess,
    readonly url: string,
    readonly rootDir: string,
    private readonly accessLogFile: string,
  ) {}

  async records(): Promise<AccessRecord[]> {
    return parseNginxJsonLog(await readFile(this.accessLogFile, 'utf8').catch(() => ''));
  }

  objectPath(digest: string): string {
    return join(this.rootDir, BLOB_KEY_PREFIX, digest);
  }

  /** Stores a blob after checking it really is the content its digest names. */
  async put(digest: string, bytes: Buffer): Promise<void> {
    const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (actual !== digest) throw new Error(`refusing to store ${digest}: content hashes to ${actual}`);
    await writeFile(this.objectPath(digest), bytes);
  }

  /** Stores a damaged copy of the blob under its real digest: same size, bytes flipped mid-file. */
  async putCorrupted(digest: string, bytes: Buffer): Promise<void> {
    const damaged = Buffer.from(bytes);
    const middle = Math.floor(damaged.length / 2);
    for (let offset = middle; offset < Math.min(middle + 64, damaged.length); offset += 1) {
      damaged[offset] = (damaged[offset] ?? 0) ^ 0xff;
    }
    await writeFile(this.objectPath(digest), damaged);
  }
}

export async function startNginxBucket(name: string, workDir: string): Promise<NginxBucket> {
  const rootDir = join(workDir, 'root');
  await mkdir(join(rootDir, BLOB_KEY_PREFIX), { recursive: true });
  await mkdir(join(workDir, 'tmp'), { recursive: true });
  return startOnFreePort(async (port) => {
    const configFile = join(workDir, 'nginx.conf');
    await writeFile(configFile, nginxBucketConfig(workDir, rootDir, port));
    const nginx = new ManagedProcess(`nginx ${name}`, NGINX_BINARY, ['-p', workDir, '-e', join(workDir, 'error.log'), '-c', configFile]);
    const url = `http://127.0.0.1:${port}`;
    try {
      await nginx.waitUntil(async () => (await fetch(`${url}${READY_PATH}`)).status === 204, 10_000);
    } catch (error) {
      const errorLog = await readFile(join(workDir, 'error.log'), 'utf8').catch(() => '');
      await nginx.stop();
      throw new Error(`${String(error)}\n${errorLog}`);
    }
    return new NginxBucket(name, nginx, url, rootDir, join(workDir, 'access.log'));
  });
}
