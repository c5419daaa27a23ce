/**
 * The route table: the one list of API routes. CDK builds the API Gateway REST API from it
 * (`lib/api-stack.ts`), the local runtime routes requests with it (`lambdas/local/server.ts`),
 * and the OpenAPI document is generated from it (`lambdas/shared/openapi.ts`).
 */
import type { z } from 'zod';
import { RewrapRequest, RewrapResponse } from './contracts/admin.js';
import { OpenApiDocument } from './contracts/common.js';
import { HealthResponse, MeResponse } from './contracts/identity.js';
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
export const API_HANDLER_IDS = ['health', 'me', 'openapi', 'secrets', 'policies', 'admin'] as const;
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
  readonly status?: 200 | 201 | 204;
  /** Extra error statuses the route documents (401/403/500 are implied by `auth`). */
  readonly errors?: readonly number[];
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
];

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
