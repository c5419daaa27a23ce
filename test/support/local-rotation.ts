/**
 * Rotations through the local runtime's API, as a client starts and watches them: registering a
 * rotated `vault-secret` credential, and waiting for a rotation to settle. Shared by the rotation
 * API suites; `call` is the caller whose token they use.
 */
import { expect } from 'vitest';
import { localRotationQueue } from '../../lambdas/adapters/local/in-process-rotation-queue.js';
import type { ApiCaller } from './local-api.js';

/**
 * Writes `{ token: value }` at `path` and registers a vault-secret credential rotating it every 30
 * days (`extra` adds or replaces fields of the request); returns the credential as created.
 */
export async function registerVaultSecret(
  call: ApiCaller,
  path: string,
  value: string,
  extra: Record<string, unknown> = {},
): Promise<any> {
  expect((await call('POST', `/secrets/data/${path}`, { data: { token: value } })).status).toBe(200);
  const answer = await call('POST', '/credentials', {
    type: 'vault-secret',
    name: `token ${path}`,
    secretPath: path,
    generator: { length: 48, field: 'token' },
    rotationPolicy: { intervalDays: 30, deactivateAfterDays: 0, deleteAfterDays: 0 },
    ...extra,
  });
  expect(answer.status, JSON.stringify(answer.json)).toBe(201);
  return answer.json.data;
}

/**
 * Runs the queued rotation jobs and reads `GET /rotations/{id}` until the rotation is no longer
 * pending or in progress; returns the rotation.
 */
export async function settledRotation(call: ApiCaller, rotationId: string): Promise<any> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    await localRotationQueue.drain();
    const answer = await call('GET', `/rotations/${rotationId}`);
    if (!['pending', 'in-progress'].includes(answer.json?.data?.state)) return answer.json.data;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`rotation ${rotationId} did not settle`);
}
