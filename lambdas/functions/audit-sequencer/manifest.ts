import type { FunctionManifest } from '../../shared/function-manifest.js';

/** The sequencer: the audit table's stream in, appends to each tenant's chain (PutItem only). */
export const manifest = {
  name: 'audit-sequencer',
  description: "Appends recorded audit events to their tenant's hash chain",
  trigger: { kind: 'auditStream' },
  tables: { audit: ['read', 'dynamodb:PutItem'] },
  publishesEvents: true,
  timeoutSeconds: 60,
  memoryMb: 256,
  sdkClients: ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-eventbridge'],
} as const satisfies FunctionManifest;
