/**
 * Vault's KV version 2 API (`/v1/`, docs/vault-api.md) mapped onto the very `SecretAccess` use
 * cases `/secrets` calls, so policies, audit and storage are one implementation; this module only
 * translates Vault's requests in and Vault's envelope out. `PATCH` is Vault's JSON merge patch:
 * a read and a check-and-set write of the merged value, each one audited use case.
 */
import { createHash } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import {
  ConflictError,
  ForbiddenError,
  MethodNotAllowedError,
  NotFoundError,
  ValidationError,
} from '../../core/errors.js';
import type { SecretMetadata, SecretVersionMetadata } from '../../core/secrets/kv-service.js';
import { mergeSecretData } from '../../core/secrets/merge-patch.js';
import { SECRET_LIMITS } from '../../core/secrets/kv-service.js';
import { DEFAULT_MAX_VERSIONS } from '../../core/secrets/secret-store.js';
import type { Caller } from '../../core/audit/caller.js';
import type { Principal } from '../../core/principal.js';
import { type ApiRequest, callerOf, type Operations } from '../../shared/api-handler.js';
import { VERSION } from '../../shared/version.js';
import { vaultAccessToken } from '../../shared/vault-dialect.js';
import { allowedMethods, compileRoutePath } from '../../shared/routes.js';
import { secrets } from './compose.js';
import { VAULT_ROUTES } from './routes.js';

/** Reads of one listing, each a page of the use case's largest size, before the rest is cut. */
const MAX_LIST_PAGES = 10;
/** Tries of a patch whose check-and-set lost to a concurrent writer (when the caller gave no `cas`). */
const PATCH_ATTEMPTS = 3;

interface VaultEnvelope<T> {
  readonly request_id: string;
  readonly lease_id: '';
  readonly renewable: false;
  readonly lease_duration: 0;
  readonly data: T;
  readonly wrap_info: null;
  readonly warnings: string[] | null;
  readonly auth: null;
  readonly mount_type: string;
}

/** Vault's envelope: KV values have no lease, and nothing is response-wrapped. */
function envelope<T>(
  request: { readonly requestId: string },
  data: T,
  warnings?: string[],
): VaultEnvelope<T> {
  return {
    request_id: request.requestId,
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data,
    wrap_info: null,
    warnings: warnings === undefined || warnings.length === 0 ? null : warnings,
    auth: null,
    mount_type: 'kv',
  };
}

const NO_CONTENT = { statusCode: 204, body: null } as const;

function customMetadata(metadata: Readonly<Record<string, string>>): Record<string, string> | null {
  return Object.keys(metadata).length === 0 ? null : { ...metadata };
}

function versionMetadata(metadata: SecretVersionMetadata) {
  return {
    created_time: metadata.createdTime,
    custom_metadata: customMetadata(metadata.customMetadata),
    deletion_time: metadata.deletionTime ?? '',
    destroyed: metadata.destroyed,
    version: metadata.version,
  };
}

function secretMetadata(metadata: SecretMetadata) {
  return {
    cas_required: metadata.casRequired,
    created_time: metadata.createdTime,
    current_version: metadata.currentVersion,
    custom_metadata: customMetadata(metadata.customMetadata),
    // VaultPilot never deletes versions on a timer.
    delete_version_after: '0s',
    max_versions: metadata.maxVersions,
    oldest_version: metadata.oldestVersion,
    updated_time: metadata.updatedTime,
    versions: Object.fromEntries(
      Object.entries(metadata.versions).map(([version, state]) => [
        version,
        {
          created_time: state.createdTime,
          deletion_time: state.deletionTime ?? '',
          destroyed: state.destroyed,
        },
      ]),
    ),
  };
}

/**
 * The mount a request names: the `{mount}` variable where the route has one (the local router),
 * else the literal segment of the resource (API Gateway, where the mount is a resource named at
 * deploy time and the event has no `mount` parameter).
 */
function mountOf(event: APIGatewayProxyEvent): string | undefined {
  return event.pathParameters?.mount ?? event.resource.split('/')[2];
}

