import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../../lambdas/core/credentials/findings/finding-rule.js';
import { iamAccessKeyTooOld } from '../../../lambdas/core/credentials/findings/rules/iam-access-key-too-old.js';
import { accessKey, daysAgo, NOW } from '../../support/credentials.js';

const context = { now: NOW, thresholds: DEFAULT_THRESHOLDS };

describe('finding rule iam-access-key-too-old', () => {
  it('matches an active key older than accessKeyMaxAgeDays, not one of exactly that age', () => {
    const ages = [91, 90, 10];

    const matched = ages.map((age) =>
      iamAccessKeyTooOld.matches(accessKey({ createdAt: daysAgo(age) }), context),
    );

    expect(matched).toEqual([true, false, false]);
  });

  it('leaves inactive and root keys alone and reads the tenant threshold', () => {
    const old = daysAgo(200);

    const inactive = iamAccessKeyTooOld.matches(
      accessKey({ createdAt: old, facts: { keyStatus: 'Inactive' } }),
      context,
    );
    const root = iamAccessKeyTooOld.matches(accessKey({ createdAt: old, facts: { root: true } }), context);
    const stricter = iamAccessKeyTooOld.matches(accessKey({ createdAt: daysAgo(31) }), {
      now: NOW,
      thresholds: { ...DEFAULT_THRESHOLDS, accessKeyMaxAgeDays: 30 },
    });

    expect([inactive, root, stricter]).toEqual([false, false, true]);
  });
});
