// What the two baseline servers share: their --port/--host flags and the start-up line they
// print, the same one `registry-edge serve` prints, so the bench drives every server alike.
import process from 'node:process';

/** @param {string[]} argv @returns {{ host: string, port: number }} */
export function listenFlags(argv) {
  const flag = (/** @type {string} */ name, /** @type {string} */ fallback) => {
    const at = argv.indexOf(name);
    return at >= 0 && argv[at + 1] !== undefined ? String(argv[at + 1]) : fallback;
  };
  return { host: flag('--host', '127.0.0.1'), port: Number(flag('--port', '0')) };
}

/** @param {string} host @param {number} port */
export function announceListening(host, port) {
  process.stdout.write(`${JSON.stringify({ level: 30, time: Date.now(), msg: 'listening', host, port })}\n`);
}

/** Every request gets this Location: a port nothing listens on, so a followed redirect fails fast. */
export const FIXED_LOCATION = 'http://127.0.0.1:9/v2/bench/fixed-redirect';
