/** Finding rule `ssm-parameter-not-changed`: SSM SecureString parameter not changed within the maximum age. */
import { defineFindingRule } from '../finding-rule.js';
import { olderThan } from '../subject-facts.js';

export const ssmParameterNotChanged = defineFindingRule({
  id: 'ssm-parameter-not-changed',
  severity: 'medium',
  title: 'SSM SecureString parameter not changed within the maximum age',
  remediation:
    'Rotate the value the parameter holds and write the new one (PutParameter with Overwrite), or move it to Secrets Manager with rotation.',
  appliesTo: ['ssm-parameter'],
  implies: 'overdue',
  threshold: 'parameterMaxAgeDays',
  equivalent: 'Prowler ssm_parameter_* age checks',
  matches: (c, { now, thresholds }) =>
    c.type === 'ssm-parameter' &&
    olderThan(c.lastRotatedAt ?? c.createdAt, thresholds.parameterMaxAgeDays, now),
});
