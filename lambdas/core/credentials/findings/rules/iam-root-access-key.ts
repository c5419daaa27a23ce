/** Finding rule `iam-root-access-key`: The account root user has an access key. */
import { defineFindingRule } from '../finding-rule.js';
import { isRootKey } from '../subject-facts.js';

export const iamRootAccessKey = defineFindingRule({
  id: 'iam-root-access-key',
  severity: 'critical',
  title: 'The account root user has an access key',
  remediation:
    'Delete the root user access keys (IAM console, signed in as root: Security credentials > Access keys) and use IAM roles or users with least privilege instead.',
  appliesTo: ['aws-iam-access-key'],
  implies: undefined,
  threshold: undefined,
  equivalent: 'Prowler iam_no_root_access_key; AWS Config iam-root-access-key-check',
  matches: (c) => isRootKey(c),
});
