/**
 * The local issuer's token verifier remembers tokens that verified, never past their `exp` nor
 * for more than a minute, and never remembers a refusal. Tokens are signed with a real RSA key
 * and the JWKS is served over loopback HTTP, as the local issuer does.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { JwtVerifier } from 'aws-jwt-verify';
import { LocalTokenVerifier } from '../../lambdas/adapters/local/local-token-verifier.js';
import { UnauthorizedError } from '../../lambdas/core/errors.js';
import { rsaKey, serveJwks, signJwt } from '../support/tokens.js';

const trusted = rsaKey();
const stranger = rsaKey();
let jwks: { url: string; close(): Promise<void> };

const seconds = (): number => Math.floor(Date.now() / 1000);

function token(expiresIn: number, key = trusted): string {
  return signJwt(key, {
    iss: jwks.url,
    sub: 'user-1',
    token_use: 'id',
    'cognito:username': 'alice',
    'custom:tenant': 'default',
    iat: seconds(),
    exp: seconds() + expiresIn,
  });
}

/** A verifier on a clock the test moves, and how often it really checked a signature. */
function verifierAt(start: number) {
  let now = start;
  const checks = vi.spyOn(JwtVerifier.prototype, 'verify');
  const verifier = new LocalTokenVerifier(jwks.url, `${jwks.url}/.well-known/jwks.json`, () => now);
  return { verifier, checks, advance: (ms: number) => (now += ms) };
}

beforeAll(async () => {
  jwks = await serveJwks([trusted]);
});
afterAll(async () => jwks.close());
afterEach(() => vi.restoreAllMocks());

describe('local token verifier', () => {
  it('checks a token once and answers the same claims while it is remembered', async () => {
    // Prepare
    const { verifier, checks } = verifierAt(Date.now());
    const presented = token(600);

    // Act
    const first = await verifier.verify(presented);
    const second = await verifier.verify(presented);

    // Assess
    expect(checks).toHaveBeenCalledTimes(1);
    expect(second).toEqual(first);
    expect(second).toMatchObject({ sub: 'user-1', 'custom:tenant': 'default' });
  });

  it('checks a remembered token again after a minute, and after its exp', async () => {
    // Prepare
    const { verifier, checks, advance } = verifierAt(Date.now());
    const longLived = token(600);
    const shortLived = token(5);
    await verifier.verify(longLived);
    await verifier.verify(shortLived);

    // Act: 6 s on, the short-lived token is past its exp; 61 s on, the other is past the minute.
    advance(6_000);
    await verifier.verify(shortLived);
    await verifier.verify(longLived);
    const afterExp = checks.mock.calls.length;
    advance(55_000);
    await verifier.verify(longLived);

    // Assess
    expect(afterExp).toBe(3);
    expect(checks).toHaveBeenCalledTimes(4);
  });

  it('refuses a bad token every time it is presented', async () => {
    // Prepare
    const { verifier, checks } = verifierAt(Date.now());
    const forged = token(600, stranger);

    // Act
    const answers = await Promise.allSettled([verifier.verify(forged), verifier.verify(forged)]);
    await expect(verifier.verify(forged)).rejects.toBeInstanceOf(UnauthorizedError);

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual(['rejected', 'rejected']);
    expect(checks).toHaveBeenCalledTimes(3);
  });
});
