import { API_GATEWAY_TIMEOUT_SECONDS, type FunctionManifest } from '../../shared/function-manifest.js';

/** The policy admin API: path policies and their attachments (settings table). */
export const manifest = {
  name: 'policies',
  description: 'The policy admin API',
  trigger: { kind: 'api', handler: 'policies' },
  tables: {
    settings: ['read', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
    audit: ['dynamodb:PutItem', 'dynamodb:GetItem'],
  },
  verifiesTokens: true,
  timeoutSeconds: API_GATEWAY_TIMEOUT_SECONDS,
  sdkClients: ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb'],
} as const satisfies FunctionManifest;