/**
 * The mount this deployment serves; any other answers Vault's 404 for a path with no handler. In
 * AWS the literal resource and the function's variable come from the same `vaultMount`, so this
 * only refuses there if the two were deployed apart.
 */
function checkMount(request: { readonly event: APIGatewayProxyEvent }): void {
  if (mountOf(request.event) !== secrets().config.vaultMount) {
    throw new NotFoundError('No mount at this path');
  }
}

/**
 * Vault's answer to a `/v1` path or method no route serves (the `vaultUnknownPath` catch-all, in
 * both runtimes): 405 naming the allowed methods when a served path lacks the method (API Gateway
 * falls through to the catch-all then, and the local router sends it there too), else 404
 * `{"errors":[]}`. It answers from the route table alone, with the configured mount in place of
 * `{mount}`, so another mount is a path nothing serves: no token is read and no data reached, and
 * a path that names another tenant's secret answers exactly as one that names nothing.
 */
function unknownPath(event: APIGatewayProxyEvent): never {
  const path = `/v1/${event.pathParameters?.proxy ?? ''}`;
  const mount = secrets().config.vaultMount;
  const served = VAULT_ROUTES.filter(
    (route) => route.method !== 'ANY' && compileRoutePath(route.path.replace('{mount}', mount)).test(path),
  );
  const allowed = allowedMethods(served);
  // A method a served path takes never gets here, unless a client sends one API Gateway routes
  // to no method of that resource; nothing is served at the path for it either way.
  if (served.length > 0 && !allowed.includes(event.httpMethod)) {
    throw new MethodNotAllowedError(`Method ${event.httpMethod} is not allowed on ${path}`, allowed);
  }
  throw new NotFoundError(`No route for ${path}`);
}

function pathOf(request: { readonly event: APIGatewayProxyEvent }): string {
  checkMount(request);
  const path = request.event.pathParameters?.path;
  if (path === undefined || path.length === 0) throw new ValidationError('A secret path is required');
  return path;
}

/** Vault's `version=0` (or none) is the latest. */
function wantedVersion(version: number | undefined): number | undefined {
  return version === undefined || version === 0 ? undefined : version;
}

function isListing(query: { readonly list?: string | undefined } | undefined): boolean {
  return query?.list !== undefined && ['true', '1', 't', 'T', 'TRUE', 'True'].includes(query.list);
}

type VaultRequest = Parameters<typeof callerOf>[0] & { readonly requestId: string };

/**
 * Every key under a prefix, as Vault lists (it does not paginate KV listings): pages of the use
 * case's largest size, each an audited list, up to a bound past which Vault's `warnings` say the
 * listing was cut. Nothing under the prefix is Vault's 404.
 */
async function listAll(request: VaultRequest, prefix: string) {
  const keys: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await secrets().access.list(callerOf(request), prefix, {
      limit: SECRET_LIMITS.maxListLimit,
      cursor,
    });
    keys.push(...page.keys);
    cursor = page.cursor;
    pages += 1;
  } while (cursor !== undefined && pages < MAX_LIST_PAGES);
  if (keys.length === 0) throw new NotFoundError('Nothing is stored under this path');
  const warnings =
    cursor === undefined
      ? undefined
      : [
          `Only the first ${keys.length} keys are listed; list a narrower path or use /secrets/metadata with cursor`,
        ];
  return { body: envelope(request, { keys }, warnings) };
}

