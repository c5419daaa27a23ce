/**
 * Contracts of the policy admin API. The shapes are checked here; the rules themselves (globs,
 * capabilities) are validated by the domain's PolicySchema, which answers 400 with its issues.
 */
import * as z from 'zod';

export const PolicyRule = z
  .object({
    path: z.string().min(1).max(600),
    capabilities: z.array(z.string().min(1).max(32)).min(1).max(16),
  })
  .strict()
  .meta({ id: 'PolicyRule' });

export const PutPolicyRequest = z
  .object({
    rules: z.array(PolicyRule).min(1).max(256),
    /** Optimistic concurrency: the revision the caller last read (0 = create only). */
    revision: z.number().int().min(0).optional(),
  })
  .strict()
  .meta({ id: 'PutPolicyRequest' });

export const PolicyResponse = z
  .object({
    data: z.object({
      name: z.string(),
      rules: z.array(PolicyRule),
      revision: z.number().int(),
      updated_at: z.string(),
    }),
  })
  .meta({ id: 'PolicyResponse' });

export const PolicyListResponse = z
  .object({ data: z.object({ policies: z.array(PolicyResponse.shape.data) }) })
  .meta({ id: 'PolicyListResponse' });

export const AttachmentsResponse = z
  .object({
    data: z.object({
      groups: z.record(z.string(), z.array(z.string())),
      clients: z.record(z.string(), z.array(z.string())),
    }),
  })
  .meta({ id: 'AttachmentsResponse' });

export const AttachPoliciesRequest = z
  .object({ policies: z.array(z.string().min(1).max(128)).max(64) })
  .strict()
  .meta({ id: 'AttachPoliciesRequest' });

export const DeletePolicyQuery = z
  .object({ revision: z.coerce.number().int().min(1).optional() })
  .strict()
  .meta({ id: 'DeletePolicyQuery' });
