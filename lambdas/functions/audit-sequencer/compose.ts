/** The sequencer: the chain store (audit table) and the bus it reports integrity events on. */
import { coldStart } from '../../platform/cold-start.js';
import { auditParts } from '../../platform/parts/audit.js';
import { documentClient } from '../../platform/parts/dynamodb.js';
import { manifest } from './manifest.js';

export const auditSequencer = coldStart(manifest, (start) => ({
  sequencer: auditParts(start, documentClient(start)).sequencer(),
}));
