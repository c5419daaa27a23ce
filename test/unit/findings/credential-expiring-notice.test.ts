import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../../lambdas/core/credentials/findings/finding-rule.js';
import { credentialExpiringNotice } from '../../../lambdas/core/credentials/findings/rules/credential-expiring-notice.js';
import { credential, daysAgo, NOW } from '../../support/credentials.js';

const context = { now: NOW, thresholds: DEFAULT_THRESHOLDS };

describe('finding rule credential-expiring-notice', () => {
  it('matches an expiry within expiryNoticeDays but beyond expiryWarningDays', () => {
    const daysLeft = [30, 8, 31, 7];

    const matched = daysLeft.map((days) =>
      credentialExpiringNotice.matches(credential({ expiresAt: daysAgo(-days) }), context),
    );

    expect(matched).toEqual([true, true, false, false]);
  });
});
