import { describe, expect, it } from 'vitest';

import { FakeApi, TEST_CONFIG } from '../test/fake-api.js';
import { fakeBrowser } from '../test/render-app.js';
import { codeChallenge, PENDING_SIGN_IN_KEY } from './pkce.js';
import { type BrowserPort, Session, SignInError } from './session.js';

const TOKENS = {
  access_token: 'access-1',
  id_token: 'id-1',
  refresh_token: 'refresh-1',
  expires_in: 3600,
  token_type: 'Bearer',
};

function setup() {
  const api = new FakeApi();
  const { browser, assigned, storage } = fakeBrowser(api);
  const timers: { run: () => void; ms: number }[] = [];
  const timed: BrowserPort = {
    ...browser,
    setTimeout: (run, ms) => timers.push({ run, ms }),
  };
  return { api, browser: timed, assigned, storage, timers, session: new Session(TEST_CONFIG, timed) };
}

describe('Session (authorization code + PKCE)', () => {
  it('sends the browser to the issuer and keeps only the verifier and state during the redirect', async () => {
    const { session, assigned, storage } = setup();

    await session.signIn('/secrets?path=prod/');

    const url = new URL(assigned[0] ?? '');
    const pending = JSON.parse(storage.getItem(PENDING_SIGN_IN_KEY) ?? '{}') as {
      state: string;
      verifier: string;
    };
    expect(Object.keys(pending).sort()).toEqual(['state', 'verifier']);
    expect(url.searchParams.get('state')).toBe(pending.state);
    expect(url.searchParams.get('code_challenge')).toBe(await codeChallenge(pending.verifier));
    expect(url.searchParams.get('redirect_uri')).toBe('https://dashboard.example.test/callback');
  });

  it('swaps the code for tokens with the verifier, returns to the page in state, keeps tokens out of storage', async () => {
    const { session, api, assigned, storage } = setup();
    api.on('POST', '/oauth2/token', { body: TOKENS });
    await session.signIn('/secrets?path=prod/');
    const state = new URL(assigned[0] ?? '').searchParams.get('state') ?? '';
    const { verifier } = JSON.parse(storage.getItem(PENDING_SIGN_IN_KEY) ?? '{}') as { verifier: string };

    const returnTo = await session.completeSignIn(new URLSearchParams({ code: 'the-code', state }));

    expect(returnTo).toBe('/secrets?path=prod/');
    expect(session.accessToken()).toBe('access-1');
    const form = new URLSearchParams(api.requestsTo('/oauth2/token')[0]?.body);
    expect(Object.fromEntries(form)).toEqual({
      grant_type: 'authorization_code',
      code: 'the-code',
      redirect_uri: 'https://dashboard.example.test/callback',
      client_id: 'vaultpilot-dashboard',
      code_verifier: verifier,
    });
    expect(storage.length).toBe(0);
  });

  it('starts one redirect however often a sign-in is asked for (React effects, parallel 401s)', async () => {
    const { session, assigned, storage } = setup();

    await Promise.all([session.signIn('/a'), session.signIn('/b')]);
    await session.signIn('/c');

    expect(assigned).toHaveLength(1);
    const pending = JSON.parse(storage.getItem(PENDING_SIGN_IN_KEY) ?? '{}') as { state: string };
    expect(new URL(assigned[0] ?? '').searchParams.get('state')).toBe(pending.state);
  });

  it('refuses an answer whose state is not the one this tab sent, without calling the token endpoint', async () => {
    const { session, api } = setup();
    api.on('POST', '/oauth2/token', { body: TOKENS });
    await session.signIn('/');

    const attempt = session.completeSignIn(new URLSearchParams({ code: 'stolen', state: 'forged.Lw' }));

    await expect(attempt).rejects.toBeInstanceOf(SignInError);
    expect(api.requestsTo('/oauth2/token')).toHaveLength(0);
    expect(session.isSignedIn()).toBe(false);
  });

  it('refreshes a minute before expiry with the refresh grant and keeps the refresh token', async () => {
    const { session, api, assigned, timers } = setup();
    api.on('POST', '/oauth2/token', (request) =>
      new URLSearchParams(request.body).get('grant_type') === 'refresh_token'
        ? { body: { ...TOKENS, access_token: 'access-2', refresh_token: undefined } }
        : { body: TOKENS },
    );
    await session.signIn('/');
    const state = new URL(assigned[0] ?? '').searchParams.get('state') ?? '';
    await session.completeSignIn(new URLSearchParams({ code: 'c', state }));

    expect(timers.at(-1)?.ms).toBe(3_540_000);
    timers.at(-1)?.run();
    await expect.poll(() => session.accessToken()).toBe('access-2');

    const refresh = new URLSearchParams(api.requestsTo('/oauth2/token')[1]?.body);
    expect(Object.fromEntries(refresh)).toEqual({
      grant_type: 'refresh_token',
      refresh_token: 'refresh-1',
      client_id: 'vaultpilot-dashboard',
    });
    // Cognito's refresh answer has no new refresh token: the old one stays usable.
    expect(await session.refresh()).toBe(true);
    expect(new URLSearchParams(api.requestsTo('/oauth2/token')[2]?.body).get('refresh_token')).toBe(
      'refresh-1',
    );
  });

  it('signs out by dropping the tokens and going to the logout endpoint', async () => {
    const { session, api, assigned } = setup();
    api.on('POST', '/oauth2/token', { body: TOKENS });
    await session.signIn('/');
    const state = new URL(assigned[0] ?? '').searchParams.get('state') ?? '';
    await session.completeSignIn(new URLSearchParams({ code: 'c', state }));

    session.signOut();
    // The signed-in layout reacts to the dropped tokens; that must not start a new sign-in.
    await session.signIn();

    expect(session.accessToken()).toBeUndefined();
    const logout = new URL(assigned.at(-1) ?? '');
    expect(logout.origin + logout.pathname).toBe('https://auth.example.test/logout');
    expect(Object.fromEntries(logout.searchParams)).toEqual({
      client_id: 'vaultpilot-dashboard',
      logout_uri: 'https://dashboard.example.test/signed-out',
    });
  });

  it('without a logout endpoint goes straight to /signed-out', () => {
    const api = new FakeApi();
    const { browser, assigned } = fakeBrowser(api);
    const session = new Session(
      { ...TEST_CONFIG, auth: { ...TEST_CONFIG.auth, logoutEndpoint: null } },
      browser,
    );

    session.signOut();

    expect(assigned).toEqual(['https://dashboard.example.test/signed-out']);
  });
});
