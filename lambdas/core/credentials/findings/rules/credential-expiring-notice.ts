/** Finding rule `credential-expiring-notice`: The credential expires within the notice window. */
import { defineFindingRule } from '../finding-rule.js';
import { expiresWithin } from '../subject-facts.js';

export const credentialExpiringNotice = defineFindingRule({
  id: 'credential-expiring-notice',
  severity: 'low',
  title: 'The credential expires within the notice window',
  remediation: 'Plan the renewal: find out who issues the new credential and where it is used.',
  appliesTo: 'any',
  implies: 'expiring',
  threshold: 'expiryNoticeDays',
  equivalent: 'AWS Config acm-certificate-expiration-check',
  matches: (c, { now, thresholds }) =>
    expiresWithin(c, thresholds.expiryNoticeDays, now) &&
    !expiresWithin(c, thresholds.expiryWarningDays, now),
});
