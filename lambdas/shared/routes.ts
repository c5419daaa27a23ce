/**
 * The route table: the one list of API routes. CDK builds the API Gateway REST API from it
 * (`lib/api-stack.ts`), the local runtime routes requests with it (`lambdas/local/server.ts`),
 * and the OpenAPI document is generated from it (`lambdas/shared/openapi.ts`).
 */
import type { z } from 'zod';
import { RewrapRequest, RewrapResponse } from './contracts/admin.js';
import {
  AuditDigestResponse,
  AuditDigestsResponse,
  AuditEventsResponse,
  AuditExportQuery,
  AuditExportText,
  AuditHashRequest,
  AuditHashResponse,
  AuditPublicKeyText,
  AuditQuery,
  AuditSettingsBody,
  AuditTenantQuery,
  AuditVerifyResponse,
} from './contracts/audit.js';
import { OpenApiDocument } from './contracts/common.js';
import {
  CredentialListResponse,
  CredentialResponse,
  ListCredentialsQuery,
  RegisterCredentialRequest,
  UnregisterCredentialQuery,
  UpdateCredentialRequest,
} from './contracts/credentials.js';
import {
  DiscoveryRunListResponse,
  DiscoveryRunResponse,
  DiscoverySettingsResponse,
  FindingRulesResponse,
  ListDiscoveryRunsQuery,
  PutDiscoverySettingsRequest,
} from './contracts/discovery.js';
import { HealthResponse, MeResponse } from './contracts/identity.js';
import {
  DeleteRotationPolicyQuery,
  ListRotationsQuery,
  PutRotationPolicyRequest,
  RotationAccepted,
  RotationListResponse,
  RotationPolicyListResponse,
  RotationPolicyResponse,
  RotationResponse,
} from './contracts/rotations.js';
import {
  AttachmentsResponse,
  AttachPoliciesRequest,
  DeletePolicyQuery,
  PolicyListResponse,
  PolicyResponse,
  PutPolicyRequest,
} from './contracts/policies.js';
import {
  ListSecretsResponse,
  NoContent,
  ReadSecretQuery,
  ReadSecretResponse,
  SecretMetadataResponse,
  SoftDeleteRequest,
  VersionsRequest,
  WriteMetadataRequest,
  WriteSecretRequest,
  WriteSecretResponse,
} from './contracts/secrets.js';
import { ALL_SCOPES, SCOPES } from './scopes.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** An API handler: one Lambda function; the file is `lambdas/handlers/<id>.ts`, export `handler`. */
export const API_HANDLER_IDS = [
  'health',
  'me',
  'openapi',
  'secrets',
  'policies',
  'admin',
  'audit',
  'credentials',
  'discoveryApi',
  'rotations',
] as const;
export type ApiHandlerId = (typeof API_HANDLER_IDS)[number];

export interface RouteSpec {
  readonly method: HttpMethod;
  /** API Gateway resource path, e.g. `/secrets/data/{path+}`. */
  readonly path: string;
  /** Also API Gateway's `operationName`, which reaches the handler as `requestContext.operationName`. */
  readonly operationId: string;
  readonly handler: ApiHandlerId;
  /** `none`: public. `token`: a valid VaultPilot token (user or machine client). */
  readonly auth: 'none' | 'token';
  /** Scopes of which a machine client's token must carry at least one. */
  readonly scopes: readonly string[];
  readonly summary: string;
  readonly tag: string;
  readonly request?: { readonly body?: z.ZodType; readonly query?: z.ZodType };
  readonly response: z.ZodType;
  /** Success status: 200 with `response` as the body, or 204 with no body. */
  readonly status?: 200 | 201 | 202 | 204;
  /** Extra error statuses the route documents (401/403/500 are implied by `auth`). */
  readonly errors?: readonly number[];
  /** Media types of a success body that is not JSON (an export, a key); `response` describes it. */
  readonly mediaTypes?: readonly string[];
}

export const ROUTES: readonly RouteSpec[] = [
  {
    method: 'GET',
    path: '/health',
    operationId: 'getHealth',
    handler: 'health',
    auth: 'none',
    scopes: [],
    summary: 'Liveness of the API (no authentication)',
    tag: 'system',
    response: HealthResponse,
  },
  {
    method: 'GET',
    path: '/openapi.json',
    operationId: 'getOpenApiDocument',
    handler: 'openapi',
    auth: 'none',
    scopes: [],
    summary: 'This OpenAPI 3.1 document',
    tag: 'system',
    response: OpenApiDocument,
  },
  {
    method: 'GET',
    path: '/me',
    operationId: 'getMe',
    handler: 'me',
    auth: 'token',
    scopes: ALL_SCOPES,
    summary: 'Who am I: subject, kind, tenant, roles and scopes of the caller',
    tag: 'identity',
    response: MeResponse,
  },
  ...secretRoutes(),
  ...policyRoutes(),
  ...adminRoutes(),
  ...auditRoutes(),
  ...credentialRoutes(),
  ...rotationRoutes(),
  ...discoveryRoutes(),
];

