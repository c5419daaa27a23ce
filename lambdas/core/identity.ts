/**
 * Turns verified token claims into a `Principal`. The claim names are Cognito's; the local
 * issuer mints the same ones, so one function serves both runtimes.
 *
 * - ID tokens (`token_use: id`) are accepted only for the dashboard app clients (`aud`).
 * - User access tokens (with `username`) only from the same app clients (`client_id`).
 * - Machine access tokens (client credentials: no `username`, `sub` = client id) from any app
 *   client of our own issuer, and must carry scopes.
 * Every principal must carry a valid `custom:tenant` claim.
 */
import { UnauthorizedError } from './errors.js';
import { isRole, type Principal, type Role, TENANT_PATTERN } from './principal.js';
import type { TokenClaims } from './ports.js';

export interface ClaimPolicy {
  /** App client ids of the dashboard (users sign in through them). */
  readonly userClientIds: readonly string[];
}

function stringClaim(claims: TokenClaims, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function rolesFrom(claims: TokenClaims): Role[] {
  const groups = claims['cognito:groups'];
  if (!Array.isArray(groups)) return [];
  return groups.filter((group): group is Role => typeof group === 'string' && isRole(group));
}

function tenantFrom(claims: TokenClaims): string {
  const tenant = stringClaim(claims, 'custom:tenant');
  if (tenant === undefined || !TENANT_PATTERN.test(tenant)) {
    throw new UnauthorizedError('Token carries no valid tenant');
  }
  return tenant;
}

export function principalFromClaims(claims: TokenClaims, policy: ClaimPolicy): Principal {
  const subject = stringClaim(claims, 'sub');
  if (subject === undefined) throw new UnauthorizedError('Token has no subject');
  const tokenUse = claims.token_use;

  if (tokenUse === 'id') {
    const audience = stringClaim(claims, 'aud');
    if (audience === undefined || !policy.userClientIds.includes(audience)) {
      throw new UnauthorizedError('Token audience is not accepted');
    }
    return {
      kind: 'user',
      subject,
      username: stringClaim(claims, 'cognito:username') ?? subject,
      tenant: tenantFrom(claims),
      roles: rolesFrom(claims),
      scopes: [],
      clientId: audience,
    };
  }

  if (tokenUse === 'access') {
    const clientId = stringClaim(claims, 'client_id');
    if (clientId === undefined) throw new UnauthorizedError('Token has no client_id');
    const scopes = (stringClaim(claims, 'scope') ?? '').split(' ').filter((scope) => scope.length > 0);
    const username = stringClaim(claims, 'username');
    if (username !== undefined) {
      if (!policy.userClientIds.includes(clientId)) {
        throw new UnauthorizedError('Token client is not accepted');
      }
      return {
        kind: 'user',
        subject,
        username,
        tenant: tenantFrom(claims),
        roles: rolesFrom(claims),
        scopes,
        clientId,
      };
    }
    if (subject !== clientId) throw new UnauthorizedError('Machine token subject does not match its client');
    if (scopes.length === 0) throw new UnauthorizedError('Machine token carries no scopes');
    return { kind: 'machine', subject, tenant: tenantFrom(claims), roles: [], scopes, clientId };
  }

  throw new UnauthorizedError('Token use is not accepted');
}

/** Extracts the token from an `Authorization: Bearer <token>` header value. */
export function bearerToken(header: string | undefined): string {
  if (header === undefined || header.length === 0) throw new UnauthorizedError('Missing bearer token');
  const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)$/.exec(header.trim());
  if (match?.[1] === undefined) throw new UnauthorizedError('Malformed Authorization header');
  return match[1];
}
