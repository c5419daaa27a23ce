import { FetchError, JwtBaseError } from 'aws-jwt-verify/error';
import { DependencyUnavailableError, UnauthorizedError } from '../core/errors.js';

/**
 * Maps aws-jwt-verify failures onto domain errors: a JWKS that cannot be fetched fails closed
 * (503); anything wrong with the token itself is a 401 whose message names no token content.
 */
export function toVerificationError(error: unknown): Error {
  if (error instanceof FetchError) {
    return new DependencyUnavailableError('The identity provider keys are unavailable', 5, { cause: error });
  }
  if (error instanceof JwtBaseError) {
    return new UnauthorizedError('Invalid or expired token', { cause: error });
  }
  return new UnauthorizedError('Invalid token', { cause: error });
}