/** A stable id derived from a name, for the ids Vault gives mounts and clusters. */
function stableId(name: string): string {
  const hex = createHash('sha256').update(name).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The "cluster" the unauthenticated `sys/` endpoints name: the deployment's stage, as the name and
 * a stable id derived from it. Nothing of any tenant.
 */
function clusterIdentity(): { cluster_name: string; cluster_id: string } {
  const stage = secrets().config.stage;
  return { cluster_name: `vaultpilot-${stage}`, cluster_id: stableId(`cluster:${stage}`) };
}

/**
 * VaultPilot's KV engine configuration, as `{mount}/config` reports it: what a new secret gets.
 * Each secret's own `max_versions` and `cas_required` are set on its metadata; nothing is deleted
 * on a timer.
 */
const KV_CONFIG = {
  cas_required: false,
  delete_version_after: '0s',
  max_versions: DEFAULT_MAX_VERSIONS,
} as const;

/** Vault's answer to a renewal of a token that is not renewable (its expiration manager's words). */
const NOT_RENEWABLE = 'lease is not renewable';

function mountDescription() {
  const mount = secrets().config.vaultMount;
  return {
    type: 'kv' as const,
    description: 'VaultPilot secret store (KV version 2)',
    accessor: `kv_${stableId(`mount:${mount}`).slice(0, 8)}`,
    uuid: stableId(`mount:${mount}`),
    local: false,
    seal_wrap: false,
    external_entropy_access: false,
    options: { version: '2' as const },
    config: { default_lease_ttl: 0, max_lease_ttl: 0, force_no_cache: false },
  };
}

/** The verified token's issue and expiry times (the middleware verified it before this runs). */
function tokenTimes(event: APIGatewayProxyEvent): { issuedAt: number; expiresAt: number } {
  const payload = vaultAccessToken(event.headers).split('.')[1] ?? '';
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
    iat?: unknown;
    exp?: unknown;
  };
  const expiresAt = typeof claims.exp === 'number' ? claims.exp : 0;
  const issuedAt = typeof claims.iat === 'number' ? claims.iat : expiresAt;
  return { issuedAt, expiresAt };
}

function displayName(principal: Principal): string {
  return principal.kind === 'user' ? principal.username : principal.clientId;
}

/**
 * The metadata of a version that a read found missing because it was deleted or destroyed (the
 * latest when none is named), for Vault's 404 that carries it; undefined when the version never
 * existed or the caller may not read the secret's metadata. The metadata read is its own audited
 * use case (`secret.metadata.read`), after the value read was audited as not found.
 */
async function removedVersion(
  caller: Caller,
  path: string,
  version: number | undefined,
): Promise<ReturnType<typeof versionMetadata> | undefined> {
  let metadata: SecretMetadata;
  try {
    metadata = await secrets().access.readMetadata(caller, path);
  } catch (error: unknown) {
    if (error instanceof NotFoundError || error instanceof ForbiddenError) return undefined;
    throw error;
  }
  const wanted = version ?? metadata.currentVersion;
  const state = metadata.versions[String(wanted)];
  if (state === undefined || (state.deletionTime === undefined && !state.destroyed)) return undefined;
  return versionMetadata({ ...state, version: wanted, customMetadata: metadata.customMetadata });
}

type Routes = typeof VAULT_ROUTES;
type PatchRequest = ApiRequest<Extract<Routes[number], { readonly operationId: 'patchVaultSecret' }>>;

async function patchSecret(request: PatchRequest): Promise<SecretVersionMetadata> {
  const { access } = secrets();
  const caller = callerOf(request);
  const path = pathOf(request);
  const cas = request.body.options?.cas;
  if (cas === undefined) {
    // The check-and-set below is VaultPilot's own; a secret that requires one from its writers
    // still gets it from the caller, as Vault asks.
    const metadata = await access.readMetadata(caller, path);
    if (metadata.casRequired) throw new ValidationError('check-and-set parameter required for this secret');
  }
  for (let attempt = 1; ; attempt += 1) {
    const current = await access.read(caller, path);
    const merged = mergeSecretData(current.data, request.body.data);
    try {
      return await access.write(caller, path, merged, { cas: cas ?? current.metadata.version });
    } catch (error: unknown) {
      // Another writer came between the read and the write: merge into its version instead.
      const lostRace =
        cas === undefined &&
        error instanceof ConflictError &&
        (error.details as { reason?: unknown } | undefined)?.reason === 'cas-mismatch';
      if (!lostRace || attempt >= PATCH_ATTEMPTS) throw error;
    }
  }
}

