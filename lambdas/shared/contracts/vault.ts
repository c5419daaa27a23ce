/**
 * Contracts of Vault's HTTP API for KV version 2 under `/v1/` (docs/vault-api.md): the bodies
 * and queries Vault's clients send, as Vault's server takes them (unknown keys are ignored, as
 * Vault ignores them; values are still validated), and Vault's response envelope. The values
 * themselves are the secret store's: JSON objects of string fields.
 */
import * as z from 'zod';
import { SecretData } from './secrets.js';

const VersionNumber = z.number().int().positive();
const MAX_VERSIONS_PER_REQUEST = 100;

/**
 * Vault's clients send version lists as numbers (`[1, 2]`), numeric strings (the Vault CLI's
 * `-versions=1,2` becomes `["1","2"]`) or one comma-separated string; Vault takes all three.
 */
export const VaultVersionList = z
  .union([
    z.array(z.union([VersionNumber, z.string().regex(/^[1-9]\d{0,15}$/)])),
    z.string().regex(/^[1-9]\d{0,15}(,[1-9]\d{0,15})*$/),
  ])
  .transform((given) => (typeof given === 'string' ? given.split(',') : given).map(Number))
  .pipe(z.array(VersionNumber).min(1).max(MAX_VERSIONS_PER_REQUEST))
  .meta({
    id: 'VaultVersionList',
    description: 'Version numbers: an array of numbers or numeric strings, or "1,2"',
  });

/**
 * Check-and-set: the version the write expects to replace (0: the secret must not exist). Vault
 * reads it leniently (a number or a numeric string), and Terraform's provider sends `options` as a
 * map of strings, so `"3"` is taken as 3.
 */
const CasVersion = z.union([
  z.number().int().min(0),
  z
    .string()
    .regex(/^\d{1,15}$/)
    .transform(Number),
]);
const CasOption = z.object({ cas: CasVersion.optional() });

export const VaultWriteRequest = z
  .object({ data: SecretData, options: CasOption.optional() })
  .meta({ id: 'VaultWriteRequest' });

/** JSON merge patch (RFC 7396) of the data: a string sets a field, null removes it. */
export const VaultPatchRequest = z
  .object({
    data: z.record(z.string().min(1).max(256), z.string().nullable()),
    options: CasOption.optional(),
  })
  .meta({ id: 'VaultPatchRequest' });

export const VaultVersionsRequest = z
  .object({ versions: VaultVersionList })
  .meta({ id: 'VaultVersionsRequest' });

/** Vault's durations: only "no automatic deletion" (`0s`, `0`) is supported. */
const NoDeleteVersionAfter = z.union([z.literal('0s'), z.literal('0'), z.literal(0)], {
  error: 'delete_version_after is not supported; only "0s" (never) is accepted',
});

export const VaultWriteMetadataRequest = z
  .object({
    // 0 is Vault's "the mount's default": the secret keeps its current setting.
    max_versions: z.number().int().min(0).max(100).optional(),
    cas_required: z.boolean().optional(),
    delete_version_after: NoDeleteVersionAfter.optional(),
    // Vault's Go client (`KVv2.PutMetadata`) sends null when it has none: the secret keeps its own.
    custom_metadata: z.record(z.string().min(1).max(128), z.string().max(512)).nullable().optional(),
  })
  .meta({ id: 'VaultWriteMetadataRequest' });

/**
 * `PATCH {mount}/metadata/{path}` (`vault kv metadata patch`, the Go client's `PatchMetadata`): a
 * JSON merge patch of the metadata. In `custom_metadata` a string sets a key and null removes it;
 * `custom_metadata: null` removes them all.
 */
export const VaultPatchMetadataRequest = VaultWriteMetadataRequest.extend({
  custom_metadata: z.record(z.string().min(1).max(128), z.string().max(512).nullable()).nullable().optional(),
}).meta({ id: 'VaultPatchMetadataRequest' });

export const VaultReadQuery = z
  .object({ version: z.coerce.number().int().min(0).optional() })
  .meta({ id: 'VaultReadQuery', description: 'version 0 (or none) reads the latest' });

/** Vault reads booleans in queries as Go's `strconv.ParseBool` does. */
const QueryTrue = z.enum(['true', '1', 't', 'T', 'TRUE', 'True']);

