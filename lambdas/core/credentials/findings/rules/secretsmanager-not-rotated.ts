/** Finding rule `secretsmanager-not-rotated`: Secrets Manager secret not rotated within the maximum age. */
import { defineFindingRule } from '../finding-rule.js';
import { olderThan } from '../subject-facts.js';

export const secretsmanagerNotRotated = defineFindingRule({
  id: 'secretsmanager-not-rotated',
  severity: 'medium',
  title: 'Secrets Manager secret not rotated within the maximum age',
  remediation:
    'Rotate the secret now and check why scheduled rotation did not happen (rotation function errors, schedule).',
  appliesTo: ['secretsmanager-secret'],
  implies: 'overdue',
  threshold: 'secretRotationMaxAgeDays',
  equivalent: 'AWS Config secretsmanager-secret-periodic-rotation',
  matches: (c, { now, thresholds }) =>
    c.type === 'secretsmanager-secret' &&
    olderThan(c.lastRotatedAt ?? c.createdAt, thresholds.secretRotationMaxAgeDays, now),
});
