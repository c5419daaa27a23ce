/**
 * `integrity.failed`: stored data failed authentication while a request used it (an envelope or
 * wrapped key that does not open, an audit chain that does not hold together). Published by the
 * API's error middleware for every `IntegrityError`, so an alert can page on tampering; the
 * digest engine's own chain check publishes `audit.integrity.failed`. Carries no value, key
 * material, path or message: only what failed, where, and the request to look up in the logs.
 */
import * as z from 'zod';
import { INTEGRITY_SUBJECTS } from '../core/errors.js';
import type { EventDefinition } from './events.js';

export const INTEGRITY_FAILED = 'integrity.failed';

export const IntegrityFailedDetail = z.strictObject({
  subject: z.enum(INTEGRITY_SUBJECTS),
  /** The API operation (route `operationId`) that met the failure. */
  operation: z.string().min(1).max(128),
  requestId: z.string().min(1).max(256),
});

export const INTEGRITY_EVENT_DEFINITIONS: Readonly<Record<string, EventDefinition>> = {
  [INTEGRITY_FAILED]: {
    description: 'Stored data (a secret envelope or the audit chain) failed authentication during a request',
    detail: IntegrityFailedDetail,
  },
};
