/** The daily digest: the inventory, the channels and their secrets, and one sender per channel kind. */
import { DynamoDbCredentialStore } from '../../adapters/aws/dynamodb-credential-store.js';
import { DynamoDbChannelStore, DynamoDbDeliveryLog } from '../../adapters/aws/dynamodb-notify-stores.js';
import { StoredChannelSecrets } from '../../core/notify/channel-secrets.js';
import { DailyDigest } from '../../core/notify/digest.js';
import { systemClock } from '../../core/ports.js';
import { coldStart } from '../../platform/cold-start.js';
import { channelSenders } from '../../platform/index.js';
import { documentClient, tableName } from '../../platform/parts/dynamodb.js';
import { secretsService } from '../../platform/parts/secrets.js';
import { manifest } from './manifest.js';

export const notifyDigest = coldStart(manifest, (start) => {
  const { config } = start;
  const dynamodb = documentClient(start);
  const settings = tableName(config, 'settings');
  const credentials = new DynamoDbCredentialStore(dynamodb, tableName(config, 'credentials'));
  return {
    digest: new DailyDigest(
      {
        tenants: () => credentials.tenants(),
        credentials,
        channels: new DynamoDbChannelStore(dynamodb, settings),
        secrets: new StoredChannelSecrets(secretsService(start, dynamodb)),
        senders: channelSenders(config),
        log: new DynamoDbDeliveryLog(dynamodb, settings),
        clock: systemClock,
      },
      { dashboardUrl: config.notify.dashboardUrl },
    ),
  };
});
