// Glue (not in the seed): what both services share. An HTTP client on node:http, so the
// seed's HttpInstrumentation sees outgoing calls as it does in MindWeave, and Redis
// commands counted and timed with the seed's redis_* metrics.
import http from 'node:http';
import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { redisOperations, redisLatency } from '../seed/metrics/metrics.service';

export const FAULT_SCOPE_HEADER = 'x-mw-fault-scope';

export class HttpError extends Error {
  constructor(public statusCode: number, message: string, public timeout = false) {
    super(message);
  }
}

/** POST a JSON body; resolves the parsed reply of a 2xx, rejects with an HttpError. */
export function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string>,
  timeoutMs: number
): Promise<any> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': payload.length, ...headers },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const status = res.statusCode ?? 500;
          if (status >= 400) {
            reject(new HttpError(status, `upstream answered ${status}`));
            return;
          }
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'));
          } catch (error) {
            reject(new HttpError(502, 'upstream answered no JSON'));
          }
        });
      }
    );
    req.on('timeout', () => req.destroy(new HttpError(504, `upstream timed out after ${timeoutMs} ms`, true)));
    req.on('error', (error) => reject(error instanceof HttpError ? error : new HttpError(502, error.message)));
    req.end(payload);
  });
}

/** One Redis command, counted by status and timed; its span comes from RedisInstrumentation. */
export async function redisOp<T>(operation: string, call: () => Promise<T>): Promise<T> {
  const start = process.hrtime.bigint();
  let status = 'error';
  try {
    const result = await call();
    status = 'success';
    return result;
  } finally {
    redisOperations.inc({ operation, status });
    redisLatency.observe({ operation }, Number(process.hrtime.bigint() - start) / 1e9);
  }
}

/** Run `fn` with no spans: a health probe is untraced, so are the commands it sends. */
export function untraced<T>(fn: () => Promise<T>): Promise<T> {
  return context.with(suppressTracing(context.active()), fn);
}

export function env(name: string, fallback: string): string {
  return process.env[name] || fallback;
}
