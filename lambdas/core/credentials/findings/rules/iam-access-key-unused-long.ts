/** Finding rule `iam-access-key-unused-long`: Active access key unused for a very long time. */
import { defineFindingRule } from '../finding-rule.js';
import { isActiveUserKey, unusedLongerThan } from '../subject-facts.js';

export const iamAccessKeyUnusedLong = defineFindingRule({
  id: 'iam-access-key-unused-long',
  severity: 'high',
  title: 'Active access key unused for a very long time',
  remediation:
    'Deactivate the key now and delete it after a waiting period; a key nobody uses is only a liability.',
  appliesTo: ['aws-iam-access-key'],
  implies: 'unused',
  threshold: 'accessKeyLongUnusedDays',
  equivalent: 'AWS Config iam-user-unused-credentials-check',
  matches: (c, { now, thresholds }) =>
    isActiveUserKey(c) && unusedLongerThan(c, thresholds.accessKeyLongUnusedDays, now),
});
