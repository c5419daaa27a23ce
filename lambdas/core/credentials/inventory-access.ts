/**
 * Who may do what with the inventory and discovery. People by role: everyone reads, operators
 * and admins change credentials and start runs, admins configure discovery (auditors may read the
 * configuration). Machine clients by scope, the same way.
 */
import type { Principal, Role } from '../principal.js';

export type InventoryAccess = 'read' | 'write' | 'configure' | 'readConfiguration';

const ROLES: Readonly<Record<InventoryAccess, readonly Role[]>> = {
  read: ['admin', 'operator', 'auditor', 'viewer'],
  write: ['admin', 'operator'],
  configure: ['admin'],
  readConfiguration: ['admin', 'operator', 'auditor'],
};

const SCOPES: Readonly<Record<InventoryAccess, readonly string[]>> = {
  read: ['vaultpilot/read', 'vaultpilot/audit', 'vaultpilot/admin'],
  write: ['vaultpilot/write', 'vaultpilot/admin'],
  configure: ['vaultpilot/admin'],
  readConfiguration: ['vaultpilot/admin', 'vaultpilot/audit'],
};

export function mayAccessInventory(principal: Principal, access: InventoryAccess): boolean {
  if (principal.kind === 'machine') return principal.scopes.some((scope) => SCOPES[access].includes(scope));
  return principal.roles.some((role) => ROLES[access].includes(role));
}