/**
 * The audit log (ADR 0004): auditors and admins query, verify and export their tenant's chain;
 * the public key is for everyone who verifies exports offline; settings are the admins'.
 */
function auditRoutes(): RouteSpec[] {
  const read = [SCOPES.audit, SCOPES.admin];
  const common = { handler: 'audit', auth: 'token', tag: 'audit' } as const;
  return [
    {
      ...common,
      method: 'GET',
      path: '/audit',
      operationId: 'listAuditEvents',
      scopes: read,
      summary: 'Audit events, newest first, filtered by actor, action, target, outcome and time (paginated)',
      request: { query: AuditQuery },
      response: AuditEventsResponse,
      errors: [404],
    },
    {
      ...common,
      method: 'GET',
      path: '/audit/verify',
      operationId: 'verifyAuditChain',
      scopes: read,
      summary: "Verify the tenant's hash chain against its signed digests: the first bad seq and why",
      request: { query: AuditTenantQuery },
      response: AuditVerifyResponse,
      errors: [404, 503],
    },
    {
      ...common,
      method: 'GET',
      path: '/audit/export',
      operationId: 'exportAuditLog',
      scopes: read,
      summary: 'Export the chain as NDJSON (what `vaultpilot audit verify` reads) or CSV',
      request: { query: AuditExportQuery },
      response: AuditExportText,
      mediaTypes: ['application/x-ndjson', 'text/csv'],
      errors: [404, 413],
    },
    {
      ...common,
      method: 'GET',
      path: '/audit/public-key',
      operationId: 'getAuditPublicKey',
      scopes: ALL_SCOPES,
      summary: 'The public key digests are signed with (PEM), to verify exports offline',
      response: AuditPublicKeyText,
      mediaTypes: ['application/x-pem-file'],
    },
    {
      ...common,
      method: 'POST',
      path: '/audit/hash',
      operationId: 'hashAuditIdentifier',
      scopes: read,
      summary: "The tenant's HMAC of a value, to compare with the hashed identifiers in events",
      request: { body: AuditHashRequest },
      response: AuditHashResponse,
    },
    {
      ...common,
      method: 'GET',
      path: '/audit/digests',
      operationId: 'listAuditDigests',
      scopes: read,
      summary: "The tenant's signed digests, oldest first",
      request: { query: AuditTenantQuery },
      response: AuditDigestsResponse,
      errors: [404],
    },
    {
      ...common,
      method: 'POST',
      path: '/audit/digests',
      operationId: 'signAuditDigest',
      scopes: read,
      summary:
        'Sign a digest of the chain head now (null when nothing is new; 409 if the chain is not intact)',
      response: AuditDigestResponse,
      errors: [409, 503],
    },
    {
      ...common,
      method: 'GET',
      path: '/audit/settings',
      operationId: 'readAuditSettings',
      scopes: read,
      summary: "The tenant's audit retention",
      request: { query: AuditTenantQuery },
      response: AuditSettingsBody,
    },
    {
      ...common,
      method: 'PUT',
      path: '/audit/settings',
      operationId: 'writeAuditSettings',
      scopes: [SCOPES.admin],
      summary: 'Set the retention of events recorded from now on (days, 1-3650; admins)',
      request: { body: AuditSettingsBody, query: AuditTenantQuery },
      response: AuditSettingsBody,
    },
  ];
}

/** Maintenance operations of a tenant's admins. */
function adminRoutes(): RouteSpec[] {
  return [
    {
      method: 'POST',
      path: '/admin/rewrap',
      operationId: 'rewrapDataKeys',
      handler: 'admin',
      auth: 'token',
      scopes: [SCOPES.admin],
      summary:
        "Re-wrap the tenant's secret data keys under the current key, one bounded step at a time (pass back `cursor` until `done`)",
      tag: 'admin',
      request: { body: RewrapRequest },
      response: RewrapResponse,
      errors: [409, 503],
    },
  ];
}

