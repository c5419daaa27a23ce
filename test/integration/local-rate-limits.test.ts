/**
 * Per-client and per-tenant rate limits of the local API, over HTTP: token buckets keyed by the
 * verified token's subject and tenant, 429 with Retry-After and the standard error body, charged
 * only after the token verifies, so made-up tokens cannot spend someone else's budget.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../lambdas/local/runtime.js';
import { apiCall, signInLocal, startInMemoryRuntime } from '../support/local-api.js';

const ADMIN_PASSWORD = 'correct-horse-battery-staple-42';
let runtime: LocalRuntime;

beforeAll(async () => {
  runtime = await startInMemoryRuntime({
    adminPassword: ADMIN_PASSWORD,
    logLevel: 'SILENT',
    // One token per 100 s: the buckets cannot refill between the requests of the test.
    env: {
      VAULTPILOT_RATE_LIMIT_CLIENT_RPS: '0.01',
      VAULTPILOT_RATE_LIMIT_CLIENT_BURST: '3',
      VAULTPILOT_RATE_LIMIT_TENANT_RPS: '0.01',
      VAULTPILOT_RATE_LIMIT_TENANT_BURST: '5',
    },
  });
});

afterAll(async () => {
  await runtime.stop();
});

async function machineToken(tenant: string): Promise<string> {
  const { clientId, clientSecret } = await runtime.identity.addClient({
    tenant,
    scopes: ['vaultpilot/read'],
  });
  const response = await fetch(`${runtime.url}/oauth2/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials',
  });
  return ((await response.json()) as { access_token: string }).access_token;
}

describe('local API rate limits', () => {
  it('limits each client, then the tenant as a whole, with 429, Retry-After and the error body', async () => {
    // Prepare: forged tokens naming the admin come first; they must not spend its budget.
    const admin = await signInLocal(runtime.url, 'admin', ADMIN_PASSWORD);
    const forged = `${admin.slice(0, -6)}AAAAAA`;
    const forgedStatuses: number[] = [];
    for (let attempt = 0; attempt < 6; attempt += 1) {
      forgedStatuses.push((await apiCall(runtime.url, forged, 'GET', '/me')).status);
    }
    const sameTenant = await machineToken('default');
    const otherTenant = await machineToken('other');

    // Act
    const adminStatuses: number[] = [];
    for (let attempt = 0; attempt < 3; attempt += 1) {
      adminStatuses.push((await apiCall(runtime.url, admin, 'GET', '/me')).status);
    }
    const limited = await apiCall(runtime.url, admin, 'GET', '/me');
    const sameTenantStatuses: number[] = [];
    for (let attempt = 0; attempt < 3; attempt += 1) {
      sameTenantStatuses.push((await apiCall(runtime.url, sameTenant, 'GET', '/me')).status);
    }
    const otherTenantStatus = (await apiCall(runtime.url, otherTenant, 'GET', '/me')).status;

    // Assess
    expect(forgedStatuses).toEqual(Array(6).fill(401));
    expect(adminStatuses).toEqual([200, 200, 200]);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(90);
    expect(limited.json.error).toMatchObject({ code: 'TooManyRequests', requestId: expect.any(String) });
    expect(limited.json.error.message).toContain('this client');
    // The tenant's burst of 5: the admin spent 3, the second client gets 2, then the tenant is limited.
    expect(sameTenantStatuses).toEqual([200, 200, 429]);
    expect(otherTenantStatus).toBe(200);
  });

  it("charges a token sent in X-Vault-Token (Vault's clients) to the same client, answering 429 in Vault's shape", async () => {
    // Prepare: a fresh client of a fresh tenant, so the other test's spending does not count
    const token = await machineToken('vault-clients');
    const asVault = { 'x-vault-token': token };

    // Act: the client's burst of 3, spent on /me (Bearer) and /v1 (X-Vault-Token) alike
    const first = (await apiCall(runtime.url, token, 'GET', '/me')).status;
    const vaultStatuses: number[] = [];
    for (let attempt = 0; attempt < 2; attempt += 1) {
      vaultStatuses.push(
        (await apiCall(runtime.url, undefined, 'GET', '/v1/sys/mounts', undefined, asVault)).status,
      );
    }
    const limited = await apiCall(runtime.url, undefined, 'GET', '/v1/sys/mounts', undefined, asVault);

    // Assess
    expect([first, ...vaultStatuses]).toEqual([200, 200, 200]);
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(90);
    expect(limited.json).toEqual({ errors: [expect.stringContaining('this client')] });
  });
});
