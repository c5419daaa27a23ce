/**
 * The credential inventory API: the inventory (credentials table; thresholds and rotation
 * policies in settings), the audit sink, the bus for findings, and the rotators' settings checks
 * for the rotation settings of registrations (no provider code).
 */
import { coldStart } from '../../platform/cold-start.js';
import { apiDependencies } from '../../platform/parts/api.js';
import { auditRecorder } from '../../platform/parts/audit.js';
import { documentClient } from '../../platform/parts/dynamodb.js';
import { eventPublisher } from '../../platform/parts/events.js';
import { credentialInventory } from '../../platform/parts/inventory.js';
import { rotatorSettings } from '../../platform/parts/rotators.js';
import { manifest } from './manifest.js';

export const credentials = coldStart(manifest, (start) => {
  const dynamodb = documentClient(start);
  const audit = auditRecorder(start, dynamodb)();
  const { inventory } = credentialInventory(start, dynamodb, {
    audit,
    events: eventPublisher(start),
    rotators: rotatorSettings(start.config),
  });
  return { api: apiDependencies(start, audit), inventory };
});
