/** What an API function's middleware needs: CORS origins, the token verifier, the refusal sink. */
import type { AuditSink } from '../../core/audit/audit-sink.js';
import type { ApiDependencies } from '../../shared/api-handler.js';
import { requireAuthConfig } from '../../shared/config.js';
import type { ColdStart } from '../cold-start.js';
import { tokenVerifier } from '../index.js';
import { eventPublisher } from './events.js';

/**
 * For a function that may meet an integrity failure (it opens envelopes or reads the audit
 * chain): its manifest declares `publishesEvents`, and requests publish `integrity.failed`.
 */
export function apiDependencies(start: ColdStart, refusalAuditSink?: AuditSink): ApiDependencies {
  return {
    ...apiDependenciesWithoutEvents(start, refusalAuditSink),
    // Built on first publish: most requests never meet an integrity failure.
    events: eventPublisher(start),
  };
}

/**
 * For a function that can meet no integrity failure (health, me, the OpenAPI document, policies):
 * no event publisher, so its bundle holds no EventBridge client. Its own use cases may still
 * publish through a publisher of their own.
 */
export function apiDependenciesWithoutEvents(
  start: ColdStart,
  refusalAuditSink?: AuditSink,
): ApiDependencies {
  const { config, manifest } = start;
  let tokens: ApiDependencies['tokens'];
  if (manifest.verifiesTokens === true) {
    const auth = requireAuthConfig(config);
    tokens = { verifier: tokenVerifier(config, auth), userClientIds: auth.userClientIds };
  }
  return {
    ...publicApiDependencies(start),
    ...(tokens === undefined ? {} : { tokens }),
    ...(refusalAuditSink === undefined ? {} : { refusalAuditSink }),
  };
}

/**
 * For a function that serves public routes only (health, the OpenAPI document): CORS alone, so
 * its bundle holds no token verifier either.
 */
export function publicApiDependencies(start: ColdStart): ApiDependencies {
  return { corsOrigins: start.config.corsOrigins };
}
