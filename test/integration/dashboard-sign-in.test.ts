/**
 * The dashboard's sign-in at the local issuer, through the real local server: authorization
 * code with PKCE, refresh-token rotation, revocation and sign-out, as a browser and the
 * dashboard would call them (fetch without following redirects).
 */
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalRuntime } from '../../lambdas/local/runtime.js';
import { startInMemoryRuntime } from '../support/local-api.js';

const ADMIN_PASSWORD = 'dashboard-sign-in-password-42';
const CLIENT_ID = 'vaultpilot-dashboard';
let runtime: LocalRuntime;
let redirectUri: string;

beforeAll(async () => {
  runtime = await startInMemoryRuntime({ adminPassword: ADMIN_PASSWORD, logLevel: 'SILENT' });
  redirectUri = `${runtime.url}/callback`;
});

afterAll(async () => {
  await runtime.stop();
});

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizeUrl(
  overrides: Record<string, string | undefined> = {},
  challenge = pkce().challenge,
): string {
  const params: Record<string, string | undefined> = {
    response_type: 'code',
    client_id: CLIENT_ID,
    redirect_uri: redirectUri,
    state: randomBytes(16).toString('base64url'),
    code_challenge: challenge,
    code_challenge_method: 'S256',
    scope: 'openid email profile',
    ...overrides,
  };
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value !== undefined) query.set(name, value);
  return `${runtime.url}/oauth2/authorize?${query.toString()}`;
}

interface SignInPage {
  readonly status: number;
  readonly html: string;
  readonly headers: Headers;
  readonly fields: Record<string, string>;
  readonly cookie: string;
}

async function openSignIn(url: string): Promise<SignInPage> {
  const response = await fetch(url, { redirect: 'manual', headers: { accept: 'text/html' } });
  const html = await response.text();
  const fields: Record<string, string> = {};
  for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[match[1] ?? ''] = (match[2] ?? '').replace(/&amp;/g, '&').replace(/&quot;/g, '"');
  }
  const cookie = (response.headers.get('set-cookie') ?? '').split(';', 1)[0] ?? '';
  return { status: response.status, html, headers: response.headers, fields, cookie };
}

async function submitSignIn(
  page: SignInPage,
  username: string,
  password: string,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${runtime.url}/oauth2/authorize`, {
    method: 'POST',
    redirect: 'manual',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      origin: runtime.url,
      cookie: page.cookie,
      ...headers,
    },
    body: new URLSearchParams({ ...page.fields, username, password }).toString(),
  });
}

async function token(form: Record<string, string>): Promise<{ status: number; json: Record<string, any> }> {
  const response = await fetch(`${runtime.url}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: response.status, json: (await response.json()) as Record<string, any> };
}

/** Signs the admin in up to the redirect; returns the code, the state and the verifier. */
async function authorize(): Promise<{ code: string; state: string; verifier: string }> {
  const { verifier, challenge } = pkce();
  const state = randomBytes(16).toString('base64url');
  const page = await openSignIn(authorizeUrl({ state }, challenge));
  const response = await submitSignIn(page, 'admin', ADMIN_PASSWORD);
  expect(response.status).toBe(303);
  const location = new URL(response.headers.get('location') ?? '');
  expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
  return {
    code: location.searchParams.get('code') ?? '',
    state: location.searchParams.get('state') ?? '',
    verifier,
  };
}

function exchange(code: string, verifier: string, uri = redirectUri) {
  return token({
    grant_type: 'authorization_code',
    code,
    redirect_uri: uri,
    client_id: CLIENT_ID,
    code_verifier: verifier,
  });
}

describe('GET /oauth2/authorize', () => {
  it('shows an accessible sign-in page with a strict CSP, a form token and a SameSite cookie', async () => {
    // Act
    const page = await openSignIn(authorizeUrl());

    // Assess
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`form-action 'self' ${runtime.url}`);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('script-src');
    expect(page.html).not.toContain('<script');
    expect(page.html).toContain('<label for="username">Username</label>');
    expect(page.html).toContain('<label for="password">Password</label>');
    expect(page.html).toContain('<button type="submit">Sign in</button>');
    expect(page.fields.form_token).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);
    expect(page.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict$/);
  });

  it('refuses a foreign redirect_uri or client_id with a page, never a redirect', async () => {
    // Act
    const foreign = await fetch(authorizeUrl({ redirect_uri: 'https://evil.example/callback' }), {
      redirect: 'manual',
    });
    const otherPath = await fetch(authorizeUrl({ redirect_uri: `${runtime.url}/elsewhere` }), {
      redirect: 'manual',
    });
    const client = await fetch(authorizeUrl({ client_id: 'someone-else' }), { redirect: 'manual' });

    // Assess
    for (const response of [foreign, otherPath, client]) {
      expect(response.status).toBe(400);
      expect(response.headers.get('location')).toBeNull();
      expect(await response.text()).toContain('role="alert"');
    }
  });

  it('redirects a missing or malformed state, a plain challenge and another response type with an error', async () => {
    // Act
    const cases = await Promise.all(
      [
        { state: undefined },
        { state: 'a b' },
        { code_challenge_method: 'plain' },
        { code_challenge: 'too-short' },
        { response_type: 'token' },
        { scope: 'openid admin:everything' },
      ].map(async (override) => {
        const response = await fetch(authorizeUrl(override), { redirect: 'manual' });
        return { override, response, location: new URL(response.headers.get('location') ?? 'http://x/') };
      }),
    );

    // Assess
    for (const { response, location } of cases) {
      expect(response.status).toBe(302);
      expect(`${location.origin}${location.pathname}`).toBe(redirectUri);
      expect(location.searchParams.get('code')).toBeNull();
    }
    expect(cases.map(({ location }) => location.searchParams.get('error'))).toEqual([
      'invalid_request',
      'invalid_request',
      'invalid_request',
      'invalid_request',
      'unsupported_response_type',
      'invalid_scope',
    ]);
    // A malformed state is never echoed back.
    expect(cases[1]?.location.searchParams.get('state')).toBeNull();
  });
});

