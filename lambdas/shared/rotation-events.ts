/**
 * The events of the rotation engine, with their detail schemas (part of `EVENT_DEFINITIONS` in
 * `./events.ts`). Their details carry ids, types, step names and error codes, never a value.
 */
import * as z from 'zod';
import { ROTATOR_TYPES } from '../core/rotation/policy.js';
import { ROTATION_STATES, ROTATION_STEPS, ROTATION_TRIGGERS } from '../core/rotation/rotation.js';
import { ROTATION_EVENT_TYPES } from '../core/rotation/rotation-events.js';
import type { EventDefinition } from './events.js';

const rotation = z.strictObject({
  credentialId: z.string().regex(/^cr_[0-9a-f]{24}$/),
  credentialType: z.enum(ROTATOR_TYPES),
  rotationId: z.string().regex(/^rot_[0-9a-f]{24}_[0-9a-z]{17}$/),
  trigger: z.enum(ROTATION_TRIGGERS),
  dryRun: z.boolean(),
  state: z.enum(ROTATION_STATES),
  step: z.enum(ROTATION_STEPS).optional(),
  reason: z.string().min(1).max(512).optional(),
  rolledBack: z.boolean().optional(),
});

/** An assisted rotation's notice: who to tell and how close the expiry is (never the value). */
const assisted = rotation.extend({
  expiresAt: z.string().datetime({ offset: true }).optional(),
  daysLeft: z.number().int().min(-36_500).max(36_500).optional(),
  stage: z
    .string()
    .regex(/^(\d{1,3}d|overdue)$/)
    .optional(),
  contacts: z.array(z.string().min(1).max(256)).max(2),
  escalated: z.boolean(),
});

export const ROTATION_EVENT_DEFINITIONS: Readonly<Record<string, EventDefinition>> = {
  [ROTATION_EVENT_TYPES.started]: {
    description: 'A rotation began its first step.',
    detail: rotation,
  },
  [ROTATION_EVENT_TYPES.succeeded]: {
    description: 'A rotation finished: the new value is current (or, for a dry run, the checks passed).',
    detail: rotation,
  },
  [ROTATION_EVENT_TYPES.failed]: {
    description:
      'A rotation failed; with rolledBack, the pending value was discarded and the current one kept working.',
    detail: rotation,
  },
  [ROTATION_EVENT_TYPES.rolledBack]: {
    description: 'A succeeded rotation was rolled back on request: the previous value is current again.',
    detail: rotation,
  },
  [ROTATION_EVENT_TYPES.retired]: {
    description: 'The credential a rotation replaced was retired at its provider (deactivated and deleted).',
    detail: rotation,
  },
  [ROTATION_EVENT_TYPES.awaitingInput]: {
    description:
      'An assisted rotation opened and waits for a person to submit the new value (POST /rotations/{id}/submit); tells the owner.',
    detail: assisted,
  },
  [ROTATION_EVENT_TYPES.reminder]: {
    description:
      'An assisted rotation still waits for its new value: reminders at 30, 7 and 1 days before the expiry (by default), then overdue, escalated to the second contact.',
    detail: assisted,
  },
};
