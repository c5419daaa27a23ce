/** The path policies of a tenant, as the secrets and policies functions read and change them. */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbPolicyStore } from '../../adapters/aws/dynamodb-policy-store.js';
import { CachedPolicyStore } from '../../core/access/policy-cache.js';
import type { PolicyStore } from '../../core/access/policy-store.js';
import { systemClock } from '../../core/ports.js';
import type { ColdStart } from '../cold-start.js';
import { perProcess } from '../index.js';
import { tableName } from './dynamodb.js';

/**
 * The tenant's path policies with their attachments cached for at most 5 s (MAX_POLICY_STALENESS_MS).
 * Locally one per process, so a change through the policies API drops the entry the secrets
 * function reads; in AWS each function instance has its own and the bound applies.
 */
export function policyStore(start: ColdStart, dynamodb: DynamoDBDocumentClient): PolicyStore {
  const table = tableName(start.config, 'settings');
  return perProcess(
    start.config,
    `policy-store:${table}`,
    () => new CachedPolicyStore(new DynamoDbPolicyStore(dynamodb, table), { clock: systemClock }),
  );
}