/** The policy admin API: admins manage path policies and attach them to groups and clients. */
function policyRoutes(): RouteSpec[] {
  const read = [SCOPES.admin, SCOPES.audit];
  const manage = [SCOPES.admin];
  const common = { handler: 'policies', auth: 'token', tag: 'policies' } as const;
  return [
    {
      ...common,
      method: 'GET',
      path: '/policies',
      operationId: 'listPolicies',
      scopes: read,
      summary: "List the tenant's path policies (admins and auditors)",
      response: PolicyListResponse,
    },
    {
      ...common,
      method: 'GET',
      path: '/policies/attachments',
      operationId: 'listPolicyAttachments',
      scopes: read,
      summary: 'Which policies are attached to which groups and machine clients',
      response: AttachmentsResponse,
    },
    {
      ...common,
      method: 'PUT',
      path: '/policies/attachments/groups/{group}',
      operationId: 'attachPoliciesToGroup',
      scopes: manage,
      summary: 'Set the policies of a group (admin, operator, auditor or viewer)',
      request: { body: AttachPoliciesRequest },
      response: AttachmentsResponse,
      status: 204,
    },
    {
      ...common,
      method: 'PUT',
      path: '/policies/attachments/clients/{clientId}',
      operationId: 'attachPoliciesToClient',
      scopes: manage,
      summary: 'Set the policies of a machine client',
      request: { body: AttachPoliciesRequest },
      response: AttachmentsResponse,
      status: 204,
    },
    {
      ...common,
      method: 'GET',
      path: '/policies/{name}',
      operationId: 'readPolicy',
      scopes: read,
      summary: 'Read one policy with its revision',
      response: PolicyResponse,
      errors: [404],
    },
    {
      ...common,
      method: 'PUT',
      path: '/policies/{name}',
      operationId: 'putPolicy',
      scopes: manage,
      summary: 'Create or replace a policy (optional `revision` for check-and-set)',
      request: { body: PutPolicyRequest },
      response: PolicyResponse,
      errors: [409],
    },
    {
      ...common,
      method: 'DELETE',
      path: '/policies/{name}',
      operationId: 'deletePolicy',
      scopes: manage,
      summary: 'Delete a policy (optional `?revision=N` for check-and-set)',
      request: { query: DeletePolicyQuery },
      response: PolicyResponse,
      status: 204,
      errors: [404, 409],
    },
  ];
}

/**
 * The secret store, shaped like Vault's KV v2 API. Which paths a caller may touch is decided by
 * path policies in the handler; the scopes here only gate machine clients per kind of access.
 */
function secretRoutes(): RouteSpec[] {
  const read = [SCOPES.read];
  const write = [SCOPES.write];
  const common = { handler: 'secrets', auth: 'token', tag: 'secrets' } as const;
  return [
    {
      ...common,
      method: 'GET',
      path: '/secrets/data/{path+}',
      operationId: 'readSecret',
      scopes: read,
      summary: 'Read the latest (or `?version=N`) version of a secret',
      request: { query: ReadSecretQuery },
      response: ReadSecretResponse,
      errors: [404, 503],
    },
    {
      ...common,
      method: 'POST',
      path: '/secrets/data/{path+}',
      operationId: 'writeSecret',
      scopes: write,
      summary: 'Write a new version (optional check-and-set with `options.cas`)',
      request: { body: WriteSecretRequest },
      response: WriteSecretResponse,
      errors: [409, 413, 503],
    },
    {
      ...common,
      method: 'POST',
      path: '/secrets/delete/{path+}',
      operationId: 'softDeleteSecretVersions',
      scopes: write,
      summary: 'Soft-delete the latest or the given versions (reversible)',
      request: { body: SoftDeleteRequest },
      response: NoContent,
      status: 204,
      errors: [404],
    },
    {
      ...common,
      method: 'POST',
      path: '/secrets/undelete/{path+}',
      operationId: 'undeleteSecretVersions',
      scopes: write,
      summary: 'Restore soft-deleted versions',
      request: { body: VersionsRequest },
      response: NoContent,
      status: 204,
      errors: [404],
    },
    {
      ...common,
      method: 'POST',
      path: '/secrets/destroy/{path+}',
      operationId: 'destroySecretVersions',
      scopes: [SCOPES.admin],
      summary: 'Destroy versions for good (ciphertext and wrapped key removed)',
      request: { body: VersionsRequest },
      response: NoContent,
      status: 204,
      errors: [404],
    },
    {
      ...common,
      method: 'GET',
      path: '/secrets/metadata',
      operationId: 'listSecretsAtRoot',
      scopes: read,
      summary: 'List the top-level keys (`?list=true`, paginated with `limit` and `cursor`)',
      response: ListSecretsResponse,
    },
    {
      ...common,
      method: 'GET',
      path: '/secrets/metadata/{path+}',
      operationId: 'readSecretMetadata',
      scopes: read,
      summary: 'Metadata of a secret and its versions, or with `?list=true` the keys under a prefix',
      response: SecretMetadataResponse.or(ListSecretsResponse),
      errors: [404],
    },
    {
      ...common,
      method: 'POST',
      path: '/secrets/metadata/{path+}',
      operationId: 'writeSecretMetadata',
      scopes: write,
      summary: 'Set max_versions, cas_required and custom metadata',
      request: { body: WriteMetadataRequest },
      response: NoContent,
      status: 204,
      errors: [404],
    },
    {
      ...common,
      method: 'DELETE',
      path: '/secrets/metadata/{path+}',
      operationId: 'deleteSecret',
      scopes: [SCOPES.admin],
      summary: 'Delete every version and the metadata of a secret',
      response: NoContent,
      status: 204,
      errors: [404],
    },
  ];
}

