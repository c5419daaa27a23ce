import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../../lambdas/core/credentials/findings/finding-rule.js';
import { credentialExpired } from '../../../lambdas/core/credentials/findings/rules/credential-expired.js';
import { credential, daysAgo, NOW } from '../../support/credentials.js';

const context = { now: NOW, thresholds: DEFAULT_THRESHOLDS };

describe('finding rule credential-expired', () => {
  it('matches a credential whose expiry is now or past, of any type', () => {
    const expiries = [daysAgo(0), daysAgo(400), daysAgo(-1), undefined];

    const matched = expiries.map((expiresAt) =>
      credentialExpired.matches(credential({ expiresAt }), context),
    );

    expect(matched).toEqual([true, true, false, false]);
    expect(credentialExpired.appliesTo).toBe('any');
  });
});
