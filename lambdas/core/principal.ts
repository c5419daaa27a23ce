/** Who is calling: a person signed in through Cognito, or a machine client (client credentials). */
export const ROLES = ['admin', 'operator', 'auditor', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export interface UserPrincipal {
  readonly kind: 'user';
  readonly subject: string;
  readonly username: string;
  readonly tenant: string;
  readonly roles: readonly Role[];
  readonly scopes: readonly string[];
  readonly clientId: string;
}

export interface MachinePrincipal {
  readonly kind: 'machine';
  readonly subject: string;
  readonly tenant: string;
  readonly roles: readonly Role[];
  readonly scopes: readonly string[];
  readonly clientId: string;
}

export type Principal = UserPrincipal | MachinePrincipal;

export const TENANT_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

/**
 * How a principal is named where people read who did something (a version's `created_by`, a
 * credential's history, a hold's `by`): `user:<username>` or `client:<clientId>`. Audit events
 * name the immutable subject instead.
 */
export function principalName(principal: Principal): string {
  return principal.kind === 'user' ? `user:${principal.username}` : `client:${principal.clientId}`;
}

export function hasAnyRole(principal: Principal, roles: readonly Role[]): boolean {
  return principal.roles.some((role) => roles.includes(role));
}
