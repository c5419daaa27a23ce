import { describe, expect, it } from 'vitest';
import { UnauthorizedError } from '../../lambdas/core/errors.js';
import { bearerToken, principalFromClaims } from '../../lambdas/core/identity.js';

const policy = { userClientIds: ['dashboard'] };

const idToken = {
  sub: 'user-1',
  token_use: 'id',
  aud: 'dashboard',
  'cognito:username': 'alice',
  'cognito:groups': ['operator', 'not-a-role'],
  'custom:tenant': 'acme',
};

const machineToken = {
  sub: 'client-9',
  client_id: 'client-9',
  token_use: 'access',
  scope: 'vaultpilot/read vaultpilot/audit',
  'custom:tenant': 'acme',
};

describe('principalFromClaims', () => {
  it('maps an ID token to a user with known roles only', () => {
    expect(principalFromClaims(idToken, policy)).toEqual({
      kind: 'user',
      subject: 'user-1',
      username: 'alice',
      tenant: 'acme',
      roles: ['operator'],
      scopes: [],
      clientId: 'dashboard',
    });
  });

  it('maps a user access token, keeping its scopes', () => {
    const principal = principalFromClaims(
      {
        ...machineToken,
        sub: 'user-1',
        client_id: 'dashboard',
        username: 'alice',
        'cognito:groups': ['admin'],
      },
      policy,
    );
    expect(principal).toMatchObject({
      kind: 'user',
      username: 'alice',
      roles: ['admin'],
      clientId: 'dashboard',
    });
  });

  it('maps a client-credentials token to a machine principal', () => {
    expect(principalFromClaims(machineToken, policy)).toEqual({
      kind: 'machine',
      subject: 'client-9',
      tenant: 'acme',
      roles: [],
      scopes: ['vaultpilot/read', 'vaultpilot/audit'],
      clientId: 'client-9',
    });
  });

  it.each([
    ['an ID token for another app client', { ...idToken, aud: 'someone-else' }, /audience/],
    [
      'a user access token of another client',
      { ...machineToken, username: 'x', client_id: 'other', sub: 'u' },
      /client/,
    ],
    ['a token without tenant', { ...idToken, 'custom:tenant': undefined }, /tenant/],
    ['a token with a malformed tenant', { ...idToken, 'custom:tenant': 'ACME/../x' }, /tenant/],
    ['a refresh or unknown token use', { ...idToken, token_use: 'refresh' }, /Token use/],
    ['a token without subject', { ...idToken, sub: undefined }, /subject/],
    ['a machine token without scopes', { ...machineToken, scope: '' }, /scopes/],
    ['a machine token whose subject is not its client', { ...machineToken, sub: 'other' }, /subject/],
  ])('refuses %s', (_name, claims, message) => {
    expect(() => principalFromClaims(claims, policy)).toThrow(UnauthorizedError);
    expect(() => principalFromClaims(claims, policy)).toThrow(message);
  });
});

describe('bearerToken', () => {
  it('extracts a compact JWT', () => {
    expect(bearerToken('Bearer aaa.bbb.ccc')).toBe('aaa.bbb.ccc');
  });

  it.each([
    undefined,
    '',
    'Basic dXNlcjpwYXNz',
    'Bearer',
    'Bearer not-a-jwt',
    'bearer aaa.bbb.ccc extra',
    'Bearer a.b.c.d',
  ])('refuses %j', (header) => {
    expect(() => bearerToken(header)).toThrow(UnauthorizedError);
  });
});
