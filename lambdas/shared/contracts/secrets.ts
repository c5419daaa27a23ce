/**
 * Contracts of the secret store API, shaped like Vault's KV v2 API (snake_case bodies, `data`
 * envelopes) so its users feel at home. Used by the handler, the OpenAPI document and the
 * dashboard.
 */
import * as z from 'zod';

/** A secret value: a JSON object of string fields (at most 64 KiB serialised, checked by the service). */
export const SecretData = z
  .record(z.string().min(1).max(256), z.string())
  .meta({ id: 'SecretData', description: 'A JSON object of string fields, at most 64 KiB' });

export const WriteSecretRequest = z
  .object({
    data: SecretData,
    options: z
      .object({ cas: z.number().int().min(0).optional() })
      .strict()
      .optional(),
  })
  .strict()
  .meta({ id: 'WriteSecretRequest' });

export const VersionMetadata = z
  .object({
    version: z.number().int().positive(),
    created_time: z.string(),
    created_by: z.string(),
    deletion_time: z.string(),
    destroyed: z.boolean(),
    custom_metadata: z.record(z.string(), z.string()).nullable(),
  })
  .meta({ id: 'VersionMetadata' });

export const WriteSecretResponse = z.object({ data: VersionMetadata }).meta({ id: 'WriteSecretResponse' });

export const ReadSecretResponse = z
  .object({ data: z.object({ data: SecretData, metadata: VersionMetadata }) })
  .meta({ id: 'ReadSecretResponse' });

export const ReadSecretQuery = z
  .object({ version: z.coerce.number().int().positive().optional() })
  .strict()
  .meta({ id: 'ReadSecretQuery' });

export const VersionsRequest = z
  .object({ versions: z.array(z.number().int().positive()).min(1).max(100) })
  .strict()
  .meta({ id: 'VersionsRequest' });

export const SoftDeleteRequest = z
  .object({ versions: z.array(z.number().int().positive()).max(100).optional() })
  .strict()
  .meta({ id: 'SoftDeleteRequest', description: 'Without versions, the latest version is deleted' });

export const SecretMetadataResponse = z
  .object({
    data: z.object({
      cas_required: z.boolean(),
      created_time: z.string(),
      updated_time: z.string(),
      current_version: z.number().int(),
      oldest_version: z.number().int(),
      max_versions: z.number().int(),
      custom_metadata: z.record(z.string(), z.string()).nullable(),
      versions: z.record(
        z.string(),
        z.object({
          created_time: z.string(),
          created_by: z.string(),
          deletion_time: z.string(),
          destroyed: z.boolean(),
        }),
      ),
    }),
  })
  .meta({ id: 'SecretMetadataResponse' });

export const WriteMetadataRequest = z
  .object({
    max_versions: z.number().int().min(1).max(100).optional(),
    cas_required: z.boolean().optional(),
    custom_metadata: z.record(z.string().min(1).max(128), z.string().max(512)).optional(),
  })
  .strict()
  .meta({ id: 'WriteMetadataRequest' });

export const ListSecretsQuery = z
  .object({
    list: z.literal('true'),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
    cursor: z.string().min(1).max(2048).optional(),
  })
  .strict()
  .meta({ id: 'ListSecretsQuery' });

export const ListSecretsResponse = z
  .object({ data: z.object({ keys: z.array(z.string()), next_cursor: z.string().optional() }) })
  .meta({ id: 'ListSecretsResponse' });

export const NoContent = z.null().meta({ id: 'NoContent', description: 'No body (204)' });
