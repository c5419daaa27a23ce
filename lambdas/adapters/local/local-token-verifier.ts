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
 * Tokens of the local issuer that verified, by their exact text, each until its `exp` (at most a
 * minute), bounded in number. A token cannot change and nothing revokes one before its `exp`
 * (here as with Cognito's access tokens), so what it recalls is what a new check would answer.
 * Only verified tokens go in; a refused token is checked again each time it is presented.
 */
export class VerifiedTokenMemory {
  private readonly verified = new Map<string, Verified>();

  // Date is looked up on each call, so a replaced clock (fake timers, a test harness) is seen.
  constructor(private readonly now: () => number = () => Date.now()) {}

  recall(token: string): TokenClaims | undefined {
    const known = this.verified.get(token);
    if (known === undefined) return undefined;
    if (this.now() < known.until) return known.claims;
    this.verified.delete(token);
    return undefined;
  }

  /** Remembers claims that just verified; claims without a numeric `exp` are not remembered. */
  remember(token: string, claims: TokenClaims): void {
    if (typeof claims.exp !== 'number') return;
    // aws-jwt-verify refuses a token from its `exp` on.
    this.verified.set(token, {
      claims,
      until: Math.min(claims.exp * 1000, this.now() + VERIFIED_MAX_AGE_MS),
    });
    if (this.verified.size > VERIFIED_TOKENS) {
      const oldest = this.verified.keys().next();
      if (oldest.done !== true) this.verified.delete(oldest.value);
    }
  }
}

/**
 * Verifies tokens of the local issuer (RS256, same claims as Cognito) with the generic verifier.
 * Tokens that verified are remembered (VerifiedTokenMemory): the RS256 check was about 4% of the
 * local runtime's CPU per secret read, and a client sends the same token with each request.
 */
export class LocalTokenVerifier implements TokenVerifier {
  private readonly verifier;
  private readonly memory: VerifiedTokenMemory;

  constructor(issuer: string, jwksUri: string, now: () => number = () => Date.now()) {
    this.verifier = JwtVerifier.create(
      { issuer, jwksUri, audience: null, customJwtCheck: strictJwtCheck },
      { jwksCache: new SimpleJwksCache({ fetcher: loopbackFetcher }) },
    );
    this.memory = new VerifiedTokenMemory(now);
  }

  async verify(token: string): Promise<TokenClaims> {
    const known = this.memory.recall(token);
    if (known !== undefined) return known;
    let claims: TokenClaims;
    try {
      claims = Object.freeze(await this.verifier.verify(token));
    } catch (error: unknown) {
      throw toVerificationError(error);
    }
    this.memory.remember(token, claims);
    return claims;
  }
}
