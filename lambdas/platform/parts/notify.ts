/**
 * The notify parts the notifications API, the notifier and the digest share: the stores on the
 * settings table, channel secrets in the secret store, the inventory, and one sender per channel
 * kind. Built once here, so the three functions cannot drift apart in how they read a channel.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbCredentialStore } from '../../adapters/aws/dynamodb-credential-store.js';
import {
  DynamoDbAlertHoldStore,
  DynamoDbChannelStore,
  DynamoDbConditionStore,
  DynamoDbDeliveryLog,
  DynamoDbRouteStore,
} from '../../adapters/aws/dynamodb-notify-stores.js';
import { StoredChannelSecrets } from '../../core/notify/channel-secrets.js';
import type { ColdStart } from '../cold-start.js';
import { channelSenders } from '../index.js';
import { tableName } from './dynamodb.js';
import { secretsService } from './secrets.js';

export function notifyParts(start: ColdStart, dynamodb: DynamoDBDocumentClient) {
  const { config } = start;
  const settings = tableName(config, 'settings');
  return {
    channels: new DynamoDbChannelStore(dynamodb, settings),
    routes: new DynamoDbRouteStore(dynamodb, settings),
    holds: new DynamoDbAlertHoldStore(dynamodb, settings),
    conditions: new DynamoDbConditionStore(dynamodb, settings),
    log: new DynamoDbDeliveryLog(dynamodb, settings),
    secrets: new StoredChannelSecrets(secretsService(start, dynamodb)),
    credentials: new DynamoDbCredentialStore(dynamodb, tableName(config, 'credentials')),
    senders: channelSenders(config),
  };
}
