/**
 * The expiry check's parts: the inventory's expiry index, the tenants' thresholds (their finding
 * thresholds: expiry notice, warning and critical days, and the access keys' maximum age), and
 * the bus. Shared by the scheduled engine (./compose.ts) and the on-demand route
 * (lambdas/functions/expiry-check-api), without either composing the other's function.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbDiscoverySettingsStore } from '../../adapters/aws/dynamodb-discovery-settings-store.js';
import { DynamoDbExpiryIndex } from '../../adapters/aws/dynamodb-expiry-index.js';
import { FindingThresholdsSchema } from '../../core/credentials/findings/finding-rule.js';
import { ExpiryCheck, type TenantExpiryPolicy } from '../../core/notify/expiry.js';
import type { ColdStart } from '../../platform/cold-start.js';
import { tableName } from '../../platform/parts/dynamodb.js';
import { eventPublisher } from '../../platform/parts/events.js';

export function expiryCheckOf(start: ColdStart, dynamodb: DynamoDBDocumentClient): ExpiryCheck {
  const { config } = start;
  const settings = new DynamoDbDiscoverySettingsStore(dynamodb, tableName(config, 'settings'));
  const tenantPolicy = async (tenant: string): Promise<TenantExpiryPolicy> => {
    const stored = await settings.get(tenant);
    const thresholds = FindingThresholdsSchema.parse(stored.thresholds);
    return {
      thresholds: [thresholds.expiryNoticeDays, thresholds.expiryWarningDays, thresholds.expiryCriticalDays]
        .filter((days, index, all) => all.indexOf(days) === index)
        .sort((a, b) => b - a),
      accessKeyMaxAgeDays: thresholds.accessKeyMaxAgeDays,
    };
  };
  return new ExpiryCheck(
    new DynamoDbExpiryIndex(dynamodb, tableName(config, 'credentials')),
    eventPublisher(start),
    tenantPolicy,
  );
}
