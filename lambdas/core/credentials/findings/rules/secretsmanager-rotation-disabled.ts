/** Finding rule `secretsmanager-rotation-disabled`: Secrets Manager secret without automatic rotation. */
import { defineFindingRule } from '../finding-rule.js';

export const secretsmanagerRotationDisabled = defineFindingRule({
  id: 'secretsmanager-rotation-disabled',
  severity: 'medium',
  title: 'Secrets Manager secret without automatic rotation',
  remediation:
    'Turn on rotation for the secret (a rotation function or managed rotation), or let VaultPilot rotate it with a rotation policy.',
  appliesTo: ['secretsmanager-secret'],
  implies: undefined,
  threshold: undefined,
  equivalent:
    'Prowler secretsmanager_automatic_rotation_enabled; AWS Config secretsmanager-rotation-enabled-check',
  matches: (c) => c.type === 'secretsmanager-secret' && c.facts.rotationEnabled !== true,
});
