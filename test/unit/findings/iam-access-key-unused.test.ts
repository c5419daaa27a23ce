import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../../lambdas/core/credentials/findings/finding-rule.js';
import { iamAccessKeyUnused } from '../../../lambdas/core/credentials/findings/rules/iam-access-key-unused.js';
import { accessKey, daysAgo, NOW } from '../../support/credentials.js';

const context = { now: NOW, thresholds: DEFAULT_THRESHOLDS };

describe('finding rule iam-access-key-unused', () => {
  it('matches an active key unused for more than accessKeyUnusedDays, counting from creation if never used', () => {
    const keys = [
      accessKey({ createdAt: daysAgo(80), lastUsedAt: daysAgo(46) }),
      accessKey({ createdAt: daysAgo(80), lastUsedAt: daysAgo(45) }),
      accessKey({ createdAt: daysAgo(60), lastUsedAt: undefined }),
      accessKey({ createdAt: daysAgo(60), lastUsedAt: undefined, usageTracked: false }),
    ];

    const matched = keys.map((key) => iamAccessKeyUnused.matches(key, context));

    expect(matched).toEqual([true, false, true, false]);
  });
});
