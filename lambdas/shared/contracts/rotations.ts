/**
 * Contracts of the rotation API. Shapes are checked here; policy rules (grace periods, known
 * rotators, windows inside the interval) are validated by the domain, which answers 400 with its
 * issues. No contract carries a credential's value.
 */
import * as z from 'zod';

const Step = z
  .object({
    step: z.string(),
    status: z.enum(['running', 'succeeded', 'failed', 'skipped']),
    startedAt: z.string(),
    endedAt: z.string().optional(),
    attempts: z.number().int(),
    outcome: z
      .string()
      .optional()
      .describe('Why it failed, was skipped or waits (codes and messages, no values)'),
  })
  .meta({ id: 'RotationStep' });

export const Rotation = z
  .object({
    rotationId: z.string(),
    credentialId: z.string(),
    credentialType: z.string(),
    state: z.enum(['pending', 'in-progress', 'awaiting-input', 'succeeded', 'failed', 'rolled-back']),
    trigger: z.enum(['manual', 'schedule']),
    requestedBy: z.string(),
    policyName: z.string().optional(),
    dryRun: z.boolean(),
    steps: z.array(Step),
    failure: z.string().optional(),
    retirement: z
      .object({
        status: z.string(),
        nextPhase: z.enum(['deactivate', 'delete']).optional(),
        dueAt: z.string().optional(),
        deactivatedAt: z.string().optional(),
        retiredAt: z.string().optional(),
        note: z.string().optional(),
      })
      .optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
    finishedAt: z.string().optional(),
  })
  .meta({ id: 'Rotation' });

export const RotationResponse = z.object({ data: Rotation }).meta({ id: 'RotationResponse' });

export const RotationAccepted = z
  .object({ data: z.object({ rotationId: z.string(), state: Rotation.shape.state }) })
  .meta({ id: 'RotationAccepted' });

export const RotationListResponse = z
  .object({ data: z.object({ rotations: z.array(Rotation), nextCursor: z.string().optional() }) })
  .meta({ id: 'RotationListResponse' });

/** An assisted rotation's new value: checked by the type's test, stored sealed, never echoed. */
export const SubmitRotationRequest = z
  .object({
    value: z
      .record(z.string(), z.string())
      .describe('The new value\'s fields; github-pat: {"token": "github_pat_…"}'),
  })
  .strict()
  .meta({ id: 'SubmitRotationRequest' });

export const ListRotationsQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).optional(),
    cursor: z.string().max(2000).optional(),
  })
  .strict()
  .meta({ id: 'ListRotationsQuery' });

/** A rotation policy's settings; unknown fields are refused by the domain (400). */
export const RotationPolicySettings = z.record(z.string(), z.unknown()).meta({
  id: 'RotationPolicySettings',
  description:
    'intervalDays, window {schedule, duration}, deactivateAfterDays, deleteAfterDays, nonUseGateHours, dryRun, exemptionTag, pairTag, pairSpacingMinutes, rotator, appliesTo {types, tags}',
});

export const PutRotationPolicyRequest = z
  .object({
    policy: RotationPolicySettings,
    /** Check-and-set: the revision last read (0 = create only). */
    revision: z.number().int().min(0).optional(),
  })
  .strict()
  .meta({ id: 'PutRotationPolicyRequest' });

export const DeleteRotationPolicyQuery = z
  .object({ revision: z.coerce.number().int().min(1).optional() })
  .strict()
  .meta({ id: 'DeleteRotationPolicyQuery' });

const StoredPolicy = z.object({
  name: z.string(),
  policy: z.record(z.string(), z.unknown()),
  revision: z.number().int(),
  updatedAt: z.string(),
});

export const RotationPolicyResponse = z.object({ data: StoredPolicy }).meta({ id: 'RotationPolicyResponse' });

export const RotationPolicyListResponse = z
  .object({ data: z.object({ policies: z.array(StoredPolicy) }) })
  .meta({ id: 'RotationPolicyListResponse' });