describe('POST /oauth2/authorize', () => {
  it('refuses a form without the cookie, from another origin, or with changed parameters', async () => {
    // Prepare
    const page = await openSignIn(authorizeUrl());

    // Act
    const noCookie = await submitSignIn(page, 'admin', ADMIN_PASSWORD, { cookie: '' });
    const crossSite = await submitSignIn(page, 'admin', ADMIN_PASSWORD, { origin: 'http://evil.example' });
    const swapped = await submitSignIn(
      { ...page, fields: { ...page.fields, code_challenge: pkce().challenge } },
      'admin',
      ADMIN_PASSWORD,
    );

    // Assess
    for (const response of [noCookie, crossSite, swapped]) {
      expect(response.status).toBe(403);
      expect(response.headers.get('location')).toBeNull();
    }
  });

  it('answers a wrong password with the page again and an alert, then locks the name out', async () => {
    // Prepare
    const page = await openSignIn(authorizeUrl());
    await runtime.identity.addUser({
      username: 'lockout-target',
      password: 'lockout-password-123',
      tenant: 'default',
      groups: ['viewer'],
    });

    // Act
    const answers: number[] = [];
    let html = '';
    for (let attempt = 0; attempt < 6; attempt += 1) {
      const response = await submitSignIn(page, 'lockout-target', 'not-the-password-1');
      answers.push(response.status);
      html = await response.text();
    }

    // Assess
    expect(answers).toEqual([401, 401, 401, 401, 401, 429]);
    expect(html).toContain('role="alert"');
    expect(html).toContain('Too many failed sign-in attempts');
    expect(html).not.toContain('not-the-password-1');
  });
});

describe('the authorization code grant', () => {
  it('exchanges a code for tokens the API accepts, with the state returned unchanged', async () => {
    // Prepare
    const { verifier, challenge } = pkce();
    const state = 'state-' + randomBytes(8).toString('hex');
    const page = await openSignIn(authorizeUrl({ state }, challenge));
    const redirect = await submitSignIn(page, 'admin', ADMIN_PASSWORD);
    const location = new URL(redirect.headers.get('location') ?? '');

    // Act
    const answer = await exchange(location.searchParams.get('code') ?? '', verifier);
    const me = await fetch(`${runtime.url}/me`, {
      headers: { authorization: `Bearer ${answer.json.access_token}` },
    });

    // Assess
    expect(location.searchParams.get('state')).toBe(state);
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.json).sort()).toEqual([
      'access_token',
      'expires_in',
      'id_token',
      'refresh_token',
      'token_type',
    ]);
    expect(answer.json.token_type).toBe('Bearer');
    const idClaims = JSON.parse(
      Buffer.from(String(answer.json.id_token).split('.')[1] ?? '', 'base64url').toString(),
    );
    expect(idClaims).toMatchObject({ aud: CLIENT_ID, iss: runtime.issuer, 'cognito:username': 'admin' });
    expect(me.status).toBe(200);
    expect(await me.json()).toMatchObject({ username: 'admin', roles: ['admin'], clientId: CLIENT_ID });
  });

  it('refuses a wrong verifier, and the code is spent by that attempt', async () => {
    // Prepare
    const { code, verifier } = await authorize();

    // Act
    const wrong = await exchange(code, pkce().verifier);
    const right = await exchange(code, verifier);

    // Assess
    expect(wrong).toMatchObject({ status: 400, json: { error: 'invalid_grant' } });
    expect(right).toMatchObject({ status: 400, json: { error: 'invalid_grant' } });
  });

  it('refuses a reused code and revokes the refresh token its first use produced', async () => {
    // Prepare
    const { code, verifier } = await authorize();
    const first = await exchange(code, verifier);

    // Act
    const second = await exchange(code, verifier);
    const refresh = await token({
      grant_type: 'refresh_token',
      refresh_token: String(first.json.refresh_token),
      client_id: CLIENT_ID,
    });

    // Assess
    expect(first.status).toBe(200);
    expect(second).toMatchObject({ status: 400, json: { error: 'invalid_grant' } });
    expect(refresh).toMatchObject({ status: 400, json: { error: 'invalid_grant' } });
  });

  it('refuses a code presented with another redirect_uri or by another client', async () => {
    // Prepare
    const one = await authorize();
    const two = await authorize();

    // Act
    const otherUri = await exchange(one.code, one.verifier, 'http://localhost:5173/callback');
    const otherClient = await token({
      grant_type: 'authorization_code',
      code: two.code,
      redirect_uri: redirectUri,
      client_id: 'someone-else',
      code_verifier: two.verifier,
    });
    const withSecret = await token({
      grant_type: 'authorization_code',
      code: two.code,
      redirect_uri: redirectUri,
      client_id: CLIENT_ID,
      client_secret: 'guess',
      code_verifier: two.verifier,
    });

    // Assess
    expect(otherUri).toMatchObject({ status: 400, json: { error: 'invalid_grant' } });
    expect(otherClient).toMatchObject({ status: 401, json: { error: 'invalid_client' } });
    expect(withSecret).toMatchObject({ status: 401, json: { error: 'invalid_client' } });
  });

  it('leaves the client credentials grant to the existing endpoint', async () => {
    // Act
    const answer = await token({ grant_type: 'client_credentials', client_id: 'x', client_secret: 'y' });

    // Assess
    expect(answer.status).toBe(400);
    expect(answer.json.error).toBe('invalid_client');
  });
});

