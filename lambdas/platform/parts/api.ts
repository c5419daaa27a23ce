/** What an API function's middleware needs: CORS origins, the token verifier, the refusal sink. */
import type { AuditSink } from '../../core/audit/audit-sink.js';
import type { ApiDependencies } from '../../shared/api-handler.js';
import { requireAuthConfig } from '../../shared/config.js';
import type { ColdStart } from '../cold-start.js';
import { tokenVerifier } from '../index.js';
import { eventPublisher } from './events.js';

/** For a function that reads stored data, where a request may meet an integrity failure. */
export function apiDependencies(start: ColdStart, refusalAuditSink?: AuditSink): ApiDependencies {
  return {
    ...statelessApiDependencies(start),
    // Built on first publish: most requests never meet an integrity failure.
    events: eventPublisher(start),
    ...(refusalAuditSink === undefined ? {} : { refusalAuditSink }),
  };
}

/**
 * For a function that keeps and reads no data (health, me, the OpenAPI document): it can meet no
 * integrity failure, so it has no event publisher, and its bundle no EventBridge client.
 */
export function statelessApiDependencies(start: ColdStart): ApiDependencies {
  const { config, manifest } = start;
  let tokens: ApiDependencies['tokens'];
  if (manifest.verifiesTokens === true) {
    const auth = requireAuthConfig(config);
    tokens = { verifier: tokenVerifier(config, auth), userClientIds: auth.userClientIds };
  }
  return {
    corsOrigins: config.corsOrigins,
    ...(tokens === undefined ? {} : { tokens }),
  };
}
