/**
 * A flood of sign-ins with distinct made-up user names (each one a full-cost scrypt) while a
 * signed-in client reads secrets, through the local runtime over HTTP. Password hashing runs
 * through a bounded gate, so the reads go on (they are not queued behind the hashing) and no
 * more than the bound of scrypt calls ever runs at once; the flood gets 401s and 503s, never a 500.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../lambdas/local/runtime.js';
import { defaultHashingLimits } from '../../lambdas/local/hashing-gate.js';
import { apiCall, signInLocal, startInMemoryRuntime } from '../support/local-api.js';

const ADMIN_PASSWORD = 'correct-horse-battery-staple-42';
const FLOOD = 30;
let runtime: LocalRuntime;

beforeAll(async () => {
  runtime = await startInMemoryRuntime({
    adminPassword: ADMIN_PASSWORD,
    logLevel: 'SILENT',
    // Everything from this test comes from 127.0.0.1: let the whole flood reach the hashing and
    // wait there, so it is still hashing (one at a time) long after the reads are done.
    env: {
      VAULTPILOT_SIGN_IN_SOURCE_MAX_FAILURES: '10000',
      VAULTPILOT_PASSWORD_HASH_QUEUE: '64',
      VAULTPILOT_PASSWORD_HASH_MAX_WAIT_MS: '60000',
    },
  });
});

afterAll(async () => {
  await runtime.stop();
});

// Thirty full-cost scrypts one at a time: seconds on an idle laptop, more on a busy CI machine.
describe('a sign-in flood during authenticated reads', () => {
  it('keeps reads answering while the hashing is bounded and still busy', async () => {
    // Prepare
    const token = await signInLocal(runtime.url, 'admin', ADMIN_PASSWORD);
    await apiCall(runtime.url, token, 'POST', '/secrets/data/app/db', {
      data: { password: 'flood-canary-1' },
    });
    const before = runtime.identity.hashingStats();

    // Act
    const flood = Array.from({ length: FLOOD }, (_, index) =>
      fetch(`${runtime.url}/auth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: `flood-user-${index}`, password: 'not-a-real-password' }),
      }).then((response) => response.status),
    );
    const reads: number[] = [];
    const hashingPendingAfterRead: number[] = [];
    for (let read = 0; read < 5; read += 1) {
      reads.push((await apiCall(runtime.url, token, 'GET', '/secrets/data/app/db')).status);
      const stats = runtime.identity.hashingStats();
      hashingPendingAfterRead.push(stats.active + stats.queued);
    }
    const floodStatuses = await Promise.all(flood);
    const after = runtime.identity.hashingStats();

    // Assess
    expect(reads).toEqual(Array(5).fill(200));
    // The reads finished while sign-ins were still waiting to hash: they did not queue behind them.
    expect(hashingPendingAfterRead.at(-1)).toBeGreaterThan(0);
    expect(Math.max(before.peakActive, after.peakActive)).toBeLessThanOrEqual(
      defaultHashingLimits().concurrency,
    );
    expect(floodStatuses).toEqual(Array(FLOOD).fill(401));
  }, 120_000);
});
