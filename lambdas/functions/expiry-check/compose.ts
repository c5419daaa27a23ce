/**
 * The expiry engine: the inventory's expiry index, the tenants' thresholds (their finding
 * thresholds: expiry notice, warning and critical days, and the access keys' maximum age), and
 * the bus.
 */
import { DynamoDbDiscoverySettingsStore } from '../../adapters/aws/dynamodb-discovery-settings-store.js';
import { DynamoDbExpiryIndex } from '../../adapters/aws/dynamodb-expiry-index.js';
import { FindingThresholdsSchema } from '../../core/credentials/findings/finding-rule.js';
import { ExpiryCheck, type TenantExpiryPolicy } from '../../core/notify/expiry.js';
import { coldStart } from '../../platform/cold-start.js';
import { documentClient, tableName } from '../../platform/parts/dynamodb.js';
import { eventPublisher } from '../../platform/parts/events.js';
import { manifest } from './manifest.js';

export const expiryCheck = coldStart(manifest, (start) => {
  const { config } = start;
  const dynamodb = documentClient(start);
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
  return {
    check: new ExpiryCheck(
      new DynamoDbExpiryIndex(dynamodb, tableName(config, 'credentials')),
      eventPublisher(start),
      tenantPolicy,
    ),
  };
});
