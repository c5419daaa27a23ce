/**
 * Readiness: the local runtime binds its port before DynamoDB, the identity provider and the
 * admin are ready (its URL is the issuer). Until everything is ready every request answers 503
 * with Retry-After, so the first `/health` 200 means sign-in works: the very next
 * `POST /auth/token` succeeds (it used to answer 404, then 401).
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseLocalLimits } from '../../lambdas/local/local-limits.js';
import { startLocalRuntime } from '../../lambdas/local/runtime.js';
import { parseLocalRuntimeConfig } from '../../lambdas/shared/config.js';

const ADMIN_PASSWORD = 'correct-horse-battery-staple-42';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

describe('local runtime readiness', () => {
  it('answers 503 with Retry-After until ready; after the first /health 200, sign-in works at once', async () => {
    // Prepare
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const env = {
      PORT: String(port),
      VAULTPILOT_IN_MEMORY: 'true',
      VAULTPILOT_SCHEDULER: 'false',
      VAULTPILOT_ADMIN_PASSWORD: ADMIN_PASSWORD,
    };
    const starting = startLocalRuntime(
      parseLocalRuntimeConfig(env),
      { info: () => undefined, error: () => undefined },
      parseLocalLimits(env),
    );

    // Act: poll as a deployment script would, then sign in right away.
    const early: { status: number; retryAfter: string | null }[] = [];
    let healthy = false;
    while (!healthy) {
      try {
        const response = await fetch(`${base}/health`);
        await response.arrayBuffer();
        if (response.status === 200) healthy = true;
        else early.push({ status: response.status, retryAfter: response.headers.get('retry-after') });
      } catch {
        // Not listening yet.
      }
      if (!healthy) await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const signIn = await fetch(`${base}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
    });
    const runtime = await starting;
    await runtime.stop();

    // Assess
    expect(signIn.status).toBe(200);
    expect(early.length).toBeGreaterThan(0);
    expect(early.every(({ status, retryAfter }) => status === 503 && retryAfter === '1')).toBe(true);
  });
});
