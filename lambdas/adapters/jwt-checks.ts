import type { JwtHeader, JwtPayload } from 'aws-jwt-verify/jwt-model';

/** A signed token that breaks VaultPilot's token rules (answered 401 like any invalid token). */
export class TokenRuleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenRuleError';
  }
}

/**
 * Checks aws-jwt-verify leaves to the caller, run after the signature, issuer and audience held:
 * - `exp` is required: aws-jwt-verify checks it only when present, and a token without it would
 *   be valid for ever (Cognito's tokens always carry one);
 * - a `crit` header is refused: it lists extensions the verifier must understand or reject (RFC
 *   7515, 4.1.11), and this verifier understands none.
 */
export function strictJwtCheck({ header, payload }: { header: JwtHeader; payload: JwtPayload }): void {
  if (typeof payload.exp !== 'number' || !Number.isFinite(payload.exp)) {
    throw new TokenRuleError('The token has no expiry (exp)');
  }
  if (Object.hasOwn(header, 'crit')) {
    throw new TokenRuleError('The token names critical header parameters this verifier does not understand');
  }
}
