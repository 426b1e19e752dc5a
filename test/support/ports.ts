import { execFileSync } from 'node:child_process';
import { createServer } from 'node:net';

/*
 * Ports for tests that need a real number up front (a config file, the admin listener, whose
 * port 0 means off). Anything that can listen on port 0 and read the port back should.
 */

/** A port that was free a moment ago. Callers must retry when a server loses the race for it. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not read the probe port'));
      });
    });
  });
}

/**
 * A port free right now on 127.0.0.1. The admin listener needs a real number (`admin.port: 0`
 * turns it off), so tests ask the kernel for one; synchronous so config documents stay plain.
 */
export function freePortSync(): number {
  const script = "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})";
  return Number(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }));
}
