/** Finding rule `credential-expiring-imminent`: The credential expires within the urgent window. */
import { defineFindingRule } from '../finding-rule.js';
import { expiresWithin } from '../subject-facts.js';

export const credentialExpiringImminent = defineFindingRule({
  id: 'credential-expiring-imminent',
  severity: 'high',
  title: 'The credential expires within the urgent window',
  remediation: 'Renew the credential today and roll it out before the expiry.',
  appliesTo: 'any',
  implies: 'expiring',
  threshold: 'expiryCriticalDays',
  equivalent: 'AWS Config acm-certificate-expiration-check',
  matches: (c, { now, thresholds }) => expiresWithin(c, thresholds.expiryCriticalDays, now),
});
