/**
 * The events of the expiry engine, with their detail schemas (part of `EVENT_DEFINITIONS` in
 * `./events.ts`): ids, names, owner and dates, never a value.
 */
import * as z from 'zod';
import { CREDENTIAL_TYPES } from '../core/credentials/credential.js';
import { EXPIRY_EVENT_TYPES } from '../core/notify/notify-event.js';
import type { EventDefinition } from './events.js';

const subject = {
  credentialId: z.string().regex(/^cr_[0-9a-f]{24}$/),
  credentialType: z.enum(CREDENTIAL_TYPES),
  credentialName: z.string().min(1).max(2048),
  owner: z.string().min(1).max(256).optional(),
};
const isoTime = z.string().datetime({ offset: true });

export const NOTIFY_EVENT_DEFINITIONS: Readonly<Record<string, EventDefinition>> = {
  [EXPIRY_EVENT_TYPES.expiring]: {
    description:
      'A credential expires within one of its warning thresholds (30, 7, 1 days by default; threshold 0 is the day itself).',
    detail: z.strictObject({
      ...subject,
      expiresAt: isoTime,
      daysLeft: z.number().int().min(0),
      threshold: z.number().int().min(0).max(365),
    }),
  },
  [EXPIRY_EVENT_TYPES.expired]: {
    description: 'A credential is past its expiry date.',
    detail: z.strictObject({ ...subject, expiresAt: isoTime }),
  },
  [EXPIRY_EVENT_TYPES.rotationOverdue]: {
    description: 'A credential was due for rotation more than a day ago and has not been rotated.',
    detail: z.strictObject({ ...subject, dueAt: isoTime, overdueDays: z.number().int().min(0) }),
  },
};
