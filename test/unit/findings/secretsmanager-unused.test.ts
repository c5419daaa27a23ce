import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../../lambdas/core/credentials/findings/finding-rule.js';
import { secretsmanagerUnused } from '../../../lambdas/core/credentials/findings/rules/secretsmanager-unused.js';
import { credential, daysAgo, NOW } from '../../support/credentials.js';

const context = { now: NOW, thresholds: DEFAULT_THRESHOLDS };

describe('finding rule secretsmanager-unused', () => {
  it('matches a secret with tracked usage not read within secretUnusedDays', () => {
    const secret = (lastUsedAt: string | undefined, usageTracked = true) =>
      credential({ type: 'secretsmanager-secret', createdAt: daysAgo(300), lastUsedAt, usageTracked });
    const subjects = [secret(daysAgo(95)), secret(daysAgo(90)), secret(daysAgo(95), false)];

    const matched = subjects.map((subject) => secretsmanagerUnused.matches(subject, context));

    expect(matched).toEqual([true, false, false]);
    expect(secretsmanagerUnused.severity).toBe('low');
  });
});
