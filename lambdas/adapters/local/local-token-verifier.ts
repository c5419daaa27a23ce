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

/** Verifies tokens of the local issuer (RS256, same claims as Cognito) with the generic verifier. */
export class LocalTokenVerifier implements TokenVerifier {
  private readonly verifier;

  constructor(issuer: string, jwksUri: string) {
    this.verifier = JwtVerifier.create(
      { issuer, jwksUri, audience: null, customJwtCheck: strictJwtCheck },
      { jwksCache: new SimpleJwksCache({ fetcher: loopbackFetcher }) },
    );
  }

  async verify(token: string): Promise<TokenClaims> {
    try {
      return await this.verifier.verify(token);
    } catch (error: unknown) {
      throw toVerificationError(error);
    }
  }
}
