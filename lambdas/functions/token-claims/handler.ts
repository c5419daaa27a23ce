import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { tenantClaimFor, type TokenRequest } from '../../core/token-claims.js';
import { tokenClaims } from './compose.js';
import { logger } from '../../shared/observability.js';

/** The fields of Cognito's pre-token-generation (V2/V3) event this trigger reads. */
const PreTokenGenerationEvent = z
  .object({
    version: z.string(),
    triggerSource: z.string(),
    userPoolId: z.string(),
    callerContext: z.object({ clientId: z.string() }).loose(),
    request: z.object({ userAttributes: z.record(z.string(), z.string()).optional() }).loose(),
    response: z.object({}).loose(),
  })
  .loose();

/**
 * Cognito pre-token-generation trigger (V3, so it also runs for client credentials): adds
 * `custom:tenant` to access tokens so the API can authorize on them.
 */
export const handler = middy<unknown, unknown>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (input: unknown, _context: Context) => {
    const event = PreTokenGenerationEvent.parse(input);
    const request: TokenRequest =
      event.triggerSource === 'TokenGeneration_ClientCredentials'
        ? { kind: 'machine', clientId: event.callerContext.clientId }
        : { kind: 'user', tenantAttribute: event.request.userAttributes?.['custom:tenant'] };
    const tenant = await tenantClaimFor(request, tokenClaims().machineClients);
    logger.info('Tenant claim added', { triggerSource: event.triggerSource, kind: request.kind, tenant });
    return {
      ...event,
      response: {
        claimsAndScopeOverrideDetails: {
          accessTokenGeneration: { claimsToAddOrOverride: { 'custom:tenant': tenant } },
        },
      },
    };
  });