export const VaultMetadataQuery = z
  .object({ list: z.union([QueryTrue, z.enum(['false', '0', 'f', 'F', 'FALSE', 'False'])]).optional() })
  .meta({ id: 'VaultMetadataQuery', description: 'list=true lists the keys under the path' });

export const VaultSubkeysQuery = z
  .object({
    version: z.coerce.number().int().min(0).optional(),
    depth: z.coerce.number().int().min(0).optional(),
  })
  .meta({ id: 'VaultSubkeysQuery' });

/** Vault's response envelope around `data`. KV has no leases and VaultPilot no response wrapping. */
function envelope<T extends z.ZodType>(data: T, id: string) {
  return z
    .object({
      request_id: z.string(),
      lease_id: z.literal(''),
      renewable: z.literal(false),
      lease_duration: z.literal(0),
      data,
      wrap_info: z.null(),
      warnings: z.array(z.string()).nullable(),
      auth: z.null(),
      mount_type: z.string(),
    })
    .meta({ id });
}

export const VaultVersionMetadata = z
  .object({
    created_time: z.string(),
    custom_metadata: z.record(z.string(), z.string()).nullable(),
    deletion_time: z.string(),
    destroyed: z.boolean(),
    version: z.number().int().positive(),
  })
  .meta({ id: 'VaultVersionMetadata' });

export const VaultReadResponse = envelope(
  z.object({ data: SecretData, metadata: VaultVersionMetadata }),
  'VaultReadResponse',
);
/**
 * Vault's 404 for a version that was deleted or destroyed: no value, the version's metadata (its
 * deletion time or `destroyed`), as Vault's clients read it (`vault kv get` shows it, the Go
 * client's `KVv2.Get` returns it without an error, `vault kv rollback` names the reason).
 */
export const VaultRemovedVersionResponse = envelope(
  z.object({ data: z.null(), metadata: VaultVersionMetadata }),
  'VaultRemovedVersionResponse',
);
export const VaultWriteResponse = envelope(VaultVersionMetadata, 'VaultWriteResponse');
export const VaultSubkeysResponse = envelope(
  z.object({ subkeys: z.record(z.string(), z.null()), metadata: VaultVersionMetadata }),
  'VaultSubkeysResponse',
);
export const VaultListResponse = envelope(z.object({ keys: z.array(z.string()) }), 'VaultListResponse');
export const VaultMetadataResponse = envelope(
  z.object({
    cas_required: z.boolean(),
    created_time: z.string(),
    current_version: z.number().int(),
    custom_metadata: z.record(z.string(), z.string()).nullable(),
    delete_version_after: z.string(),
    max_versions: z.number().int(),
    oldest_version: z.number().int(),
    updated_time: z.string(),
    versions: z.record(
      z.string(),
      z.object({ created_time: z.string(), deletion_time: z.string(), destroyed: z.boolean() }),
    ),
  }),
  'VaultMetadataResponse',
);

/** One mount as `sys/mounts` and `sys/internal/ui/mounts` describe it. */
export const VaultMount = z
  .object({
    type: z.literal('kv'),
    description: z.string(),
    accessor: z.string(),
    uuid: z.string(),
    local: z.boolean(),
    seal_wrap: z.boolean(),
    external_entropy_access: z.boolean(),
    options: z.object({ version: z.literal('2') }),
    config: z.object({
      default_lease_ttl: z.number().int(),
      max_lease_ttl: z.number().int(),
      force_no_cache: z.boolean(),
    }),
  })
  .meta({ id: 'VaultMount' });

export const VaultMountInfoResponse = envelope(
  VaultMount.extend({ path: z.string() }),
  'VaultMountInfoResponse',
);

/** `sys/mounts`: the mounts in `data` and, as older Vault clients read them, at the top level. */
export const VaultMountsResponse = envelope(z.record(z.string(), VaultMount), 'VaultMountsResponse')
  .loose()
  .meta({ id: 'VaultMountsResponse', description: 'The envelope; each mount also at the top level' });

export const VaultTokenLookupResponse = envelope(
  z.object({
    accessor: z.string(),
    creation_time: z.number().int(),
    creation_ttl: z.number().int(),
    display_name: z.string(),
    entity_id: z.string(),
    expire_time: z.string().nullable(),
    explicit_max_ttl: z.number().int(),
    id: z.string(),
    issue_time: z.string(),
    meta: z.record(z.string(), z.string()),
    num_uses: z.number().int(),
    orphan: z.boolean(),
    path: z.string(),
    policies: z.array(z.string()),
    renewable: z.boolean(),
    ttl: z.number().int(),
    type: z.string(),
  }),
  'VaultTokenLookupResponse',
);

