/**
 * Sign-in limits of the local identity provider, with a controlled clock and explicit sources:
 * an attacker's failures never refuse the owner's correct password from elsewhere; delays per
 * (source, account) pair grow; a source has a ceiling; an account under attack admits clean
 * sources only; parallel bursts count before they settle. Real (cheap) scrypt, no mocks.
 */
import { describe, expect, it } from 'vitest';
import { TooManyRequestsError, UnauthorizedError } from '../../lambdas/core/errors.js';
import { LocalIdentityProvider, OAuth2Error, type SignInPolicy } from '../../lambdas/local/identity.js';
import { DEFAULT_SIGN_IN_POLICY } from '../../lambdas/local/sign-in-guard.js';

const PASSWORD = 'correct-horse-battery-staple';
const WRONG = 'not-the-password-123';
const ATTACKER = '203.0.113.7';
const OWNER = '198.51.100.20';

async function openIdp(signInPolicy: Partial<SignInPolicy> = {}) {
  const clock = { now: Date.parse('2030-01-01T00:00:00Z') };
  const idp = await LocalIdentityProvider.open({
    dataDir: undefined,
    issuer: 'http://127.0.0.1:3000',
    tokenTtlSeconds: 900,
    userClientId: 'vaultpilot-local-dashboard',
    scryptCost: { N: 2 ** 10, r: 8, p: 1 },
    signInPolicy: { ...DEFAULT_SIGN_IN_POLICY, ...signInPolicy },
    clock: () => clock.now,
  });
  await idp.addUser({ username: 'admin', password: PASSWORD, tenant: 'default', groups: ['admin'] });
  return { idp, clock };
}

async function outcome(attempt: Promise<unknown>): Promise<'ok' | 'unauthorized' | number> {
  try {
    await attempt;
    return 'ok';
  } catch (error: unknown) {
    if (error instanceof TooManyRequestsError) return error.retryAfterSeconds;
    if (error instanceof UnauthorizedError || error instanceof OAuth2Error) return 'unauthorized';
    throw error;
  }
}

