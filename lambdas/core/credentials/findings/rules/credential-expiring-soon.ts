/** Finding rule `credential-expiring-soon`: The credential expires within the warning window. */
import { defineFindingRule } from '../finding-rule.js';
import { expiresWithin } from '../subject-facts.js';

export const credentialExpiringSoon = defineFindingRule({
  id: 'credential-expiring-soon',
  severity: 'medium',
  title: 'The credential expires within the warning window',
  remediation: 'Schedule the renewal now and tell the owners of every consumer.',
  appliesTo: 'any',
  implies: 'expiring',
  threshold: 'expiryWarningDays',
  equivalent: 'AWS Config acm-certificate-expiration-check',
  matches: (c, { now, thresholds }) =>
    expiresWithin(c, thresholds.expiryWarningDays, now) &&
    !expiresWithin(c, thresholds.expiryCriticalDays, now),
});
