/**
 * What the UI offers each role. It mirrors the API's rules (README: secret store, inventory,
 * audit, policies) only to hide actions a person cannot take; the API stays the guard.
 */
import type { z } from 'zod';

import type { MeResponse } from '../../../lambdas/shared/contracts/identity.js';

export type Me = z.infer<typeof MeResponse>;
type Role = Me['roles'][number];

export interface Permissions {
  /** Register, change and rotate credentials, roll back, start discovery runs. */
  readonly changeInventory: boolean;
  /** Read secret values, write versions, soft delete and undelete (path policies may narrow it). */
  readonly useSecretValues: boolean;
  readonly destroySecrets: boolean;
  readonly readAudit: boolean;
  readonly manageAudit: boolean;
  readonly readPolicies: boolean;
  readonly managePolicies: boolean;
  readonly readConfiguration: boolean;
  readonly configure: boolean;
  /** Notification channels, routes and the delivery log (managing them is `configure`). */
  readonly readNotifications: boolean;
  /** Whether a credential's alerts are acknowledged or snoozed, and changing that. */
  readonly readAlertHolds: boolean;
  readonly holdAlerts: boolean;
}

export function permissionsOf(me: Pick<Me, 'roles'>): Permissions {
  const has = (...roles: Role[]) => me.roles.some((role) => roles.includes(role));
  return {
    changeInventory: has('admin', 'operator'),
    useSecretValues: has('admin', 'operator'),
    destroySecrets: has('admin'),
    readAudit: has('admin', 'auditor'),
    manageAudit: has('admin'),
    readPolicies: has('admin', 'auditor'),
    managePolicies: has('admin'),
    readConfiguration: has('admin', 'operator', 'auditor'),
    configure: has('admin'),
    readNotifications: has('admin', 'auditor'),
    readAlertHolds: has('admin', 'auditor', 'operator'),
    holdAlerts: has('admin', 'operator'),
  };
}
