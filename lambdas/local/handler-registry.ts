/**
 * The handlers the local runtime can invoke, by the ids the route table and engine specs use.
 * The records are exhaustive over those ids, so a new route or engine without a handler here
 * fails the type check rather than at run time. Modules load lazily, after the runtime has set
 * the environment they read at their cold start.
 */
import type { ApiLambda } from '../shared/api-handler.js';
import type { EngineLambda } from '../shared/engine-handler.js';
import type { EngineId } from '../shared/engines.js';
import type { ApiHandlerId } from '../shared/routes.js';

export const API_HANDLERS: Readonly<Record<ApiHandlerId, () => Promise<ApiLambda>>> = {
  health: async () => (await import('../handlers/health.js')).handler,
  me: async () => (await import('../handlers/me.js')).handler,
  openapi: async () => (await import('../handlers/openapi.js')).handler,
  secrets: async () => (await import('../handlers/secrets.js')).handler,
  policies: async () => (await import('../handlers/policies.js')).handler,
  admin: async () => (await import('../handlers/admin.js')).handler,
};

export const ENGINE_HANDLERS: Readonly<Record<EngineId, () => Promise<EngineLambda>>> = {
  discovery: async () => (await import('../handlers/discovery.js')).handler,
  rotationScheduler: async () => (await import('../handlers/rotation-scheduler.js')).handler,
  auditDigest: async () => (await import('../handlers/audit-digest.js')).handler,
  expiryCheck: async () => (await import('../handlers/expiry-check.js')).handler,
};
