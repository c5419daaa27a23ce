/**
 * One HTTP exchange over node:http(s). Not fetch: Node loads undici on the first fetch, which
 * costs a `vaultpilot kv get` more start-up time than the request itself (docs/cli.md, benchmark).
 * node:https (and TLS with it) loads only for an https: address.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { ServerUnreachableError } from './errors.js';

export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly text: string;
}

export interface HttpExchange {
  readonly method: string;
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** A response bigger than this is not one the API sends. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

function reason(error: unknown): string {
  const code = error instanceof Error && 'code' in error ? String(error.code) : undefined;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (is the server running?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'unknown host';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ETIMEDOUT':
      return 'timed out';
    default:
      return code ?? (error instanceof Error ? error.message : String(error));
  }
}

export async function exchange(call: HttpExchange): Promise<HttpAnswer> {
  const send = call.url.protocol === 'https:' ? (await import('node:https')).request : httpRequest;
  const headers: Record<string, string> = { ...call.headers };
  if (call.body !== undefined) headers['content-length'] = String(Buffer.byteLength(call.body, 'utf8'));
  return new Promise((resolve, reject) => {
    const request = send(call.url, { method: call.method, headers }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_RESPONSE_BYTES) {
          request.destroy(new Error('the response is too large'));
          return;
        }
        chunks.push(chunk);
      });
      response.on('end', () =>
        resolve({
          status: response.statusCode ?? 0,
          headers: response.headers,
          text: Buffer.concat(chunks).toString('utf8'),
        }),
      );
      response.on('error', (error) =>
        reject(new ServerUnreachableError(`${call.url.origin}: ${reason(error)}`, { cause: error })),
      );
    });
    request.setTimeout(call.timeoutMs ?? DEFAULT_TIMEOUT_MS, () => {
      const error = Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' });
      request.destroy(error);
    });
    request.on('error', (error) =>
      reject(
        new ServerUnreachableError(`cannot reach ${call.url.origin}: ${reason(error)}`, { cause: error }),
      ),
    );
    request.end(call.body);
  });
}
