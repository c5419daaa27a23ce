/**
 * The notifier: the notify stores on the settings table, channel secrets from the secret store,
 * the credential inventory for subjects, and one sender per channel kind (SES or SMTP / outbox,
 * SNS or a log line, Slack and webhooks over HTTP).
 */
import { DynamoDbCredentialStore } from '../../adapters/aws/dynamodb-credential-store.js';
import {
  DynamoDbAlertHoldStore,
  DynamoDbChannelStore,
  DynamoDbConditionStore,
  DynamoDbDeliveryLog,
  DynamoDbRouteStore,
} from '../../adapters/aws/dynamodb-notify-stores.js';
import { SlackSender } from '../../adapters/http/slack-sender.js';
import { WebhookSender } from '../../adapters/http/webhook-sender.js';
import { StoredChannelSecrets } from '../../core/notify/channel-secrets.js';
import { InventorySubjects } from '../../core/notify/inventory-subjects.js';
import { Notifier } from '../../core/notify/notifier.js';
import { type DeliveryOutcomes, realSleeper } from '../../core/notify/ports.js';
import { systemClock } from '../../core/ports.js';
import { coldStart } from '../../platform/cold-start.js';
import { emailSender, snsSender } from '../../platform/index.js';
import { documentClient, tableName } from '../../platform/parts/dynamodb.js';
import { secretsService } from '../../platform/parts/secrets.js';
import { manifest } from './manifest.js';

/**
 * SEAM (branch notify-api): `lambdas/core/notify/record-delivery.ts` records the audit events
 * `notification.sent` / `notification.failed` for each final delivery. Until it lands the
 * delivery log entry (written by the notifier itself) is the only record; replace this with it.
 */
const auditOfDeliveries: DeliveryOutcomes = { record: () => Promise.resolve() };

export const notifier = coldStart(manifest, (start) => {
  const { config } = start;
  const dynamodb = documentClient(start);
  const settings = tableName(config, 'settings');
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
        log: new DynamoDbDeliveryLog(dynamodb, settings),
        senders: [emailSender(config), snsSender(config), new SlackSender(), new WebhookSender()],
        clock: systemClock,
        sleeper: realSleeper,
        outcomes: auditOfDeliveries,
      },
      { dashboardUrl: config.notify.dashboardUrl },
    ),
  };
});