/**
 * The credential inventory (ADR 0005): everyone reads it; operators and admins register managed
 * credentials and change owner, tags, expiry and rotation. Roles are checked in the domain;
 * the scopes here gate machine clients.
 */
/**
 * Rotation: request one (queued; 202), read a credential's rotations and one rotation's steps,
 * roll back, and manage the tenant's rotation policies (admins; auditors and operators read).
 */
function rotationRoutes(): RouteSpec[] {
  const read = [SCOPES.read, SCOPES.audit, SCOPES.admin];
  const write = [SCOPES.write, SCOPES.admin];
  const common = { handler: 'rotations', auth: 'token', tag: 'rotation' } as const;
  return [
    {
      ...common,
      method: 'POST',
      path: '/credentials/{id}/rotate',
      operationId: 'rotateCredential',
      scopes: write,
      summary:
        'Start a rotation (header Idempotency-Key: the same key starts one rotation); answers 202 with its rotationId',
      response: RotationAccepted,
      status: 202,
      errors: [404, 409, 503],
    },
    {
      ...common,
      method: 'GET',
      path: '/credentials/{id}/rotations',
      operationId: 'listCredentialRotations',
      scopes: read,
      summary: "A credential's rotations, newest first (paginated with limit and cursor)",
      request: { query: ListRotationsQuery },
      response: RotationListResponse,
      errors: [404],
    },
    {
      ...common,
      method: 'GET',
      path: '/rotations/{id}',
      operationId: 'getRotation',
      scopes: read,
      summary: 'One rotation: its state and each step with its times and outcome',
      response: RotationResponse,
      errors: [404],
    },
    {
      ...common,
      method: 'POST',
      path: '/rotations/{id}/rollback',
      operationId: 'rollbackRotation',
      scopes: write,
      summary: 'Restore the value before this rotation (the latest), while the previous version still exists',
      response: RotationResponse,
      errors: [404, 409, 503],
    },
    {
      ...common,
      method: 'GET',
      path: '/rotation-policies',
      operationId: 'listRotationPolicies',
      scopes: [SCOPES.admin, SCOPES.audit],
      summary: "The tenant's rotation policies",
      response: RotationPolicyListResponse,
    },
    {
      ...common,
      method: 'GET',
      path: '/rotation-policies/{name}',
      operationId: 'getRotationPolicy',
      scopes: [SCOPES.admin, SCOPES.audit],
      summary: 'One rotation policy with its revision',
      response: RotationPolicyResponse,
      errors: [404],
    },
    {
      ...common,
      method: 'PUT',
      path: '/rotation-policies/{name}',
      operationId: 'putRotationPolicy',
      scopes: [SCOPES.admin],
      summary:
        'Create or replace a rotation policy (optional revision for check-and-set); invalid policies answer 400',
      request: { body: PutRotationPolicyRequest },
      response: RotationPolicyResponse,
      errors: [409],
    },
    {
      ...common,
      method: 'DELETE',
      path: '/rotation-policies/{name}',
      operationId: 'deleteRotationPolicy',
      scopes: [SCOPES.admin],
      summary: 'Delete a rotation policy (optional ?revision=N)',
      request: { query: DeleteRotationPolicyQuery },
      response: RotationPolicyResponse,
      status: 204,
      errors: [404, 409],
    },
  ];
}

