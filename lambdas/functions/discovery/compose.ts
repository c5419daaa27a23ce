/**
 * The discovery engine: the inventory and run records (credentials table), discovery settings,
 * the store's secret metadata (DynamoDB backend), read-only AWS APIs, the audit sink, the bus.
 */
import { AwsCloudSources } from '../../adapters/aws/aws-cloud-sources.js';
import { DynamoDbCredentialStore } from '../../adapters/aws/dynamodb-credential-store.js';
import { DynamoDbDiscoveryRunStore } from '../../adapters/aws/dynamodb-discovery-run-store.js';
import { DynamoDbDiscoverySettingsStore } from '../../adapters/aws/dynamodb-discovery-settings-store.js';
import { DynamoDbSecretStore } from '../../adapters/aws/dynamodb-secret-store.js';
import { DiscoveryEngine } from '../../core/discovery/engine.js';
import { systemClock } from '../../core/ports.js';
import { coldStart } from '../../platform/cold-start.js';
import { auditRecorder } from '../../platform/parts/audit.js';
import { documentClient, tableName } from '../../platform/parts/dynamodb.js';
import { eventPublisher } from '../../platform/parts/events.js';
import { logLostHistory } from '../../platform/parts/inventory.js';
import { manifest } from './manifest.js';

/** Secrets Manager and SSM allow more than IAM; this ceiling per region stays well inside both. */
const DISCOVERY_REGIONAL_RATE = 20;

export const discovery = coldStart(manifest, (start) => {
  const { config } = start;
  const dynamodb = documentClient(start);
  return {
    engine: new DiscoveryEngine(
      {
        credentials: new DynamoDbCredentialStore(dynamodb, tableName(config, 'credentials')),
        runs: new DynamoDbDiscoveryRunStore(dynamodb, tableName(config, 'credentials')),
        settings: new DynamoDbDiscoverySettingsStore(dynamodb, tableName(config, 'settings')),
        cloud: new AwsCloudSources({
          region: config.region,
          defaultRegions: config.discovery.regions,
          ambientTenant: config.discovery.ambientTenant,
          iamRatePerSecond: config.discovery.iamRatePerSecond,
          regionalRatePerSecond: DISCOVERY_REGIONAL_RATE,
          concurrency: config.discovery.concurrency,
        }),
        // With the Secrets Manager backend, the store's secrets are discovered as Secrets Manager secrets.
        storedSecrets:
          config.secretBackend.kind === 'dynamodb'
            ? new DynamoDbSecretStore(dynamodb, tableName(config, 'secrets'))
            : undefined,
        audit: auditRecorder(start, dynamodb)(),
        events: eventPublisher(start),
        clock: systemClock,
      },
      // A lost history entry is logged as the credential API logs it, and counted in the run.
      { ambientTenant: config.discovery.ambientTenant, onHistoryLost: logLostHistory },
    ),
  };
});
