/**
 * The notifier: the notify stores on the settings table, channel secrets from the secret store,
 * the credential inventory for subjects, and one sender per channel kind (SES or SMTP / outbox,
 * SNS or a log line, Slack and webhooks over HTTP), and the audit sink deliveries are recorded in.
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
import { InventorySubjects } from '../../core/notify/inventory-subjects.js';
import { Notifier } from '../../core/notify/notifier.js';
import { realSleeper } from '../../core/notify/ports.js';
import { DeliveryRecorder } from '../../core/notify/record-delivery.js';
import { systemClock } from '../../core/ports.js';
import { coldStart } from '../../platform/cold-start.js';
import { channelSenders } from '../../platform/index.js';
import { auditRecorder } from '../../platform/parts/audit.js';
import { documentClient, tableName } from '../../platform/parts/dynamodb.js';
import { secretsService } from '../../platform/parts/secrets.js';
import { manifest } from './manifest.js';

export const notifier = coldStart(manifest, (start) => {
  const { config } = start;
  const dynamodb = documentClient(start);
  const settings = tableName(config, 'settings');
  const log = new DynamoDbDeliveryLog(dynamodb, settings);
  // Each final delivery is audited (notification.sent / notification.failed) after its log entry.
  const deliveries = new DeliveryRecorder({
    log,
    audit: auditRecorder(start, dynamodb)(),
    clock: systemClock,
  });
  return {
    notifier: new Notifier(
      {
        channels: new DynamoDbChannelStore(dynamodb, settings),
        routes: new DynamoDbRouteStore(dynamodb, settings),
        secrets: new StoredChannelSecrets(secretsService(start, dynamodb)),
        subjects: new InventorySubjects(
          new DynamoDbCredentialStore(dynamodb, tableName(config, 'credentials')),
        ),
        conditions: new DynamoDbConditionStore(dynamodb, settings),
        holds: new DynamoDbAlertHoldStore(dynamodb, settings),
        log,
        senders: channelSenders(config),
        clock: systemClock,
        sleeper: realSleeper,
        outcomes: { record: (entry) => deliveries.auditDelivery(entry) },
      },
      { dashboardUrl: config.notify.dashboardUrl },
    ),
  };
});
