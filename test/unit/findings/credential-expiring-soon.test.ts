import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../../lambdas/core/credentials/findings/finding-rule.js';
import { credentialExpiringSoon } from '../../../lambdas/core/credentials/findings/rules/credential-expiring-soon.js';
import { credential, daysAgo, NOW } from '../../support/credentials.js';

const context = { now: NOW, thresholds: DEFAULT_THRESHOLDS };

describe('finding rule credential-expiring-soon', () => {
  it('matches an expiry within expiryWarningDays but beyond expiryCriticalDays', () => {
    const daysLeft = [7, 2, 8, 1];

    const matched = daysLeft.map((days) =>
      credentialExpiringSoon.matches(credential({ expiresAt: daysAgo(-days) }), context),
    );

    expect(matched).toEqual([true, true, false, false]);
  });
});
