/**
 * The local runtime honours VAULTPILOT_CORS_ORIGINS with the API Gateway deployment's semantics:
 * a preflight from a listed origin gets the allowed methods and headers (max age one hour, as CDK
 * configures it); any other origin gets no Access-Control-Allow-Origin; responses of the handlers,
 * of the identity endpoints and of refusals made by the server itself carry the same headers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../lambdas/shared/config.js';
import { parseLocalLimits } from '../../lambdas/local/local-limits.js';
import type { LocalRuntime } from '../../lambdas/local/runtime.js';
import { signInLocal, startInMemoryRuntime } from '../support/local-api.js';

const ADMIN_PASSWORD = 'correct-horse-battery-staple-42';
const ALLOWED = 'https://vault.example.com';
let runtime: LocalRuntime;

beforeAll(async () => {
  runtime = await startInMemoryRuntime({
    adminPassword: ADMIN_PASSWORD,
    logLevel: 'SILENT',
    env: { VAULTPILOT_CORS_ORIGINS: `${ALLOWED}, http://localhost:4000` },
  });
});

afterAll(async () => {
  await runtime.stop();
});

function preflight(origin: string): Promise<Response> {
  return fetch(`${runtime.url}/secrets/data/app/db`, {
    method: 'OPTIONS',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization,content-type',
    },
  });
}

describe('CORS from VAULTPILOT_CORS_ORIGINS', () => {
  it('answers preflight for a configured origin only', async () => {
    // Act
    const allowed = await preflight(ALLOWED);
    const devServer = await preflight('http://localhost:5173');

    // Assess
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(allowed.headers.get('access-control-allow-methods')).toContain('POST');
    expect(allowed.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('authorization');
    expect(allowed.headers.get('access-control-max-age')).toBe('3600');
    // The dashboard dev server is only a default: configured origins replace it.
    expect(devServer.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('adds the allowed origin to handler, identity and server-made responses, and no other origin', async () => {
    // Prepare
    const token = await signInLocal(runtime.url, 'admin', ADMIN_PASSWORD);

    // Act
    const me = await fetch(`${runtime.url}/me`, {
      headers: { authorization: `Bearer ${token}`, origin: ALLOWED },
    });
    const meOther = await fetch(`${runtime.url}/me`, {
      headers: { authorization: `Bearer ${token}`, origin: 'https://evil.example' },
    });
    const signIn = await fetch(`${runtime.url}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: ALLOWED },
      body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
    });
    const notFound = await fetch(`${runtime.url}/no-such-route`, { headers: { origin: ALLOWED } });

    // Assess
    expect(me.status).toBe(200);
    expect(me.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(meOther.headers.get('access-control-allow-origin')).toBeNull();
    expect(signIn.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(notFound.status).toBe(404);
    expect(notFound.headers.get('access-control-allow-origin')).toBe(ALLOWED);
  });

  it('refuses an origin that is not an origin, naming the variable', () => {
    // Act
    const error = (() => {
      try {
        parseLocalLimits({ VAULTPILOT_CORS_ORIGINS: 'https://ok.example, *' });
        return undefined;
      } catch (caught: unknown) {
        return caught;
      }
    })();

    // Assess
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems[0]?.variable).toBe('VAULTPILOT_CORS_ORIGINS');
  });
});
