/** Finding rule `stored-secret-not-rotated`: Secret in VaultPilot's store whose current version is older than the maximum age. */
import { defineFindingRule } from '../finding-rule.js';
import { olderThan } from '../subject-facts.js';

export const storedSecretNotRotated = defineFindingRule({
  id: 'stored-secret-not-rotated',
  severity: 'medium',
  title: "Secret in VaultPilot's store whose current version is older than the maximum age",
  remediation: 'Rotate the credential the secret holds and write the new value as a new version.',
  appliesTo: ['vault-secret'],
  implies: 'overdue',
  threshold: 'storedSecretMaxAgeDays',
  equivalent: 'secret age (Vault and Infisical secret-rotation reminders)',
  matches: (c, { now, thresholds }) =>
    c.type === 'vault-secret' &&
    olderThan(c.lastRotatedAt ?? c.createdAt, thresholds.storedSecretMaxAgeDays, now),
});
