import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../../lambdas/core/credentials/findings/finding-rule.js';
import { secretsmanagerNotRotated } from '../../../lambdas/core/credentials/findings/rules/secretsmanager-not-rotated.js';
import { credential, daysAgo, NOW } from '../../support/credentials.js';

const context = { now: NOW, thresholds: DEFAULT_THRESHOLDS };

describe('finding rule secretsmanager-not-rotated', () => {
  it('matches a secret not rotated within secretRotationMaxAgeDays, its age counted from creation if never rotated', () => {
    const secret = (dates: { createdAt?: string; lastRotatedAt?: string }) =>
      credential({ type: 'secretsmanager-secret', ...dates });
    const subjects = [
      secret({ createdAt: daysAgo(200), lastRotatedAt: daysAgo(91) }),
      secret({ createdAt: daysAgo(200), lastRotatedAt: daysAgo(90) }),
      secret({ createdAt: daysAgo(120) }),
      secret({ createdAt: daysAgo(200), lastRotatedAt: daysAgo(3) }),
    ];

    const matched = subjects.map((subject) => secretsmanagerNotRotated.matches(subject, context));

    expect(matched).toEqual([true, false, true, false]);
  });
});
