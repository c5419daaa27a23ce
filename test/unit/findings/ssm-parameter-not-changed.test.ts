import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../../lambdas/core/credentials/findings/finding-rule.js';
import { ssmParameterNotChanged } from '../../../lambdas/core/credentials/findings/rules/ssm-parameter-not-changed.js';
import { credential, daysAgo, NOW } from '../../support/credentials.js';

const context = { now: NOW, thresholds: DEFAULT_THRESHOLDS };

describe('finding rule ssm-parameter-not-changed', () => {
  it('matches a SecureString not changed within parameterMaxAgeDays', () => {
    const parameter = (lastRotatedAt: string) =>
      credential({ type: 'ssm-parameter', createdAt: undefined, lastRotatedAt });
    const subjects = [
      parameter(daysAgo(91)),
      parameter(daysAgo(89)),
      credential({ type: 'vault-secret', lastRotatedAt: daysAgo(200) }),
    ];

    const matched = subjects.map((subject) => ssmParameterNotChanged.matches(subject, context));

    expect(matched).toEqual([true, false, false]);
  });
});
