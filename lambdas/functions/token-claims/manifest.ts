import type { FunctionManifest } from '../../shared/function-manifest.js';

/**
 * The Cognito pre-token-generation trigger: looks up one item, the tenant of a machine client
 * (pk = machine-client#<id>, sk = tenant).
 */
export const manifest = {
  name: 'token-claims',
  description: 'Adds custom:tenant to access tokens (pre token generation)',
  trigger: { kind: 'cognitoPreTokenGeneration' },
  tables: { settings: ['dynamodb:GetItem'] },
  memoryMb: 256,
  // Cognito waits five seconds for a trigger.
  timeoutSeconds: 5,
  sdkClients: ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb'],
} as const satisfies FunctionManifest;
