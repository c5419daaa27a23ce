/** Finding rule `secretsmanager-unused`: Secrets Manager secret not accessed for a long time. */
import { defineFindingRule } from '../finding-rule.js';
import { unusedLongerThan } from '../subject-facts.js';

export const secretsmanagerUnused = defineFindingRule({
  id: 'secretsmanager-unused',
  severity: 'low',
  title: 'Secrets Manager secret not accessed for a long time',
  remediation:
    'Check whether anything still reads the secret (CloudTrail GetSecretValue); if not, schedule its deletion.',
  appliesTo: ['secretsmanager-secret'],
  implies: 'unused',
  threshold: 'secretUnusedDays',
  equivalent: 'AWS Config secretsmanager-secret-unused',
  matches: (c, { now, thresholds }) =>
    c.type === 'secretsmanager-secret' && unusedLongerThan(c, thresholds.secretUnusedDays, now),
});
