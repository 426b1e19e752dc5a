import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';

/** The slice of autocannon's options and result these tests use (it ships no types). */
interface CannonRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  setupRequest?: (request: CannonRequest, context: Record<string, unknown>) => CannonRequest;
  onResponse?: (status: number, body: string, context: Record<string, unknown>, headers: Record<string, string | string[]>) => void;
}

interface CannonResult {
  errors: number;
  timeouts: number;
  duration: number;
}

type Cannon = (options: {
  url: string;
  connections: number;
  amount: number;
  timeout: number;
  requests: CannonRequest[];
}) => Promise<CannonResult>;

const autocannon = createRequire(import.meta.url)('autocannon') as Cannon;

export interface FloodRequest {
  path: string;
  headers?: Record<string, string>;
}

export interface FloodAnswer {
  status: number;
  location: string | undefined;
  retryAfter: string | undefined;
}

export interface FloodReport {
  sent: number;
  /** Answers by status code. */
  statuses: Map<number, number>;
  /** Connection errors and timeouts: none expected, the edge must answer every request. */
  errors: number;
  seconds: number;
}

function headerValue(headers: Record<string, string | string[]>, name: string): string | undefined {
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value[value.length - 1] : value;
  }
  return undefined;
}

/**
 * Sends `amount` requests over `connections` keep-alive connections as fast as the edge answers.
 * `next(i)` makes each request; `check` sees every answer next to the request it belongs to
 * (one request in flight per connection, so answers cannot be mismatched).
 */
export async function flood(
  url: string,
  options: { amount: number; connections: number; next: (i: number) => FloodRequest; check?: (request: FloodRequest, answer: FloodAnswer) => void },
): Promise<FloodReport> {
  const statuses = new Map<number, number>();
  let issued = 0;
  const result = await autocannon({
    url,
    connections: options.connections,
    amount: options.amount,
    timeout: 10,
    requests: [
      {
        setupRequest(request, context) {
          const next = options.next(issued++);
          context.current = next;
          return { ...request, method: 'GET', path: next.path, headers: { ...request.headers, ...next.headers } };
        },
        onResponse(status, _body, context, headers) {
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          options.check?.(context.current as FloodRequest, {
            status,
            location: headerValue(headers, 'location'),
            retryAfter: headerValue(headers, 'retry-after'),
          });
        },
      },
    ],
  });
  return { sent: issued, statuses, errors: result.errors + result.timeouts, seconds: result.duration };
}

export function randomDigest(): string {
  return `sha256:${randomBytes(32).toString('hex')}`;
}

/** How many requests the floods send: small enough for CI, raised with HOSTILE_FLOOD for a deeper run. */
export function floodSize(fallback: number): number {
  const fromEnv = Number(process.env.HOSTILE_FLOOD ?? '');
  return Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : fallback;
}
