import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../../lambdas/core/credentials/findings/finding-rule.js';
import { iamUserTwoActiveKeys } from '../../../lambdas/core/credentials/findings/rules/iam-user-two-active-keys.js';
import { accessKey, NOW } from '../../support/credentials.js';

const context = { now: NOW, thresholds: DEFAULT_THRESHOLDS };

describe('finding rule iam-user-two-active-keys', () => {
  it('matches an active key whose user has more than one active key', () => {
    const counts = [2, 1, undefined];

    const matched = counts.map((count) =>
      iamUserTwoActiveKeys.matches(
        accessKey({
          facts: { keyStatus: 'Active', ...(count === undefined ? {} : { activeKeysOnUser: count }) },
        }),
        context,
      ),
    );

    expect(matched).toEqual([true, false, false]);
  });
});
