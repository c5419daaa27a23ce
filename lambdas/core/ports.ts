/**
 * The interfaces the domain needs from the outside world. Adapters in `lambdas/adapters`
 * implement them; each function's `compose.ts` (lambdas/functions) wires them.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Claims of a verified JWT (signature, issuer, expiry already checked by the verifier). */
export type TokenClaims = Readonly<Record<string, unknown>>;

/**
 * Verifies a bearer token: Cognito's JWKS in AWS, the local issuer's JWKS locally. Throws
 * `UnauthorizedError` for any token it does not accept.
 */
export interface TokenVerifier {
  verify(token: string): Promise<TokenClaims>;
}

/** Which tenant a machine client (an OAuth2 client-credentials app client) belongs to. */
export interface MachineClientDirectory {
  tenantOf(clientId: string): Promise<string | undefined>;
}
