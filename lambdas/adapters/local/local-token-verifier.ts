import { JwtVerifier } from 'aws-jwt-verify';
import type { Fetcher } from 'aws-jwt-verify/https';
import { SimpleJwksCache } from 'aws-jwt-verify/jwk';
import { FetchError } from 'aws-jwt-verify/error';
import type { TokenClaims, TokenVerifier } from '../../core/ports.js';
import { strictJwtCheck } from '../jwt-checks.js';
import { toVerificationError } from '../jwt-errors.js';

/**
 * aws-jwt-verify's own fetcher speaks only HTTPS; the local issuer serves its JWKS over plain
 * HTTP on loopback, so this fetcher uses Node's fetch with a short timeout.
 */
const loopbackFetcher: Fetcher = {
  async fetch(uri: string): Promise<ArrayBuffer> {
    let response: Response;
    try {
      response = await fetch(uri, { signal: AbortSignal.timeout(3000) });
    } catch (error: unknown) {
      throw new FetchError(uri, error instanceof Error ? error.message : 'fetch failed');
    }
    if (response.status !== 200) throw new FetchError(uri, `Status code is ${response.status}, expected 200`);
    return response.arrayBuffer();
  },
};

/** Tokens whose verification is remembered (the oldest is forgotten first). */
const VERIFIED_TOKENS = 1000;
/** How long a verification is remembered at most; never past the token's own `exp`. */
const VERIFIED_MAX_AGE_MS = 60_000;

interface Verified {
  readonly claims: TokenClaims;
  /** Epoch ms until which the claims are answered without verifying again. */
  readonly until: number;
}

/**
 * Verifies tokens of the local issuer (RS256, same claims as Cognito) with the generic verifier.
 *
 * A token that verified is remembered, by its exact text, until its `exp` (at most a minute):
 * the RS256 check was about 4% of the local runtime's CPU per secret read, and every client
 * sends the same token with each request. A token cannot change, and nothing revokes one before
 * its `exp` (here as with Cognito's access tokens), so the answer is the one a new check would
 * give; refused tokens are not remembered and are checked again each time.
 */
export class LocalTokenVerifier implements TokenVerifier {
  private readonly verifier;
  private readonly verified = new Map<string, Verified>();

  constructor(
    issuer: string,
    jwksUri: string,
    private readonly now: () => number = Date.now,
  ) {
    this.verifier = JwtVerifier.create(
      { issuer, jwksUri, audience: null, customJwtCheck: strictJwtCheck },
      { jwksCache: new SimpleJwksCache({ fetcher: loopbackFetcher }) },
    );
  }

  async verify(token: string): Promise<TokenClaims> {
    const now = this.now();
    const known = this.verified.get(token);
    if (known !== undefined) {
      if (now < known.until) return known.claims;
      this.verified.delete(token);
    }
    let claims: TokenClaims;
    try {
      claims = Object.freeze(await this.verifier.verify(token));
    } catch (error: unknown) {
      throw toVerificationError(error);
    }
    // strictJwtCheck made `exp` a required number; aws-jwt-verify refuses it from `exp` on.
    const until = Math.min(Number(claims.exp) * 1000, now + VERIFIED_MAX_AGE_MS);
    this.verified.set(token, { claims, until });
    if (this.verified.size > VERIFIED_TOKENS) {
      const oldest = this.verified.keys().next();
      if (oldest.done !== true) this.verified.delete(oldest.value);
    }
    return claims;
  }
}
