/**
 * The rotation API: rotation records and policies, the inventory (due times, registrations), the
 * engine only to start rotations (no secret store: the worker runs them), the queue requests go
 * to, and the rotation worker that runs explicit rollbacks.
 */
import { systemClock } from '../../core/ports.js';
import { RotationAccess } from '../../core/rotation/rotation-access.js';
import { coldStart } from '../../platform/cold-start.js';
import { rollbackRunner, rotationQueue } from '../../platform/index.js';
import { apiDependencies } from '../../platform/parts/api.js';
import { auditRecorder } from '../../platform/parts/audit.js';
import { documentClient } from '../../platform/parts/dynamodb.js';
import { eventPublisher } from '../../platform/parts/events.js';
import { credentialInventory, dueTimeRefresh, rotationEngine } from '../../platform/parts/inventory.js';
import { lazy } from '../../platform/parts/lazy.js';
import { startOnlyRotators } from '../../platform/parts/rotators.js';
import { manifest } from './manifest.js';

export const rotations = coldStart(manifest, (start) => {
  const { config } = start;
  const dynamodb = documentClient(start);
  const audit = auditRecorder(start, dynamodb)();
  const events = eventPublisher(start);
  // Settings checks only: the worker runs the steps, so no provider code is bundled here.
  const registry = startOnlyRotators(config);
  const inventory = credentialInventory(start, dynamodb, { audit, events, rotators: registry });
  const { engine, store, targets } = rotationEngine(start, dynamodb, {
    inventory,
    rotators: registry,
    secrets: () => {
      // Rotation steps run in the rotation worker; this function holds no secret store.
      throw new Error('The rotation API runs no rotation steps; the rotation worker does');
    },
    audit,
    events,
  });
  const queue = lazy(() => rotationQueue(config));
  const rollbacks = lazy(() => rollbackRunner(config));
  const refresh = dueTimeRefresh(inventory);
  return {
    api: apiDependencies(start, audit),
    access: new RotationAccess(
      engine,
      store,
      inventory.policies,
      { send: (jobs) => queue().send(jobs) },
      {
        rollback: (key, requestedBy) => rollbacks().rollback(key, requestedBy),
        submit: (key, value, requestedBy, deadline) => rollbacks().submit(key, value, requestedBy, deadline),
      },
      audit,
      systemClock,
      targets,
      (tenant) => refresh.refreshOrDefer(tenant),
    ),
  };
});
