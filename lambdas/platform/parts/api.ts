/** What an API function's middleware needs: CORS origins, the token verifier, the refusal sink. */
import type { AuditSink } from '../../core/audit/audit-sink.js';
import type { ApiDependencies } from '../../shared/api-handler.js';
import { requireAuthConfig } from '../../shared/config.js';
import type { ColdStart } from '../cold-start.js';
import { tokenVerifier } from '../index.js';
import { eventPublisher } from './events.js';

export function apiDependencies(start: ColdStart, refusalAuditSink?: AuditSink): ApiDependencies {
  const { config, manifest } = start;
  let tokens: ApiDependencies['tokens'];
  if (manifest.verifiesTokens === true) {
    const auth = requireAuthConfig(config);
    tokens = { verifier: tokenVerifier(config, auth), userClientIds: auth.userClientIds };
  }
  return {
    corsOrigins: config.corsOrigins,
    // Built on first publish: most requests never meet an integrity failure.
    events: eventPublisher(start),
    ...(tokens === undefined ? {} : { tokens }),
    ...(refusalAuditSink === undefined ? {} : { refusalAuditSink }),
  };
}
