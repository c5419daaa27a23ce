/**
 * Route definitions: what one API operation takes and answers. Each API function declares its
 * routes in `lambdas/functions/<name>/routes.ts` (`as const`, so the schemas keep their types);
 * `lambdas/functions/index.ts` joins them into the route table that CDK builds the REST API from
 * (`lib/api-stack.ts`), the local runtime routes with (`lambdas/local/server.ts`), and the
 * OpenAPI document is generated from (`lambdas/shared/openapi.ts`). A function's handler maps
 * each of its operations to a use case (`apiHandler`), typed by these definitions.
 */
import type * as z from 'zod';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * A route's method: an HTTP method, or `ANY` as API Gateway means it: every method that no route
 * of a more specific resource takes (API Gateway resolves a request on the resource and method
 * pair, and falls through to a greedy `{proxy+}` resource's `ANY` when the specific resource lacks
 * the method). The local router gives an `ANY` route the same lowest precedence.
 */
export type RouteMethod = HttpMethod | 'ANY';

/** An API function, by the id its routes name; its folder is `lambdas/functions/<kebab-case id>/`. */
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
  'notifications',
  'expiryCheckApi',
] as const;
export type ApiHandlerId = (typeof API_HANDLER_IDS)[number];

export interface RouteSpec {
  readonly method: RouteMethod;
  /**
   * Also served with `PUT` (Vault clients write with either): the same operation, with the same
   * schemas; the OpenAPI document lists it as `<operationId>Put`.
   */
  readonly alsoPut?: boolean;
  /**
   * Also served with `HEAD` (a `GET` route): the same operation, its status and headers without
   * the body, as Vault serves `HEAD /v1/sys/health` (hvac's health check and load balancers use
   * it). The OpenAPI document lists it as `<operationId>Head`.
   */
  readonly alsoHead?: boolean;
  /**
   * Also served with Vault's `LIST` method, as `GET` with `list=true` added to the query. Only the
   * local router can: API Gateway REST APIs route standard methods only, so in AWS clients list
   * with `GET ?list=true` (docs/vault-api.md). Never an API Gateway method of its own.
   */
  readonly alsoList?: boolean;
  /**
   * `vault`: a route of Vault's HTTP API (`/v1/...`, docs/vault-api.md). Its token may also come in
   * `X-Vault-Token` (same verifier), its errors are Vault's `{"errors":[...]}`, and its JSON body
   * may come without a Content-Type, as Vault's own clients send it. API Gateway's Cognito
   * authorizer reads one header only, so these routes are verified by the handler alone.
   */
  readonly dialect?: 'vault';
  /** Media types the body may have, when not `application/json` (e.g. `application/merge-patch+json`). */
  readonly bodyMediaTypes?: readonly string[];
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
  /**
   * A route served only to refuse, as Vault refuses it (renewing a token that cannot be renewed,
   * writing a configuration that is fixed, a `/v1` path nothing serves): the status every caller
   * it admits gets for what it is there for (`errors` may list another it answers in a corner). It
   * changes nothing, its `response` is never sent, and the OpenAPI document lists no success for it.
   */
  readonly refusedWith?: 400 | 404 | 405;
  /** Extra error statuses the route documents (401/403/500 are implied by `auth`). */
  readonly errors?: readonly number[];
  /** Media types of a success body that is not JSON (an export, a key); `response` describes it. */
  readonly mediaTypes?: readonly string[];
}

/** The methods a route is served on. */
export function routeMethods(route: RouteSpec): RouteMethod[] {
  return [
    route.method,
    ...(route.alsoPut === true && route.method !== 'PUT' ? (['PUT'] as const) : []),
    ...(route.alsoHead === true && route.method === 'GET' ? (['HEAD'] as const) : []),
  ];
}

/** A route as served on one method (a route with `alsoPut` is served twice). */
export function expandMethods(routes: readonly RouteSpec[]): RouteSpec[] {
  return routes.flatMap((route) => routeMethods(route).map((method) => ({ ...route, method })));
}

/** The parsed body of a route: its body schema's output, or undefined when it takes none. */
export type BodyOf<R> = R extends { readonly request: { readonly body: infer S extends z.ZodType } }
  ? z.output<S>
  : undefined;

/** The parsed query of a route: its query schema's output, or undefined when it declares none. */
export type QueryOf<R> = R extends { readonly request: { readonly query: infer S extends z.ZodType } }
  ? z.output<S>
  : undefined;

/** A type whose arrays and objects may be read-only: use cases answer read-only values. */
export type DeepReadonly<T> = T extends readonly (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** What a route answers with: its response schema's input for JSON, nothing for 204 and text. */
export type ResponseBodyOf<R> = R extends { readonly status: 204 }
  ? null
  : R extends { readonly mediaTypes: readonly string[] }
    ? null
    : R extends { readonly response: infer S extends z.ZodType }
      ? DeepReadonly<z.input<S>>
      : never;

/**
 * What an `Allow` header names for a path, from the routes that match it (the local router's 405,
 * and the `/v1` catch-all's in both runtimes): each route's methods, `LIST` where a `GET` lists,
 * and `OPTIONS` (the CORS preflight every resource answers). An `ANY` route names none: it stands
 * for "every other method", which is not what a client may send there.
 */
export function allowedMethods(routes: readonly RouteSpec[]): string[] {
  const methods = routes.flatMap((route) =>
    route.method === 'ANY'
      ? []
      : [...routeMethods(route), ...(route.alsoList === true && route.method === 'GET' ? ['LIST'] : [])],
  );
  return [...new Set([...methods, 'OPTIONS'])];
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
