/**
 * What the Cognito pre-token-generation trigger adds to tokens. Cognito puts custom attributes
 * only in ID tokens, and client-credentials tokens carry no tenant at all, so the trigger adds
 * `custom:tenant` to access tokens: from the user's attribute, or from the machine client
 * directory. No tenant means no token (fail closed).
 */
import { UnauthorizedError } from './errors.js';
import { TENANT_PATTERN } from './principal.js';
import type { MachineClientDirectory } from './ports.js';

export type TokenRequest =
  | { readonly kind: 'user'; readonly tenantAttribute: string | undefined }
  | { readonly kind: 'machine'; readonly clientId: string };

export async function tenantClaimFor(
  request: TokenRequest,
  directory: MachineClientDirectory,
): Promise<string> {
  const tenant =
    request.kind === 'user' ? request.tenantAttribute : await directory.tenantOf(request.clientId);
  if (tenant === undefined || !TENANT_PATTERN.test(tenant)) {
    throw new UnauthorizedError(
      request.kind === 'user'
        ? 'User has no valid tenant attribute'
        : 'Machine client is not registered to a tenant',
    );
  }
  return tenant;
}