export const vaultOperations: Operations<Routes> = {
  vaultUnknownPath: async (request) => unknownPath(request.event),
  vaultHealth: async () => ({
    body: {
      initialized: true,
      sealed: false,
      standby: false,
      performance_standby: false,
      replication_performance_mode: 'disabled',
      replication_dr_mode: 'disabled',
      server_time_utc: Math.floor(Date.now() / 1000),
      version: VERSION,
      ...clusterIdentity(),
    },
  }),
  vaultSealStatus: async () => ({
    body: {
      // Vault's default seal type; VaultPilot has no seal, so nothing is ever to be unsealed and
      // there are no key shares (t, n and progress 0). The backing services are not named here.
      type: 'shamir',
      initialized: true,
      sealed: false,
      t: 0,
      n: 0,
      progress: 0,
      nonce: '',
      version: VERSION,
      build_date: '',
      migration: false,
      ...clusterIdentity(),
      recovery_seal: false,
      storage_type: 'vaultpilot',
    },
  }),
  // There is nothing to initialize: the store exists from the first deployment (or `npm start`).
  vaultInitStatus: async () => ({ body: { initialized: true } }),
  vaultLeader: async () => ({
    body: {
      ha_enabled: false,
      is_self: false,
      active_time: '0001-01-01T00:00:00Z',
      leader_address: '',
      leader_cluster_address: '',
      performance_standby: false,
      performance_standby_last_remote_wal: 0,
    },
  }),
  renewVaultToken: async () => {
    // A VaultPilot token is a JWT with a fixed expiry (lookup-self says renewable false): a client
    // gets a new one by signing in again or through the client-credentials flow.
    throw new ValidationError(NOT_RENEWABLE);
  },
  readVaultKvConfig: async (request) => {
    checkMount(request);
    return { body: envelope(request, { ...KV_CONFIG }) };
  },
  writeVaultKvConfig: async (request) => {
    checkMount(request);
    throw new MethodNotAllowedError(
      `unsupported operation: the KV configuration is fixed (max_versions ${KV_CONFIG.max_versions}, cas_required ${KV_CONFIG.cas_required}, delete_version_after ${KV_CONFIG.delete_version_after}); set max_versions and cas_required per secret with ${secrets().config.vaultMount}/metadata/{path}`,
      ['GET'],
    );
  },
  listVaultMounts: async (request) => {
    const mounts = { [`${secrets().config.vaultMount}/`]: mountDescription() };
    // Older Vault clients read the mounts at the top level, newer ones in `data`.
    return { body: { ...mounts, ...envelope(request, mounts) } };
  },
  readVaultMountInfo: async (request) => {
    const mount = secrets().config.vaultMount;
    const path = request.event.pathParameters?.path ?? '';
    if (path !== mount && !path.startsWith(`${mount}/`)) {
      throw new ForbiddenError('This path is not in a mount this token may use');
    }
    return { body: envelope(request, { ...mountDescription(), path: `${mount}/` }) };
  },
  lookupVaultToken: async (request) => {
    const { principal } = request;
    const { issuedAt, expiresAt } = tokenTimes(request.event);
    const now = Math.floor(Date.now() / 1000);
    return {
      body: envelope(request, {
        accessor: '',
        creation_time: issuedAt,
        creation_ttl: Math.max(0, expiresAt - issuedAt),
        display_name: displayName(principal),
        entity_id: principal.subject,
        expire_time: expiresAt > 0 ? new Date(expiresAt * 1000).toISOString() : null,
        explicit_max_ttl: 0,
        // Vault answers a token's own lookup with the token; the caller sent it.
        id: vaultAccessToken(request.event.headers),
        issue_time: new Date(issuedAt * 1000).toISOString(),
        meta: { tenant: principal.tenant, kind: principal.kind },
        num_uses: 0,
        orphan: true,
        path: 'auth/vaultpilot/login',
        policies: ['default', ...principal.roles, ...principal.scopes],
        renewable: false,
        ttl: Math.max(0, expiresAt - now),
        type: 'service',
      }),
    };
  },
  readVaultSecret: async (request) => {
    const caller = callerOf(request);
    const path = pathOf(request);
    const version = wantedVersion(request.query.version);
    try {
      const result = await secrets().access.read(caller, path, version);
      return {
        body: envelope(request, { data: { ...result.data }, metadata: versionMetadata(result.metadata) }),
      };
    } catch (error: unknown) {
      if (!(error instanceof NotFoundError)) throw error;
      const removed = await removedVersion(caller, path, version);
      if (removed === undefined) throw error;
      return { statusCode: 404, body: envelope(request, { data: null, metadata: removed }) };
    }
  },
  writeVaultSecret: async (request) => {
    const { data, options } = request.body;
    const written = await secrets().access.write(callerOf(request), pathOf(request), data, {
      cas: options?.cas,
    });
    return { body: envelope(request, versionMetadata(written)) };
  },
  patchVaultSecret: async (request) => ({
    body: envelope(request, versionMetadata(await patchSecret(request))),
  }),
  deleteLatestVaultSecretVersion: async (request) => {
    await secrets().access.softDelete(callerOf(request), pathOf(request));
    return NO_CONTENT;
  },
  deleteVaultSecretVersions: async (request) => {
    await secrets().access.softDelete(callerOf(request), pathOf(request), request.body.versions);
    return NO_CONTENT;
  },
  undeleteVaultSecretVersions: async (request) => {
    await secrets().access.undelete(callerOf(request), pathOf(request), request.body.versions);
    return NO_CONTENT;
  },
  destroyVaultSecretVersions: async (request) => {
    await secrets().access.destroy(callerOf(request), pathOf(request), request.body.versions);
    return NO_CONTENT;
  },
  listVaultSecretsAtRoot: async (request) => {
    checkMount(request);
    if (!isListing(request.query)) throw new ValidationError('Use LIST or ?list=true to list the mount');
    return listAll(request, '');
  },
  readVaultSecretMetadata: async (request) => {
    const path = pathOf(request);
    if (isListing(request.query)) return listAll(request, path);
    const metadata = await secrets().access.readMetadata(callerOf(request), path);
    return { body: envelope(request, secretMetadata(metadata)) };
  },
  writeVaultSecretMetadata: async (request) => {
    const body = request.body;
    await secrets().access.writeMetadata(callerOf(request), pathOf(request), {
      // Vault's 0 is "the mount's default": the secret keeps what it has.
      maxVersions: body.max_versions === 0 ? undefined : body.max_versions,
      casRequired: body.cas_required,
      customMetadata: body.custom_metadata ?? undefined,
    });
    return NO_CONTENT;
  },
  patchVaultSecretMetadata: async (request) => {
    const { access } = secrets();
    const caller = callerOf(request);
    const path = pathOf(request);
    const { max_versions: maxVersions, cas_required: casRequired, custom_metadata: patch } = request.body;
    // Vault patches only metadata that exists (404 otherwise). Custom metadata is a flat map of
    // strings like a value, so the value's RFC 7396 merge applies; the merged map is written
    // whole, and a concurrent change of custom metadata between the read and the write is lost
    // (metadata has no check-and-set; docs/vault-api.md).
    const current = await access.readMetadata(caller, path);
    await access.writeMetadata(caller, path, {
      maxVersions: maxVersions === 0 ? undefined : maxVersions,
      casRequired,
      customMetadata:
        patch === undefined
          ? undefined
          : patch === null
            ? {}
            : mergeSecretData(current.customMetadata, patch),
    });
    return NO_CONTENT;
  },
  deleteVaultSecretMetadata: async (request) => {
    await secrets().access.deleteAll(callerOf(request), pathOf(request));
    return NO_CONTENT;
  },
  readVaultSecretSubkeys: async (request) => {
    // Reads (and audits) the version as a read: the names come from the decrypted value.
    const result = await secrets().access.read(
      callerOf(request),
      pathOf(request),
      wantedVersion(request.query.version),
    );
    const subkeys = Object.fromEntries(Object.keys(result.data).map((field) => [field, null]));
    return { body: envelope(request, { subkeys, metadata: versionMetadata(result.metadata) }) };
  },
};
