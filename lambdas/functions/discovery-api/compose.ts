/** The discovery API: run records (credentials table), discovery settings, the audit sink, the bus. */
import { DynamoDbCredentialStore } from '../../adapters/aws/dynamodb-credential-store.js';
import { DynamoDbDiscoveryRunStore } from '../../adapters/aws/dynamodb-discovery-run-store.js';
import { DynamoDbDiscoverySettingsStore } from '../../adapters/aws/dynamodb-discovery-settings-store.js';
import { DiscoveryControl } from '../../core/discovery/control.js';
import { systemClock } from '../../core/ports.js';
import { coldStart } from '../../platform/cold-start.js';
import { apiDependencies } from '../../platform/parts/api.js';
import { auditRecorder } from '../../platform/parts/audit.js';
import { documentClient, tableName } from '../../platform/parts/dynamodb.js';
import { eventPublisher } from '../../platform/parts/events.js';
import { manifest } from './manifest.js';

export const discoveryApi = coldStart(manifest, (start) => {
  const { config } = start;
  const dynamodb = documentClient(start);
  const audit = auditRecorder(start, dynamodb)();
  return {
    api: apiDependencies(start, audit),
    control: new DiscoveryControl(
      new DynamoDbDiscoveryRunStore(dynamodb, tableName(config, 'credentials')),
      new DynamoDbDiscoverySettingsStore(dynamodb, tableName(config, 'settings')),
      new DynamoDbCredentialStore(dynamodb, tableName(config, 'credentials')),
      audit,
      eventPublisher(start),
      systemClock,
    ),
  };
});