describe('sign-in limits', () => {
  it('admits the owner from another source while an attacker fails 5 times a minute for 10 minutes', async () => {
    // Prepare
    const { idp, clock } = await openIdp();
    const ownerResults: (string | number)[] = [];
    const attackerResults: (string | number)[] = [];

    // Act
    for (let minute = 0; minute < 10; minute += 1) {
      for (let attempt = 0; attempt < 5; attempt += 1) {
        attackerResults.push(await outcome(idp.passwordLogin('admin', WRONG, ATTACKER)));
        clock.now += 12_000;
      }
      ownerResults.push(await outcome(idp.passwordLogin('admin', PASSWORD, OWNER)));
    }

    // Assess
    expect(ownerResults).toEqual(Array(10).fill('ok'));
    // The attacker's own attempts are slowed: most of them were refused before any hashing.
    expect(attackerResults.filter((result) => typeof result === 'number').length).toBeGreaterThan(35);
  });

  it('makes one source wait longer after each further failure on one account', async () => {
    // Prepare: the account-wide limit out of the way, to see the pair's own delays.
    const { idp, clock } = await openIdp({ accountMaxFailures: 1000 });
    const waits: number[] = [];
    for (let attempt = 0; attempt < 3; attempt += 1)
      await outcome(idp.passwordLogin('admin', WRONG, ATTACKER));

    // Act: wait exactly as told, then fail again, five times.
    for (let round = 0; round < 5; round += 1) {
      const refused = await outcome(idp.passwordLogin('admin', WRONG, ATTACKER));
      if (typeof refused !== 'number') throw new Error(`expected a delay, got ${refused}`);
      waits.push(refused);
      clock.now += refused * 1000;
      expect(await outcome(idp.passwordLogin('admin', WRONG, ATTACKER))).toBe('unauthorized');
    }

    // Assess
    expect(waits).toEqual([1, 2, 4, 8, 16]);
  });

  it('delays unknown usernames exactly like known ones, so the limits do not reveal which names exist', async () => {
    // Prepare
    const { idp } = await openIdp();
    const known: (string | number)[] = [];
    const unknown: (string | number)[] = [];

    // Act
    for (let attempt = 0; attempt < 5; attempt += 1) {
      known.push(await outcome(idp.passwordLogin('admin', WRONG, ATTACKER)));
      unknown.push(await outcome(idp.passwordLogin('nobody-here', WRONG, ATTACKER)));
    }

    // Assess
    expect(unknown).toEqual(known);
    expect(known).toEqual(['unauthorized', 'unauthorized', 'unauthorized', 1, 1]);
  });

  it('refuses a source that reached its ceiling of failures, on every account, and no other source', async () => {
    // Prepare
    const { idp } = await openIdp({ sourceMaxFailures: 10 });
    for (let name = 0; name < 10; name += 1) {
      expect(await outcome(idp.passwordLogin(`user-${name}`, WRONG, ATTACKER))).toBe('unauthorized');
    }

    // Act
    const sameSourceRightPassword = await outcome(idp.passwordLogin('admin', PASSWORD, ATTACKER));
    const sameSourceNewName = await outcome(idp.passwordLogin('user-99', WRONG, ATTACKER));
    const otherSource = await outcome(idp.passwordLogin('admin', PASSWORD, OWNER));

    // Assess
    expect(sameSourceRightPassword).toBe(DEFAULT_SIGN_IN_POLICY.sourceWindowSeconds);
    expect(typeof sameSourceNewName).toBe('number');
    expect(otherSource).toBe('ok');
  });

  it('admits only sources with no failure on an account that failed often, for a short while', async () => {
    // Prepare: five sources fail once each (none reaches its own delay).
    const { idp, clock } = await openIdp();
    for (let source = 0; source < 5; source += 1) {
      await outcome(idp.passwordLogin('admin', WRONG, `192.0.2.${source}`));
    }

    // Act
    const sourceThatFailed = await outcome(idp.passwordLogin('admin', PASSWORD, '192.0.2.0'));
    const cleanSource = await outcome(idp.passwordLogin('admin', PASSWORD, OWNER));
    clock.now += DEFAULT_SIGN_IN_POLICY.accountWindowSeconds * 1000;
    const sourceThatFailedLater = await outcome(idp.passwordLogin('admin', PASSWORD, '192.0.2.0'));

    // Assess
    expect(sourceThatFailed).toBe(DEFAULT_SIGN_IN_POLICY.accountWindowSeconds);
    expect(cleanSource).toBe('ok');
    expect(sourceThatFailedLater).toBe('ok');
  });

  it('forgets a pair’s failures after a successful sign-in', async () => {
    // Prepare
    const { idp } = await openIdp();
    for (let attempt = 0; attempt < 2; attempt += 1) await outcome(idp.passwordLogin('admin', WRONG, OWNER));
    await idp.passwordLogin('admin', PASSWORD, OWNER);

    // Act
    const next = [
      await outcome(idp.passwordLogin('admin', WRONG, OWNER)),
      await outcome(idp.passwordLogin('admin', WRONG, OWNER)),
    ];

    // Assess
    expect(next).toEqual(['unauthorized', 'unauthorized']);
  });

  it('counts a parallel burst from one source before it settles: only the free attempts are checked', async () => {
    // Prepare
    const { idp } = await openIdp();

    // Act
    const results = await Promise.all(
      Array.from({ length: 12 }, () => outcome(idp.passwordLogin('admin', WRONG, ATTACKER))),
    );

    // Assess
    expect(results.filter((result) => result === 'unauthorized')).toHaveLength(
      DEFAULT_SIGN_IN_POLICY.pairFreeFailures,
    );
    expect(results.filter((result) => typeof result === 'number')).toHaveLength(
      12 - DEFAULT_SIGN_IN_POLICY.pairFreeFailures,
    );
  });

  it('applies the same limits to client credentials: the client signs in from its own source during an attack', async () => {
    // Prepare
    const { idp, clock } = await openIdp();
    const { clientId, clientSecret } = await idp.addClient({
      tenant: 'default',
      scopes: ['vaultpilot/read'],
    });
    const attacker: (string | number)[] = [];

    // Act
    for (let attempt = 0; attempt < 10; attempt += 1) {
      attacker.push(await outcome(idp.clientCredentials(clientId, 'guess', undefined, ATTACKER)));
      clock.now += 12_000;
    }
    const owner = await outcome(idp.clientCredentials(clientId, clientSecret, undefined, OWNER));

    // Assess
    expect(attacker.slice(0, 3)).toEqual(['unauthorized', 'unauthorized', 'unauthorized']);
    expect(owner).toBe('ok');
  });
});
