/**
 * How routes of Vault's HTTP API (`dialect: 'vault'`, docs/vault-api.md) differ at the HTTP edge:
 * where the token may come from, and how an error the one mapper (`toHttpError`) has mapped is
 * rendered as Vault renders its errors. The statuses are the mapper's, except where Vault's
 * clients rely on Vault's own: a missing or invalid token is Vault's 403 `permission denied`, and
 * a check-and-set mismatch is Vault's 400.
 */
import { ConflictError } from '../core/errors.js';
import { bearerToken } from '../core/identity.js';
import type { HttpError } from './http-errors.js';
import { headerValue } from './http-headers.js';

/** Vault's error body: messages only, no codes. */
export interface VaultErrorBody {
  readonly errors: readonly string[];
}

export const VAULT_PERMISSION_DENIED = 'permission denied';
export const VAULT_CAS_MISMATCH = 'check-and-set parameter did not match the current version';

/**
 * The access token of a Vault client: `X-Vault-Token` (what Vault's clients send) or, as Vault
 * also accepts, `Authorization: Bearer`. Either way it is the same VaultPilot access token, checked
 * for the same shape here and verified by the same verifier after.
 */
export function vaultAccessToken(headers: Readonly<Record<string, string | undefined>> | null): string {
  const vaultToken = headerValue(headers, 'x-vault-token')?.trim();
  if (vaultToken !== undefined && vaultToken.length > 0) return bearerToken(`Bearer ${vaultToken}`);
  return bearerToken(headerValue(headers ?? undefined, 'authorization'));
}

function isCasMismatch(error: unknown): boolean {
  if (!(error instanceof ConflictError)) return false;
  const details = error.details as { reason?: unknown } | undefined;
  return details?.reason === 'cas-mismatch';
}

/**
 * Renders a mapped error as Vault does: `{"errors":[...]}`. A 404 has an empty list (Vault's
 * answer for a path with nothing at it); 401 and 403 say only `permission denied`; a 500 keeps the
 * mapper's generic message that names the request id and nothing else.
 */
export function vaultError(mapped: HttpError, error: unknown): { statusCode: number; body: VaultErrorBody } {
  const { statusCode, body } = mapped;
  if (statusCode === 401 || statusCode === 403)
    return { statusCode: 403, body: { errors: [VAULT_PERMISSION_DENIED] } };
  if (statusCode === 404) return { statusCode: 404, body: { errors: [] } };
  if (isCasMismatch(error)) return { statusCode: 400, body: { errors: [VAULT_CAS_MISMATCH] } };
  const issues = issueMessages(body.error.details);
  return { statusCode, body: { errors: [body.error.message, ...issues] } };
}

/** The zod issues a validation error carries, as `field: message` lines (never values). */
function issueMessages(details: unknown): string[] {
  const issues = (details as { issues?: unknown } | undefined)?.issues;
  if (!Array.isArray(issues)) return [];
  return issues.slice(0, 10).flatMap((issue: unknown) => {
    if (typeof issue !== 'object' || issue === null) return [];
    const { path, message } = issue as { path?: unknown; message?: unknown };
    if (typeof message !== 'string') return [];
    const where = Array.isArray(path) ? path.map(String).join('.') : typeof path === 'string' ? path : '';
    return [where.length > 0 ? `${where}: ${message}` : message];
  });
}
