/** Contracts of the admin maintenance API. */
import * as z from 'zod';

export const RewrapRequest = z
  .object({
    /** The `cursor` of the previous step's answer; absent to start from the beginning. */
    cursor: z.string().min(1).max(2048).optional(),
    /** Versions handled in this step (1..1000, default 100). */
    limit: z.number().int().min(1).max(1000).optional(),
  })
  .strict()
  .meta({ id: 'RewrapRequest' });

export const RewrapResponse = z
  .object({
    data: z.object({
      scanned: z.number().int().min(0),
      rewrapped: z.number().int().min(0),
      already_current: z.number().int().min(0),
      skipped: z.number().int().min(0),
      key_id: z.string(),
      /** Pass back to continue; null once every version of the tenant has been looked at. */
      cursor: z.string().nullable(),
      done: z.boolean(),
    }),
  })
  .meta({ id: 'RewrapResponse' });
