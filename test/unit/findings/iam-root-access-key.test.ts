import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../../lambdas/core/credentials/findings/finding-rule.js';
import { iamRootAccessKey } from '../../../lambdas/core/credentials/findings/rules/iam-root-access-key.js';
import { accessKey, NOW } from '../../support/credentials.js';

const context = { now: NOW, thresholds: DEFAULT_THRESHOLDS };

describe('finding rule iam-root-access-key', () => {
  it('matches the root user key and no IAM user key', () => {
    // Prepare
    const root = accessKey({ facts: { root: true, keysPresent: 1 }, usageTracked: false });
    const user = accessKey();

    // Act
    const matched = [root, user].map((key) => iamRootAccessKey.matches(key, context));

    // Assess
    expect(matched).toEqual([true, false]);
    expect(iamRootAccessKey.severity).toBe('critical');
  });
});
