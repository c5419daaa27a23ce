/**
 * The rotation scheduler: the due index of the inventory, the retirement index of rotations, the
 * tenant list, and the queue; and the inventory (with its audit log and bus, for the findings a
 * new due time opens or resolves) to carry out the due-time refreshes that policy writes left
 * pending. No engine, no rotation steps, no secret store.
 */
import { DynamoDbDueCredentials } from '../../adapters/aws/dynamodb-due-credentials.js';
import { DynamoDbRotationStore } from '../../adapters/aws/dynamodb-rotation-store.js';
import { RotationScheduler } from '../../core/rotation/scheduler.js';
import { coldStart } from '../../platform/cold-start.js';
import { rotationQueue } from '../../platform/index.js';
import { auditRecorder } from '../../platform/parts/audit.js';
import { documentClient, tableName } from '../../platform/parts/dynamodb.js';
import { eventPublisher } from '../../platform/parts/events.js';
import { credentialInventory, dueTimeRefresh } from '../../platform/parts/inventory.js';
import { lazy } from '../../platform/parts/lazy.js';
import { startOnlyRotators } from '../../platform/parts/rotators.js';
import { manifest } from './manifest.js';

export const rotationScheduler = coldStart(manifest, (start) => {
  const { config } = start;
  const dynamodb = documentClient(start);
  // Settings checks only (due times need the types' rules, not their provider code).
  const inventory = credentialInventory(start, dynamodb, {
    audit: auditRecorder(start, dynamodb)(),
    events: eventPublisher(start),
    rotators: startOnlyRotators(config),
  });
  const refresh = dueTimeRefresh(inventory);
  const queue = lazy(() => rotationQueue(config));
  return {
    scheduler: new RotationScheduler(
      new DynamoDbDueCredentials(dynamodb, tableName(config, 'credentials')),
      new DynamoDbRotationStore(dynamodb, tableName(config, 'rotations')),
      () => inventory.credentials.tenants(),
      { send: (jobs) => queue().send(jobs) },
      { dueTimes: refresh },
    ),
  };
});
