/** Finding rule `iam-user-two-active-keys`: The IAM user has two active access keys. */
import { defineFindingRule } from '../finding-rule.js';
import { isActiveUserKey } from '../subject-facts.js';

export const iamUserTwoActiveKeys = defineFindingRule({
  id: 'iam-user-two-active-keys',
  severity: 'medium',
  title: 'The IAM user has two active access keys',
  remediation:
    'Keep one active key per user; two are only normal for the minutes of a rotation. Deactivate the key that is no longer in use.',
  appliesTo: ['aws-iam-access-key'],
  implies: undefined,
  threshold: undefined,
  equivalent: 'Prowler iam_user_two_active_access_key',
  matches: (c) =>
    isActiveUserKey(c) && typeof c.facts.activeKeysOnUser === 'number' && c.facts.activeKeysOnUser > 1,
});
