/** Finding rule `iam-access-key-never-used`: Active access key that has never been used. */
import { defineFindingRule } from '../finding-rule.js';
import { isActiveUserKey } from '../subject-facts.js';

export const iamAccessKeyNeverUsed = defineFindingRule({
  id: 'iam-access-key-never-used',
  severity: 'medium',
  title: 'Active access key that has never been used',
  remediation:
    'Delete keys created "just in case" (for example during user setup); create a key only when something needs it.',
  appliesTo: ['aws-iam-access-key'],
  implies: 'unused',
  threshold: undefined,
  equivalent: 'Prowler iam_user_no_setup_initial_access_key',
  matches: (c) => isActiveUserKey(c) && c.usageTracked && c.lastUsedAt === undefined,
});
