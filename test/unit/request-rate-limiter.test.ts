/**
 * The local API's rate limiter checks a client's token once, not on every request, and not at
 * all while both limits are off; a token that does not verify is never charged. Tokens are signed
 * by the local issuer's own key (JwtSigningKey), as `npm start` signs them.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { JwtVerifier } from 'aws-jwt-verify';
import { JwtSigningKey } from '../../lambdas/local/jwt-signer.js';
import { RequestRateLimiter } from '../../lambdas/local/request-rate-limiter.js';
import { TooManyRequestsError } from '../../lambdas/core/errors.js';

const ISSUER = 'http://127.0.0.1:8714';
let key: JwtSigningKey;
let other: JwtSigningKey;

function bearer(signer: JwtSigningKey, sub: string): { authorization: string } {
  const now = Math.floor(Date.now() / 1000);
  const token = signer.sign({
    iss: ISSUER,
    sub,
    'custom:tenant': 'acme',
    token_use: 'access',
    iat: now,
    exp: now + 600,
  });
  return { authorization: `Bearer ${token}` };
}

beforeAll(async () => {
  key = await JwtSigningKey.generate();
  other = await JwtSigningKey.generate();
});
afterEach(() => vi.restoreAllMocks());

describe('local request rate limiter', () => {
  it('checks no token while both limits are off', () => {
    // Prepare
    const checks = vi.spyOn(JwtVerifier.prototype, 'verifySync');
    const off = { ratePerSecond: 0, burst: 0 };
    const limiter = new RequestRateLimiter({ client: off, tenant: off }, ISSUER, key.jwks());

    // Act
    for (let i = 0; i < 5; i += 1) limiter.admit(bearer(key, 'alice'));

    // Assess
    expect(checks).not.toHaveBeenCalled();
  });

  it('checks a client token once and still charges every request to its client', () => {
    // Prepare
    const checks = vi.spyOn(JwtVerifier.prototype, 'verifySync');
    const limiter = new RequestRateLimiter(
      { client: { ratePerSecond: 1, burst: 3 }, tenant: { ratePerSecond: 0, burst: 0 } },
      ISSUER,
      key.jwks(),
      () => 1_000_000,
    );
    const alice = bearer(key, 'alice');

    // Act
    for (let i = 0; i < 3; i += 1) limiter.admit(alice);
    const fourth = (): void => limiter.admit(alice);

    // Assess
    expect(fourth).toThrow(TooManyRequestsError);
    expect(checks).toHaveBeenCalledTimes(1);
  });

  it('charges no one for a token of another issuer key, however often it comes', () => {
    // Prepare
    const checks = vi.spyOn(JwtVerifier.prototype, 'verifySync');
    const limiter = new RequestRateLimiter(
      { client: { ratePerSecond: 1, burst: 1 }, tenant: { ratePerSecond: 1, burst: 1 } },
      ISSUER,
      key.jwks(),
      () => 1_000_000,
    );
    const forged = bearer(other, 'alice');

    // Act
    for (let i = 0; i < 3; i += 1) limiter.admit(forged);
    const genuine = (): void => limiter.admit(bearer(key, 'alice'));

    // Assess: the forged requests spent nothing of alice's or the tenant's budget.
    expect(genuine).not.toThrow();
    expect(checks).toHaveBeenCalledTimes(4);
  });
});
