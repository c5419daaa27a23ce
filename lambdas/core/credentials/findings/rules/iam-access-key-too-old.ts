/** Finding rule `iam-access-key-too-old`: Active access key older than the maximum age. */
import { defineFindingRule } from '../finding-rule.js';
import { isActiveUserKey, olderThan } from '../subject-facts.js';

export const iamAccessKeyTooOld = defineFindingRule({
  id: 'iam-access-key-too-old',
  severity: 'medium',
  title: 'Active access key older than the maximum age',
  remediation:
    'Rotate the key: create a second key, move every consumer to it, deactivate the old key, then delete it once nothing failed. Prefer IAM roles over long-lived keys.',
  appliesTo: ['aws-iam-access-key'],
  implies: 'overdue',
  threshold: 'accessKeyMaxAgeDays',
  equivalent: 'Prowler iam_rotate_access_key_90_days; AWS Config access-keys-rotated',
  matches: (c, { now, thresholds }) =>
    isActiveUserKey(c) && olderThan(c.createdAt, thresholds.accessKeyMaxAgeDays, now),
});
