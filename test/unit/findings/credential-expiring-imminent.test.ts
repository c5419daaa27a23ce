import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../../lambdas/core/credentials/findings/finding-rule.js';
import { credentialExpiringImminent } from '../../../lambdas/core/credentials/findings/rules/credential-expiring-imminent.js';
import { credential, daysAgo, NOW } from '../../support/credentials.js';

const context = { now: NOW, thresholds: DEFAULT_THRESHOLDS };

describe('finding rule credential-expiring-imminent', () => {
  it('matches an expiry within expiryCriticalDays, not a past one', () => {
    const daysLeft = [1, 0.01, 2, 0, -1];

    const matched = daysLeft.map((days) =>
      credentialExpiringImminent.matches(credential({ expiresAt: daysAgo(-days) }), context),
    );

    expect(matched).toEqual([true, true, false, false, false]);
  });
});
