import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { alive, gone, ROOT } from '../support/cli.js';
import { scratch, writeConfig } from '../support/serve.js';
import { until } from '../support/wait.js';

describe('npm start (the built binary)', () => {
  const dir = scratch();
  let serverPid: number | undefined;
  afterAll(() => {
    if (serverPid !== undefined && alive(serverPid)) process.kill(serverPid, 'SIGKILL');
    dir.cleanup();
  });

  it('stops the server when the npm process gets SIGTERM', async () => {
    const file = writeConfig(`${dir.path}/edge.yaml`, { origin: { url: 'https://o.example' }, admin: { port: 0 } });
    const npm = spawn('npm', ['start'], { cwd: ROOT, env: { ...process.env, REGISTRY_EDGE_CONFIG: file }, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: Array<Record<string, unknown>> = [];
    createInterface({ input: npm.stdout }).on('line', (line) => {
      if (line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
    });
    const npmExited = new Promise<void>((resolve) => npm.once('exit', () => resolve()));
    try {
      const listening = await until('the listening line', () => lines.find((l) => l.msg === 'listening'), { timeoutMs: 15_000 });
      serverPid = listening.pid as number;
      expect(serverPid).not.toBe(npm.pid);
      npm.kill('SIGTERM');
      await npmExited;
      await gone(serverPid);
      expect(lines.some((l) => l.msg === 'stopped')).toBe(true);
    } finally {
      if (npm.exitCode === null) npm.kill('SIGKILL');
    }
  });
});
