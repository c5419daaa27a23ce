import { CognitoJwtVerifier } from 'aws-jwt-verify';
import type { TokenClaims, TokenVerifier } from '../../core/ports.js';
import { strictJwtCheck } from '../jwt-checks.js';
import { toVerificationError } from '../jwt-errors.js';

/**
 * Verifies Cognito ID and access tokens of one user pool (signature, issuer, expiry, token use;
 * `exp` required and `crit` refused, see jwt-checks.ts).
 * Which app client may send which kind of token is decided by `principalFromClaims`, because
 * machine clients are created at run time and cannot be listed here.
 */
export class CognitoTokenVerifier implements TokenVerifier {
  private readonly verifier;

  constructor(userPoolId: string) {
    this.verifier = CognitoJwtVerifier.create({
      userPoolId,
      tokenUse: null,
      clientId: null,
      customJwtCheck: strictJwtCheck,
    });
  }

  async verify(token: string): Promise<TokenClaims> {
    try {
      return await this.verifier.verify(token);
    } catch (error: unknown) {
      throw toVerificationError(error);
    }
  }
}