function credentialRoutes(): RouteSpec[] {
  const read = [SCOPES.read, SCOPES.audit, SCOPES.admin];
  const write = [SCOPES.write, SCOPES.admin];
  const common = { handler: 'credentials', auth: 'token', tag: 'credentials' } as const;
  return [
    {
      ...common,
      method: 'GET',
      path: '/credentials',
      operationId: 'listCredentials',
      scopes: read,
      summary:
        'The inventory with findings; filter by type, status, severity, finding, source, owner, tag, account, text',
      request: { query: ListCredentialsQuery },
      response: CredentialListResponse,
    },
    {
      ...common,
      method: 'POST',
      path: '/credentials',
      operationId: 'registerCredential',
      scopes: write,
      summary: 'Register a managed credential (its facts and expiry, never its value)',
      request: { body: RegisterCredentialRequest },
      response: CredentialResponse,
      status: 201,
    },
    {
      ...common,
      method: 'GET',
      path: '/credentials/{id}',
      operationId: 'getCredential',
      scopes: read,
      summary: 'One credential with its findings and its history of changes',
      response: CredentialResponse,
      errors: [404],
    },
    {
      ...common,
      method: 'PATCH',
      path: '/credentials/{id}',
      operationId: 'updateCredential',
      scopes: write,
      summary:
        'Change owner, tags, expiry, rotation policy or rotation settings (optional `revision` for check-and-set)',
      request: { body: UpdateCredentialRequest },
      response: CredentialResponse,
      errors: [404, 409],
    },
    {
      ...common,
      method: 'DELETE',
      path: '/credentials/{id}',
      operationId: 'unregisterCredential',
      scopes: write,
      summary: 'Unregister a managed credential (or a discovered one that is gone)',
      request: { query: UnregisterCredentialQuery },
      response: CredentialResponse,
      status: 204,
      errors: [404, 409],
    },
  ];
}

/** Discovery: on-demand runs and their records, the tenant's accounts and thresholds, the rules. */
function discoveryRoutes(): RouteSpec[] {
  const read = [SCOPES.read, SCOPES.audit, SCOPES.admin];
  const common = { handler: 'discoveryApi', auth: 'token', tag: 'discovery' } as const;
  return [
    {
      ...common,
      method: 'POST',
      path: '/discovery/runs',
      operationId: 'startDiscoveryRun',
      scopes: [SCOPES.write, SCOPES.admin],
      summary: 'Start a discovery run now; answers 202 with the queued run (follow it at its Location)',
      response: DiscoveryRunResponse,
      status: 202,
      errors: [503],
    },
    {
      ...common,
      method: 'GET',
      path: '/discovery/runs',
      operationId: 'listDiscoveryRuns',
      scopes: read,
      summary: 'Discovery runs, newest first: state, start, end, counts and errors',
      request: { query: ListDiscoveryRunsQuery },
      response: DiscoveryRunListResponse,
    },
    {
      ...common,
      method: 'GET',
      path: '/discovery/runs/{id}',
      operationId: 'getDiscoveryRun',
      scopes: read,
      summary: 'One discovery run: state, counts, sources and errors',
      response: DiscoveryRunResponse,
      errors: [404],
    },
    {
      ...common,
      method: 'GET',
      path: '/discovery/settings',
      operationId: 'getDiscoverySettings',
      scopes: [SCOPES.admin, SCOPES.audit],
      summary: 'Accounts (roles to assume), regions, finding thresholds and switched-off rules',
      response: DiscoverySettingsResponse,
    },
    {
      ...common,
      method: 'PUT',
      path: '/discovery/settings',
      operationId: 'putDiscoverySettings',
      scopes: [SCOPES.admin],
      summary: 'Replace the discovery settings (admins; optional `revision` for check-and-set)',
      request: { body: PutDiscoverySettingsRequest },
      response: DiscoverySettingsResponse,
      errors: [409],
    },
    {
      ...common,
      method: 'GET',
      path: '/discovery/rules',
      operationId: 'listFindingRules',
      scopes: read,
      summary: 'The finding rules: severity, remediation, and the thresholds that apply to this tenant',
      response: FindingRulesResponse,
    },
  ];
}

/** Turns an API Gateway resource path into a matcher for the local router. */
export function compileRoutePath(path: string): RegExp {
  const pattern = path
    .split('/')
    .map((segment) => {
      if (/^\{[A-Za-z0-9_]+\+\}$/.test(segment)) return '(.+)';
      if (/^\{[A-Za-z0-9_]+\}$/.test(segment)) return '([^/]+)';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${pattern}$`);
}

/** Names of the `{param}` / `{param+}` segments of a resource path, in order. */
export function routePathParameters(path: string): string[] {
  return [...path.matchAll(/\{([A-Za-z0-9_]+)\+?\}/g)].map((match) => match[1] ?? '');
}
