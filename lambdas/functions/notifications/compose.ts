/**
 * The notifications API: the notify stores (settings table), channel secrets in the secret store,
 * credentials (a hold names one), the channel senders for test messages, and the audit sink.
 */
import { DynamoDbCredentialStore } from '../../adapters/aws/dynamodb-credential-store.js';
import {
  DynamoDbAlertHoldStore,
  DynamoDbChannelStore,
  DynamoDbConditionStore,
  DynamoDbDeliveryLog,
  DynamoDbRouteStore,
} from '../../adapters/aws/dynamodb-notify-stores.js';
import { StoredChannelSecrets } from '../../core/notify/channel-secrets.js';
import { NotificationAdministration } from '../../core/notify/notification-admin.js';
import { systemClock } from '../../core/ports.js';
import { coldStart } from '../../platform/cold-start.js';
import { channelSenders } from '../../platform/index.js';
import { apiDependencies } from '../../platform/parts/api.js';
import { auditRecorder } from '../../platform/parts/audit.js';
import { documentClient, tableName } from '../../platform/parts/dynamodb.js';
import { secretsService } from '../../platform/parts/secrets.js';
import { manifest } from './manifest.js';

export const notifications = coldStart(manifest, (start) => {
  const { config } = start;
  const dynamodb = documentClient(start);
  const audit = auditRecorder(start, dynamodb)();
  const settings = tableName(config, 'settings');
  return {
    api: apiDependencies(start, audit),
    administration: new NotificationAdministration(
      {
        channels: new DynamoDbChannelStore(dynamodb, settings),
        secrets: new StoredChannelSecrets(secretsService(start, dynamodb)),
        routes: new DynamoDbRouteStore(dynamodb, settings),
        holds: new DynamoDbAlertHoldStore(dynamodb, settings),
        conditions: new DynamoDbConditionStore(dynamodb, settings),
        credentials: new DynamoDbCredentialStore(dynamodb, tableName(config, 'credentials')),
        log: new DynamoDbDeliveryLog(dynamodb, settings),
        senders: channelSenders(config),
        audit,
        clock: systemClock,
      },
      {
        // Locally, Slack and webhook stand-ins listen on plain HTTP on this machine.
        validation: { allowLoopbackHttp: config.runtime === 'local' },
        dashboardUrl: config.notify.dashboardUrl,
      },
    ),
  };
});
