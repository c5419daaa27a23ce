import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../../lambdas/core/credentials/findings/finding-rule.js';
import { storedSecretNotRotated } from '../../../lambdas/core/credentials/findings/rules/stored-secret-not-rotated.js';
import { credential, daysAgo, NOW } from '../../support/credentials.js';

const context = { now: NOW, thresholds: DEFAULT_THRESHOLDS };

describe('finding rule stored-secret-not-rotated', () => {
  it("matches a secret in VaultPilot's store whose current version is older than storedSecretMaxAgeDays", () => {
    const stored = (lastRotatedAt: string | undefined) =>
      credential({ type: 'vault-secret', createdAt: daysAgo(300), lastRotatedAt });
    const subjects = [stored(daysAgo(100)), stored(daysAgo(3)), stored(undefined)];

    const matched = subjects.map((subject) => storedSecretNotRotated.matches(subject, context));

    expect(matched).toEqual([true, false, true]);
  });
});
