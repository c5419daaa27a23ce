/** Finding rule `credential-expired`: The credential has expired. */
import { defineFindingRule } from '../finding-rule.js';
import { isExpired } from '../subject-facts.js';

export const credentialExpired = defineFindingRule({
  id: 'credential-expired',
  severity: 'critical',
  title: 'The credential has expired',
  remediation: 'Issue a new credential, update every consumer, and record the new expiry date.',
  appliesTo: 'any',
  implies: 'overdue',
  threshold: undefined,
  equivalent: 'AWS Config acm-certificate-expiration-check (for credentials)',
  matches: (c, { now }) => isExpired(c, now),
});
