import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { codeChallenge, encodeState, prepareAuthorization, returnPathOf, safeReturnPath } from './pkce.js';

describe('PKCE', () => {
  it('derives the S256 challenge as BASE64URL(SHA-256(verifier)), unpadded', async () => {
    // Prepare: Node's own SHA-256 is the independent oracle for Web Crypto's.
    const verifier = 'dBjftJeZ4CVP-mJ92IgWw-FkfzQD5T1GAyB5AD3X6jk';
    const expected = createHash('sha256').update(verifier).digest('base64url');

    // Act
    const challenge = await codeChallenge(verifier);

    // Assess
    expect(challenge).toBe(expected);
    expect(challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('carries the return path inside state and gets it back', () => {
    const state = encodeState('/credentials?status=overdue&q=ünïcode');

    expect(returnPathOf(state)).toBe('/credentials?status=overdue&q=ünïcode');
    expect(state.split('.')[0]).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it.each(['https://evil.test/', '//evil.test/x', '/\\evil.test', 'javascript:alert(1)', '/callback?code=x'])(
    'never returns to %s',
    (path) => {
      expect(safeReturnPath(path)).toBe('/');
      expect(returnPathOf(encodeState(path))).toBe('/');
    },
  );

  it('builds an authorization request with S256, the client id, redirect URI, scopes and state', async () => {
    const { url, pending } = await prepareAuthorization({
      authorizationEndpoint: 'https://auth.example.test/oauth2/authorize',
      clientId: 'vaultpilot-dashboard',
      redirectUri: 'https://dashboard.example.test/callback',
      scopes: ['openid', 'email'],
      returnTo: '/audit',
    });

    const parsed = new URL(url);
    expect(parsed.origin + parsed.pathname).toBe('https://auth.example.test/oauth2/authorize');
    expect(Object.fromEntries(parsed.searchParams)).toEqual({
      response_type: 'code',
      client_id: 'vaultpilot-dashboard',
      redirect_uri: 'https://dashboard.example.test/callback',
      scope: 'openid email',
      state: pending.state,
      code_challenge: await codeChallenge(pending.verifier),
      code_challenge_method: 'S256',
    });
    expect(pending.verifier).toMatch(/^[A-Za-z0-9_-]{43,128}$/);
    expect(returnPathOf(pending.state)).toBe('/audit');
  });
});
