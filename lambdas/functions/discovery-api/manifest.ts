import { API_GATEWAY_TIMEOUT_SECONDS, type FunctionManifest } from '../../shared/function-manifest.js';

/** The discovery API: queued runs (credentials table), discovery settings; publishes run requests. */
export const manifest = {
  name: 'discovery-api',
  description: 'The discovery API',
  trigger: { kind: 'api', handler: 'discoveryApi' },
  tables: {
    credentials: ['read', 'dynamodb:PutItem'],
    settings: ['read', 'dynamodb:PutItem'],
    audit: ['dynamodb:PutItem', 'dynamodb:GetItem'],
  },
  publishesEvents: true,
  verifiesTokens: true,
  timeoutSeconds: API_GATEWAY_TIMEOUT_SECONDS,
  sdkClients: ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-eventbridge'],
} as const satisfies FunctionManifest;
