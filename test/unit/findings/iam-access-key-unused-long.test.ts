import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../../lambdas/core/credentials/findings/finding-rule.js';
import { iamAccessKeyUnusedLong } from '../../../lambdas/core/credentials/findings/rules/iam-access-key-unused-long.js';
import { accessKey, daysAgo, NOW } from '../../support/credentials.js';

const context = { now: NOW, thresholds: DEFAULT_THRESHOLDS };

describe('finding rule iam-access-key-unused-long', () => {
  it('matches an active key unused for more than accessKeyLongUnusedDays only', () => {
    const lastUses = [91, 90, 50];

    const matched = lastUses.map((days) =>
      iamAccessKeyUnusedLong.matches(
        accessKey({ createdAt: daysAgo(300), lastUsedAt: daysAgo(days) }),
        context,
      ),
    );

    expect(matched).toEqual([true, false, false]);
    expect(iamAccessKeyUnusedLong.severity).toBe('high');
  });
});