describe('the refresh token grant', () => {
  it('issues new tokens and a new refresh token; the old one then ends the session', async () => {
    // Prepare
    const { code, verifier } = await authorize();
    const signedIn = await exchange(code, verifier);
    const original = String(signedIn.json.refresh_token);

    // Act
    const refreshed = await token({
      grant_type: 'refresh_token',
      refresh_token: original,
      client_id: CLIENT_ID,
    });
    const rotated = String(refreshed.json.refresh_token);
    const replay = await token({
      grant_type: 'refresh_token',
      refresh_token: original,
      client_id: CLIENT_ID,
    });
    const afterReplay = await token({
      grant_type: 'refresh_token',
      refresh_token: rotated,
      client_id: CLIENT_ID,
    });

    // Assess
    expect(refreshed.status).toBe(200);
    expect(rotated).not.toBe(original);
    expect(refreshed.json.access_token).not.toBe(signedIn.json.access_token);
    const me = await fetch(`${runtime.url}/me`, {
      headers: { authorization: `Bearer ${refreshed.json.access_token}` },
    });
    expect(me.status).toBe(200);
    expect(replay).toMatchObject({ status: 400, json: { error: 'invalid_grant' } });
    expect(afterReplay).toMatchObject({ status: 400, json: { error: 'invalid_grant' } });
  });

  it('refuses a revoked refresh token (RFC 7009)', async () => {
    // Prepare
    const { code, verifier } = await authorize();
    const refreshToken = String((await exchange(code, verifier)).json.refresh_token);

    // Act
    const revoked = await fetch(`${runtime.url}/oauth2/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: refreshToken, client_id: CLIENT_ID }).toString(),
    });
    const refresh = await token({
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
      client_id: CLIENT_ID,
    });

    // Assess
    expect(revoked.status).toBe(200);
    expect(refresh).toMatchObject({ status: 400, json: { error: 'invalid_grant' } });
  });
});

describe('GET /logout and discovery', () => {
  it('redirects to the dashboard signed-out page on a loopback origin only', async () => {
    // Act
    const good = await fetch(
      `${runtime.url}/logout?client_id=${CLIENT_ID}&logout_uri=${encodeURIComponent(`${runtime.url}/signed-out`)}`,
      { redirect: 'manual' },
    );
    const foreign = await fetch(
      `${runtime.url}/logout?client_id=${CLIENT_ID}&logout_uri=${encodeURIComponent('https://evil.example/signed-out')}`,
      { redirect: 'manual' },
    );

    // Assess
    expect(good.status).toBe(302);
    expect(good.headers.get('location')).toBe(`${runtime.url}/signed-out`);
    expect(foreign.status).toBe(400);
    expect(foreign.headers.get('location')).toBeNull();
  });

  it('lists the code flow endpoints in the discovery document', async () => {
    // Act
    const response = await fetch(`${runtime.url}/.well-known/openid-configuration`);

    // Assess
    expect(await response.json()).toMatchObject({
      authorization_endpoint: `${runtime.url}/oauth2/authorize`,
      end_session_endpoint: `${runtime.url}/logout`,
      revocation_endpoint: `${runtime.url}/oauth2/revoke`,
      response_types_supported: ['code'],
      code_challenge_methods_supported: ['S256'],
      grant_types_supported: ['client_credentials', 'authorization_code', 'refresh_token'],
    });
  });
});
