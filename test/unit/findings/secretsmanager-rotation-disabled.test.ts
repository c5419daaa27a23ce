import { describe, expect, it } from 'vitest';
import { DEFAULT_THRESHOLDS } from '../../../lambdas/core/credentials/findings/finding-rule.js';
import { secretsmanagerRotationDisabled } from '../../../lambdas/core/credentials/findings/rules/secretsmanager-rotation-disabled.js';
import { credential, NOW } from '../../support/credentials.js';

const context = { now: NOW, thresholds: DEFAULT_THRESHOLDS };

describe('finding rule secretsmanager-rotation-disabled', () => {
  it('matches a Secrets Manager secret without rotation, and nothing else', () => {
    const subjects = [
      credential({ type: 'secretsmanager-secret', facts: { rotationEnabled: false } }),
      credential({ type: 'secretsmanager-secret', facts: {} }),
      credential({ type: 'secretsmanager-secret', facts: { rotationEnabled: true } }),
      credential({ type: 'ssm-parameter', facts: {} }),
    ];

    const matched = subjects.map((subject) => secretsmanagerRotationDisabled.matches(subject, context));

    expect(matched).toEqual([true, true, false, false]);
  });
});
