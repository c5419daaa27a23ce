/**
 * The route table: the one list of API routes. CDK builds the API Gateway REST API from it
 * (`lib/api-stack.ts`), the local runtime routes requests with it (`lambdas/local/server.ts`),
 * and the OpenAPI document is generated from it (`lambdas/shared/openapi.ts`).
 */
import type { z } from 'zod';
import { OpenApiDocument } from './contracts/common.js';
import { HealthResponse, MeResponse } from './contracts/identity.js';
import { ALL_SCOPES } from './scopes.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** An API handler: one Lambda function; the file is `lambdas/handlers/<id>.ts`, export `handler`. */
export const API_HANDLER_IDS = ['health', 'me', 'openapi'] as const;
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
];

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
