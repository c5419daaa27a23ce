/** Types the pages share, inferred from the API's own contracts. */
import type { z } from 'zod';

import type { AuditEventView } from '../../../lambdas/shared/contracts/audit.js';
import type {
  Credential as CredentialSchema,
  Finding,
} from '../../../lambdas/shared/contracts/credentials.js';
import type { DiscoveryRun as DiscoveryRunSchema } from '../../../lambdas/shared/contracts/discovery.js';
import type { ChannelView, RouteView } from '../../../lambdas/shared/contracts/notifications.js';
import type { Rotation as RotationSchema } from '../../../lambdas/shared/contracts/rotations.js';

export type Credential = z.infer<typeof CredentialSchema>;
export type CredentialFinding = z.infer<typeof Finding>;
export type Rotation = z.infer<typeof RotationSchema>;
export type DiscoveryRun = z.infer<typeof DiscoveryRunSchema>;
export type AuditEvent = z.infer<typeof AuditEventView>;
export type NotificationChannel = z.infer<typeof ChannelView>;
export type NotificationRoute = z.infer<typeof RouteView>;

export const TYPE_LABELS: Record<Credential['type'], string> = {
  'aws-iam-access-key': 'IAM access key',
  'secretsmanager-secret': 'Secrets Manager secret',
  'ssm-parameter': 'SSM parameter',
  'postgres-password': 'PostgreSQL password',
  'ses-smtp': 'SES SMTP credential',
  'github-token': 'GitHub token',
  'api-token': 'API token',
  'vault-secret': 'Stored secret',
  'webhook-token': 'API token (webhook rotation)',
  'github-app-token': 'GitHub App installation token',
  'github-pat': 'GitHub personal access token (assisted)',
  'secrets-manager-secret': 'Secrets Manager secret (rotated)',
};

/** The four steps every rotation runs, in order (Secrets Manager's). */
export const ROTATION_STEPS = ['create', 'set', 'test', 'finish'] as const;
