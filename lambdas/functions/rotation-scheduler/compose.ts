/**
 * The rotation scheduler: the due index of the inventory, the retirement index of rotations, the
 * tenant list, and the queue. No engine, no rotators, no secret store.
 */
import { DynamoDbCredentialStore } from '../../adapters/aws/dynamodb-credential-store.js';
import { DynamoDbDueCredentials } from '../../adapters/aws/dynamodb-due-credentials.js';
import { DynamoDbRotationStore } from '../../adapters/aws/dynamodb-rotation-store.js';
import { RotationScheduler } from '../../core/rotation/scheduler.js';
import { coldStart } from '../../platform/cold-start.js';
import { rotationQueue } from '../../platform/index.js';
import { documentClient, tableName } from '../../platform/parts/dynamodb.js';
import { lazy } from '../../platform/parts/lazy.js';
import { manifest } from './manifest.js';

export const rotationScheduler = coldStart(manifest, (start) => {
  const { config } = start;
  const dynamodb = documentClient(start);
  const credentials = new DynamoDbCredentialStore(dynamodb, tableName(config, 'credentials'));
  const queue = lazy(() => rotationQueue(config));
  return {
    scheduler: new RotationScheduler(
      new DynamoDbDueCredentials(dynamodb, tableName(config, 'credentials')),
      new DynamoDbRotationStore(dynamodb, tableName(config, 'rotations')),
      () => credentials.tenants(),
      { send: (jobs) => queue().send(jobs) },
    ),
  };
});
