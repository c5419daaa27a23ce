/**
 * The local server hands the raw path to the handler, as API Gateway does: `.`/`..` segments and
 * their encoded forms reach the core's path validator (400) instead of being resolved here, so
 * `POST /secrets/data/a/../b` never writes `b`. Sent with node:http, which (unlike fetch) keeps
 * the request-target exactly as written.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../lambdas/local/runtime.js';
import { apiCall, signInLocal, startInMemoryRuntime } from '../support/local-api.js';

const ADMIN_PASSWORD = 'correct-horse-battery-staple-42';
let runtime: LocalRuntime;
let token: string;

beforeAll(async () => {
  runtime = await startInMemoryRuntime({ adminPassword: ADMIN_PASSWORD, logLevel: 'SILENT' });
  token = await signInLocal(runtime.url, 'admin', ADMIN_PASSWORD);
});

afterAll(async () => {
  await runtime.stop();
});

function rawPost(path: string, body: unknown): Promise<{ status: number; body: string }> {
  const url = new URL(runtime.url);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    outgoing.on('error', reject);
    outgoing.end(JSON.stringify(body));
  });
}

describe('raw paths', () => {
  it.each([
    ['/secrets/data/a/../b'],
    ['/secrets/data/a/%2e%2e/b'],
    ['/secrets/data/a/%2E%2E/b'],
    ['/secrets/data/a/./b'],
    ['/secrets/data/a/%2e/b'],
  ])('answers 400 to %s and writes nothing', async (path) => {
    // Act
    const answer = await rawPost(path, { data: { k: 'v' } });
    const b = await apiCall(runtime.url, token, 'GET', '/secrets/data/b');
    const ab = await apiCall(runtime.url, token, 'GET', '/secrets/data/a/b');

    // Assess
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body).error.code).toBe('ValidationError');
    expect(b.status).toBe(404);
    expect(ab.status).toBe(404);
  });

  it('still writes a plain path and decodes percent-encoded segments as API Gateway does', async () => {
    // Act
    const written = await rawPost('/secrets/data/app/db%2D1', { data: { k: 'v' } });
    const read = await apiCall(runtime.url, token, 'GET', '/secrets/data/app/db-1');

    // Assess
    expect(written.status).toBe(200);
    expect(read.status).toBe(200);
    expect(read.json.data.data).toEqual({ k: 'v' });
  });
});
