import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../../lambdas/core/credentials/findings/finding-rule.js';
import { iamAccessKeyNeverUsed } from '../../../lambdas/core/credentials/findings/rules/iam-access-key-never-used.js';
import { accessKey, daysAgo, NOW } from '../../support/credentials.js';

const context = { now: NOW, thresholds: DEFAULT_THRESHOLDS };

describe('finding rule iam-access-key-never-used', () => {
  it('matches an active key with tracked usage and no use at all', () => {
    const keys = [
      accessKey({ lastUsedAt: undefined }),
      accessKey({ lastUsedAt: daysAgo(1) }),
      accessKey({ lastUsedAt: undefined, usageTracked: false }),
      accessKey({ lastUsedAt: undefined, facts: { keyStatus: 'Inactive' } }),
    ];

    const matched = keys.map((key) => iamAccessKeyNeverUsed.matches(key, context));

    expect(matched).toEqual([true, false, false, false]);
  });
});
