/**
 * Who may do what with the inventory and discovery. People by role: everyone reads, operators
 * and admins change credentials and start runs, admins configure discovery and rotation policies,
 * and only admins and auditors read that configuration (it names accounts and their external ids),
 * as the README and the OpenAPI scopes say. Machine clients by scope, the same way.
 */
import type { Principal, Role } from '../principal.js';

export type InventoryAccess = 'read' | 'write' | 'configure' | 'readConfiguration';

const ROLES: Readonly<Record<InventoryAccess, readonly Role[]>> = {
  read: ['admin', 'operator', 'auditor', 'viewer'],
  write: ['admin', 'operator'],
  configure: ['admin'],
  readConfiguration: ['admin', 'auditor'],
};

const SCOPES: Readonly<Record<InventoryAccess, readonly string[]>> = {
  read: ['vaultpilot/read', 'vaultpilot/audit', 'vaultpilot/admin'],
  write: ['vaultpilot/write', 'vaultpilot/admin'],
  configure: ['vaultpilot/admin'],
  readConfiguration: ['vaultpilot/admin', 'vaultpilot/audit'],
};

/** Whether a call with this access writes anything (so is audited as attempted first). */
export function changesInventory(access: InventoryAccess): boolean {
  return access === 'write' || access === 'configure';
}

export function mayAccessInventory(principal: Principal, access: InventoryAccess): boolean {
  if (principal.kind === 'machine') return principal.scopes.some((scope) => SCOPES[access].includes(scope));
  return principal.roles.some((role) => ROLES[access].includes(role));
}