/** `sys/health`, not enveloped, as in Vault. */
export const VaultHealthResponse = z
  .object({
    initialized: z.boolean(),
    sealed: z.boolean(),
    standby: z.boolean(),
    performance_standby: z.boolean(),
    replication_performance_mode: z.string(),
    replication_dr_mode: z.string(),
    server_time_utc: z.number().int(),
    version: z.string(),
    cluster_name: z.string(),
    cluster_id: z.string(),
  })
  .meta({ id: 'VaultHealthResponse' });

/**
 * `sys/seal-status`, not enveloped, as in Vault. VaultPilot has no seal: it is always initialized
 * and unsealed, and has no unseal key shares (`t`, `n` and `progress` are 0). docs/vault-api.md
 * says what each field holds.
 */
export const VaultSealStatusResponse = z
  .object({
    type: z.string(),
    initialized: z.boolean(),
    sealed: z.boolean(),
    t: z.number().int(),
    n: z.number().int(),
    progress: z.number().int(),
    nonce: z.string(),
    version: z.string(),
    build_date: z.string(),
    migration: z.boolean(),
    cluster_name: z.string(),
    cluster_id: z.string(),
    recovery_seal: z.boolean(),
    storage_type: z.string(),
  })
  .meta({ id: 'VaultSealStatusResponse' });

/** `sys/init` (read), not enveloped: whether the server is initialized, which VaultPilot always is. */
export const VaultInitStatusResponse = z
  .object({ initialized: z.boolean() })
  .meta({ id: 'VaultInitStatusResponse' });

/** `sys/leader`, not enveloped: Vault's answer of a server without high availability. */
export const VaultLeaderResponse = z
  .object({
    ha_enabled: z.boolean(),
    is_self: z.boolean(),
    // Go's zero time, as Vault sends it when it has no active node: its clients parse the field as a time.
    active_time: z.string(),
    leader_address: z.string(),
    leader_cluster_address: z.string(),
    performance_standby: z.boolean(),
    performance_standby_last_remote_wal: z.number().int(),
  })
  .meta({ id: 'VaultLeaderResponse' });

/** Vault's durations: seconds, or a number with a unit (`90`, `"90s"`, `"1h30m"`). */
const VaultDuration = z.union([
  z.number().int().min(0),
  z.string().regex(/^(\d{1,10}(\.\d{1,9})?(ns|us|µs|ms|s|m|h|d)?){1,6}$/, 'expected a duration such as "1h"'),
]);

/** `auth/token/renew-self`: what Vault's clients send (Vault Agent, the Go client, Spring Vault: nothing). */
export const VaultRenewSelfRequest = z
  .object({ increment: VaultDuration.optional() })
  .meta({ id: 'VaultRenewSelfRequest' });

/** The KV version 2 engine's configuration (`{mount}/config`): VaultPilot's fixed defaults. */
export const VaultKvConfig = z
  .object({
    cas_required: z.boolean(),
    delete_version_after: z.string(),
    max_versions: z.number().int(),
  })
  .meta({ id: 'VaultKvConfig' });

export const VaultKvConfigResponse = envelope(VaultKvConfig, 'VaultKvConfigResponse');

/** What Vault's clients send to `{mount}/config` (hvac's `configure`, Terraform): refused after validation. */
export const VaultKvConfigRequest = z
  .object({
    max_versions: z.number().int().min(0).optional(),
    cas_required: z.boolean().optional(),
    delete_version_after: VaultDuration.optional(),
  })
  .meta({ id: 'VaultKvConfigRequest' });

/** The body of a route that always refuses (`refusedWith`): none is ever sent. */
export const VaultRefused = z
  .never()
  .meta({ id: 'VaultRefused', description: 'Never sent: the route refuses' });

export const VaultNoContent = z.null().meta({ id: 'VaultNoContent', description: 'No body (204)' });

/** Vault's error body: messages only; an empty list on a 404 (nothing at that path). */
export const VaultErrorBody = z
  .object({ errors: z.array(z.string()) })
  .meta({ id: 'VaultErrorBody', description: 'Vault’s error shape: {"errors":[...]}' });
