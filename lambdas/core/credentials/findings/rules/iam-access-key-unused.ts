/** Finding rule `iam-access-key-unused`: Active access key unused for a long time. */
import { defineFindingRule } from '../finding-rule.js';
import { isActiveUserKey, unusedLongerThan } from '../subject-facts.js';

export const iamAccessKeyUnused = defineFindingRule({
  id: 'iam-access-key-unused',
  severity: 'medium',
  title: 'Active access key unused for a long time',
  remediation:
    'Find out whether anything still needs the key (IAM access key last used, CloudTrail); if not, deactivate it and delete it after a waiting period.',
  appliesTo: ['aws-iam-access-key'],
  implies: 'unused',
  threshold: 'accessKeyUnusedDays',
  equivalent: 'Prowler iam_user_accesskey_unused',
  matches: (c, { now, thresholds }) =>
    isActiveUserKey(c) && unusedLongerThan(c, thresholds.accessKeyUnusedDays, now),
});
