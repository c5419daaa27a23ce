/**
 * Builds an API Gateway (REST, proxy) Lambda handler from a use-case function. Cross-cutting
 * work is middy middleware, in this order:
 *   1. Powertools logger context (request and correlation ids); the cold-start metric (each
 *      request counts its outcome as one single metric with its `operation` dimension)
 *   2. response shaping: security headers, CORS, JSON serialisation, the one error mapper
 *   3. authentication: bearer token verified by aws-jwt-verify, principal placed on the request
 *   4. request parsing: the route's zod schemas for body and query
 * The route comes from the function's own route definitions, found by API Gateway's
 * `operationName` (or method and resource), so auth and validation cannot drift from what CDK and
 * the local runtime serve. Each operation of the function is one typed entry of `operations`: its
 * body, query and response have the types of the route's schemas, and an operation the routes do
 * not name, or one they name and the function does not implement, is a type error.
 *
 * The middleware gets what it needs from the function's composition (`dependencies`), built at
 * cold start: the token verifier, the CORS origins, the sink refusals are audited with.
 */
import middy, { type MiddlewareObj, type Request } from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import {
  DependencyUnavailableError,
  ForbiddenError,
  IntegrityError,
  UnauthorizedError,
  ValidationError,
} from '../core/errors.js';
import { bearerToken, principalFromClaims } from '../core/identity.js';
import { type Caller, callerAuditEvent } from '../core/audit/caller.js';
import type { AuditSink } from '../core/audit/audit-sink.js';
import type { EventPublisher } from '../core/events.js';
import { systemClock, type TokenVerifier } from '../core/ports.js';
import type { Principal } from '../core/principal.js';
import { toHttpError, validationErrorFrom } from './http-errors.js';
import { corsHeaders, headerValue, SECURITY_HEADERS } from './http-headers.js';
import { INTEGRITY_FAILED } from './integrity-events.js';
import { vaultAccessToken, vaultError } from './vault-dialect.js';
import { countColdStart, countMetric, logger } from './observability.js';
import { PATH_PARAMETERS } from './path-parameters.js';
import {
  type BodyOf,
  type QueryOf,
  type ResponseBodyOf,
  routeMethods,
  routePathParameters,
  type RouteSpec,
} from './routes.js';

/** What the middleware needs of the function's composition. */
export interface ApiDependencies {
  readonly corsOrigins: readonly string[];
  /** Verifies bearer tokens; absent in functions that serve public routes only. */
  readonly tokens?: { readonly verifier: TokenVerifier; readonly userClientIds: readonly string[] };
  /**
   * Where requests refused before any use case runs are recorded; absent in functions that have
   * no audit table (the public and identity-only ones).
   */
  readonly refusalAuditSink?: AuditSink;
  /** Where an integrity failure met by a request is published (`integrity.failed`), best effort. */
  readonly events?: EventPublisher;
}

/** The principal of a route's requests: none on public routes. */
export type PrincipalOf<R> = R extends { readonly auth: 'none' } ? undefined : Principal;

export interface ApiRequest<R extends RouteSpec = RouteSpec> {
  readonly event: APIGatewayProxyEvent;
  readonly context: Context;
  readonly route: R;
  readonly principal: PrincipalOf<R>;
  /** The parsed and validated JSON body (undefined when the route takes none). */
  readonly body: BodyOf<R>;
  /** The parsed and validated query (undefined when the route declares no query schema). */
  readonly query: QueryOf<R>;
  readonly requestId: string;
  readonly correlationId: string;
}

export interface ApiResult<B = unknown> {
  readonly statusCode?: number;
  readonly body: B;
  readonly headers?: Readonly<Record<string, string>>;
  /** A body that is not JSON (an export, a PEM key): sent as is, with its Content-Type in `headers`. */
  readonly text?: string;
}

/** One use case per operation of the routes, typed by its route. */
export type Operations<Routes extends readonly RouteSpec[]> = {
  readonly [Op in Routes[number]['operationId']]: (
    request: ApiRequest<Extract<Routes[number], { readonly operationId: Op }>>,
  ) => Promise<ApiResult<ResponseBodyOf<Extract<Routes[number], { readonly operationId: Op }>>>>;
};

/** What the middleware learns about a request, carried to the use case on the Lambda context. */
interface RequestState {
  route?: RouteSpec;
  principal?: Principal;
  /** Set once the use case runs: from then on it records its own audit events. */
  useCaseStarted?: boolean;
  body?: unknown;
  query?: unknown;
}

interface ApiContext extends Context {
  vaultpilot: RequestState;
}

type ApiMiddyRequest = Request<APIGatewayProxyEvent, APIGatewayProxyResult, Error, ApiContext>;
type ApiMiddleware = MiddlewareObj<APIGatewayProxyEvent, APIGatewayProxyResult, Error, ApiContext>;

const CORRELATION_ID = /^[A-Za-z0-9._:-]{1,128}$/;

function requestIdOf(event: APIGatewayProxyEvent, context: Context): string {
  return event.requestContext?.requestId ?? context.awsRequestId;
}

function correlationIdOf(event: APIGatewayProxyEvent, context: Context): string {
  const given = headerValue(event.headers, 'x-correlation-id');
  return given !== undefined && CORRELATION_ID.test(given) ? given : requestIdOf(event, context);
}

export function findRoute(routes: readonly RouteSpec[], event: APIGatewayProxyEvent): RouteSpec | undefined {
  // API Gateway puts the method's operationName here; @types/aws-lambda does not declare it.
  const operation = (event.requestContext as { operationName?: string } | undefined)?.operationName;
  return (
    routes.find((route) => operation !== undefined && route.operationId === operation) ??
    routes.find(
      (route) =>
        routeMethods(route).includes(event.httpMethod as RouteSpec['method']) &&
        route.path === event.resource,
    ) ??
    // An `ANY` method takes whatever the resource's other methods do not (API Gateway's rule).
    routes.find((route) => route.method === 'ANY' && route.path === event.resource)
  );
}

/** The `operation` dimension of a request's metric (`unknown` before its route is known). */
function operationDimension(request: ApiMiddyRequest): Record<string, string> {
  const state = request.context.vaultpilot as RequestState | undefined;
  return { operation: state?.route?.operationId ?? 'unknown' };
}

/** Counts the cold start once per process; each request counts its own outcome (countMetric). */
const coldStartMetric = (): ApiMiddleware => ({
  name: 'coldStartMetric',
  before: (request) => countColdStart(request.context.functionName),
});

/** Security headers, CORS, JSON body and the error mapping, on every response. */
const httpResponse = (dependencies: () => ApiDependencies): ApiMiddleware => {
  const finish = (request: ApiMiddyRequest, response: APIGatewayProxyResult): void => {
    const { event, context } = request;
    request.response = {
      ...response,
      headers: {
        ...SECURITY_HEADERS,
        // A handler may relax Cache-Control for public documents; the other headers are fixed.
        ...response.headers,
        ...corsHeaders(headerValue(event.headers, 'origin'), dependencies().corsOrigins),
        'X-Request-Id': requestIdOf(event, context),
        'X-Correlation-Id': correlationIdOf(event, context),
      },
    };
  };
  return {
    name: 'httpResponse',
    after: (request) => {
      if (request.response !== null) finish(request, request.response);
    },
    onError: async (request) => {
      const requestId = requestIdOf(request.event, request.context);
      const mapped = toHttpError(request.error, requestId);
      if (request.error instanceof IntegrityError) {
        logger.error('Integrity failure', { error: request.error, integritySubject: request.error.subject });
        await publishIntegrityFailure(dependencies, request, request.error);
      } else if (mapped.unexpected) {
        logger.error('Unhandled error', { error: request.error });
      } else if (request.error instanceof DependencyUnavailableError) {
        // What the caller is not told (service, operation, exception name) is what operators need.
        logger.warn('Dependency unavailable', {
          statusCode: mapped.statusCode,
          code: mapped.body.error.code,
          diagnostic: request.error.diagnostic,
        });
      } else {
        logger.info('Request refused', { statusCode: mapped.statusCode, code: mapped.body.error.code });
      }
      countMetric(mapped.statusCode >= 500 ? 'ServerError' : 'ClientError', operationDimension(request));
      await auditRefusal(dependencies, request, mapped.statusCode, mapped.body.error.code);
      const state = request.context.vaultpilot as RequestState | undefined;
      // Vault's clients read Vault's error shape; the status and headers are the one mapper's.
      const rendered =
        state?.route?.dialect === 'vault'
          ? vaultError(mapped, request.error)
          : { statusCode: mapped.statusCode, body: mapped.body };
      finish(request, {
        statusCode: rendered.statusCode,
        headers: { 'Content-Type': 'application/json', ...mapped.headers },
        body: JSON.stringify(rendered.body),
      });
    },
  };
};

/**
 * Publishes `integrity.failed` for an integrity failure met by a request (the use case audited
 * it already, as failed with code `IntegrityFailure`). Best effort: the answer stands either way,
 * and a failed publish is logged.
 */
async function publishIntegrityFailure(
  dependencies: () => ApiDependencies,
  request: ApiMiddyRequest,
  error: IntegrityError,
): Promise<void> {
  const state = request.context.vaultpilot as RequestState | undefined;
  const tenant = state?.principal?.tenant;
  const events = dependencies().events;
  if (tenant === undefined || state?.route === undefined || events === undefined) return;
  try {
    await events.publish([
      {
        type: INTEGRITY_FAILED,
        tenant,
        time: systemClock.now().toISOString(),
        detail: {
          subject: error.subject,
          operation: state.route.operationId,
          requestId: requestIdOf(request.event, request.context),
        },
      },
    ]);
  } catch (failure: unknown) {
    logger.error('Could not publish an integrity failure', {
      error: failure instanceof Error ? `${failure.name}: ${failure.message}` : String(failure),
    });
  }
}

/**
 * Records a request of a known caller that was refused before its use case ran (a missing scope,
 * an invalid query or body): the use cases audit everything after that point themselves. A
 * request without a valid token has no tenant whose log could hold it; it is logged and counted
 * only. The refusal stands either way; a failing audit write is logged, never shown to the caller.
 */
async function auditRefusal(
  dependencies: () => ApiDependencies,
  request: ApiMiddyRequest,
  statusCode: number,
  code: string,
): Promise<void> {
  const state = request.context.vaultpilot as RequestState | undefined;
  const principal = state?.principal;
  if (principal === undefined || state?.route === undefined || state.useCaseStarted === true) return;
  if (statusCode >= 500) return;
  const sink = dependencies().refusalAuditSink;
  if (sink === undefined) return;
  const identity = request.event.requestContext?.identity;
  const caller: Caller = {
    principal,
    requestId: requestIdOf(request.event, request.context),
    correlationId: correlationIdOf(request.event, request.context),
    sourceIp: identity?.sourceIp ?? undefined,
    userAgent: identity?.userAgent ?? undefined,
  };
  try {
    await sink.record(
      callerAuditEvent(caller, systemClock, {
        action: 'api.refused',
        target: {},
        outcome: statusCode === 401 || statusCode === 403 ? 'denied' : 'failed',
        reason: `${state.route.operationId}: ${code}`,
      }),
    );
  } catch (error: unknown) {
    logger.error('Could not audit a refused request', {
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    });
  }
}

/** Resolves the route and, for protected routes, verifies the token and checks machine scopes. */
const authenticate = (routes: readonly RouteSpec[], dependencies: () => ApiDependencies): ApiMiddleware => ({
  name: 'authenticate',
  before: async (request) => {
    const route = findRoute(routes, request.event);
    if (route === undefined)
      throw new Error(`No route for ${request.event.httpMethod} ${request.event.resource}`);
    request.context.vaultpilot = { route };
    logger.appendKeys({ operation: route.operationId });
    if (route.auth === 'none') return;

    const { tokens } = dependencies();
    if (tokens === undefined)
      throw new Error(`${route.operationId} needs a token verifier, and its function has none`);
    const token =
      route.dialect === 'vault'
        ? vaultAccessToken(request.event.headers)
        : bearerToken(headerValue(request.event.headers, 'authorization'));
    const claims = await tokens.verifier.verify(token);
    const principal = principalFromClaims(claims, { userClientIds: tokens.userClientIds });
    // Known before the scope check, so a refusal for a missing scope is audited under its tenant.
    request.context.vaultpilot.principal = principal;
    if (principal.kind === 'machine' && !principal.scopes.some((scope) => route.scopes.includes(scope))) {
      throw new ForbiddenError(`This operation needs one of the scopes: ${route.scopes.join(' ')}`);
    }
    logger.appendKeys({
      tenant: principal.tenant,
      principalKind: principal.kind,
      subject: principal.subject,
    });
  },
});

/**
 * The path parameters of the route that the invoked resource has as variables: all of them
 * locally, where the resource is the route's path; in API Gateway those of the resource CDK built,
 * where Vault's `{mount}` is the literal mount named at deploy time (lib/api-stack.ts).
 */
function invokedPathParameters(route: RouteSpec, resource: string | undefined): string[] {
  const names = routePathParameters(route.path);
  if (resource === undefined || resource === route.path) return names;
  const variables = new Set(routePathParameters(resource));
  return names.filter((name) => variables.has(name));
}

/** Checks each path parameter of the route against its limits; 400 naming the first one outside. */
function checkPathParameters(route: RouteSpec, event: APIGatewayProxyEvent): void {
  const given = event.pathParameters;
  for (const name of invokedPathParameters(route, event.resource)) {
    const schema = PATH_PARAMETERS[name];
    if (schema === undefined) throw new Error(`The path parameter ${name} has no schema`);
    const parsed = schema.safeParse(given?.[name]);
    if (!parsed.success) {
      throw new ValidationError(`Invalid path parameter ${name}`, {
        cause: parsed.error,
        details: {
          issues: parsed.error.issues.map(({ code, message }) => ({ code, path: ['path', name], message })),
        },
      });
    }
  }
}

/**
 * Whether a body of this Content-Type is one the route takes. Vault reads every body as JSON
 * whatever its Content-Type (its Go client sends none), so a Vault route does too unless it names
 * its media types. That opens no cross-site path: the token travels in a header, which no
 * browser sends cross-origin without a CORS preflight.
 */
function acceptsMediaType(route: RouteSpec, contentType: string | undefined): boolean {
  const mediaType = contentType?.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  if (route.bodyMediaTypes !== undefined) return route.bodyMediaTypes.includes(mediaType);
  return route.dialect === 'vault' || mediaType === 'application/json';
}

/** Parses the path parameters, the JSON body and the query with their zod schemas. */
const parseRequest = (): ApiMiddleware => ({
  name: 'parseRequest',
  before: (request) => {
    const state = request.context.vaultpilot;
    const route = state.route;
    const { event } = request;
    if (route !== undefined) checkPathParameters(route, event);
    if (route?.request?.query !== undefined) {
      const parsed = route.request.query.safeParse(event.queryStringParameters ?? {});
      if (!parsed.success) throw validationErrorFrom(parsed.error, 'query parameters');
      state.query = parsed.data;
    }
    if (route?.request?.body !== undefined) {
      const contentType = headerValue(event.headers, 'content-type');
      if (!acceptsMediaType(route, contentType)) {
        const wanted = route.bodyMediaTypes?.join(' or ') ?? 'application/json';
        throw new ValidationError(`Expected a JSON body (Content-Type: ${wanted})`);
      }
      let json: unknown;
      try {
        const raw =
          (event.isBase64Encoded ? Buffer.from(event.body ?? '', 'base64').toString('utf8') : event.body) ??
          '';
        // Vault reads a request without a body as one without parameters (Spring Vault renews its
        // token with an empty POST); the route's schema then says what is missing.
        json = route.dialect === 'vault' && raw.trim().length === 0 ? {} : JSON.parse(raw);
      } catch (error: unknown) {
        throw new ValidationError('The request body is not valid JSON', { cause: error });
      }
      const parsed = route.request.body.safeParse(json);
      if (!parsed.success) throw validationErrorFrom(parsed.error, 'request body');
      state.body = parsed.data;
    }
  },
});

function toResponse(result: ApiResult): APIGatewayProxyResult {
  if (result.statusCode === 204) return { statusCode: 204, headers: { ...result.headers }, body: '' };
  if (result.text !== undefined) {
    return {
      statusCode: result.statusCode ?? 200,
      headers: { 'Content-Type': 'text/plain; charset=utf-8', ...result.headers },
      body: result.text,
    };
  }
  return {
    statusCode: result.statusCode ?? 200,
    headers: { 'Content-Type': 'application/json', ...result.headers },
    body: JSON.stringify(result.body),
  };
}

/** A request before its route's types are known: the one place they are erased is `apiHandler`. */
interface ParsedRequest extends Omit<ApiRequest, 'principal' | 'body' | 'query'> {
  readonly principal: Principal | undefined;
  readonly body: unknown;
  readonly query: unknown;
}

function build(
  routes: readonly RouteSpec[],
  dependencies: () => ApiDependencies,
  useCase: (request: ParsedRequest) => Promise<ApiResult>,
) {
  return middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, ApiContext>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(coldStartMetric())
    .use(httpResponse(dependencies))
    .use(authenticate(routes, dependencies))
    .use(parseRequest())
    .handler(async (event, context) => {
      const { route, principal, body, query } = context.vaultpilot;
      if (route === undefined) throw new Error('Route not resolved');
      if (route.auth === 'token' && principal === undefined)
        throw new UnauthorizedError('Authentication required');
      const correlationId = correlationIdOf(event, context);
      logger.appendKeys({ correlation_id: correlationId });
      context.vaultpilot.useCaseStarted = true;
      const result = await useCase({
        event,
        context,
        route,
        principal,
        body,
        query,
        requestId: requestIdOf(event, context),
        correlationId,
      });
      countMetric('Success', { operation: route.operationId });
      return toResponse(result);
    });
}

/** The caller of a use case: the principal plus the request facts the audit log keeps. */
export function callerOf(request: {
  readonly event: APIGatewayProxyEvent;
  readonly principal: Principal;
  readonly requestId: string;
  readonly correlationId: string;
}): Caller {
  const identity = request.event.requestContext?.identity;
  return {
    principal: request.principal,
    requestId: request.requestId,
    correlationId: request.correlationId,
    sourceIp: identity?.sourceIp ?? undefined,
    userAgent: identity?.userAgent ?? undefined,
  };
}

/** A path parameter of the route; 400 when the route's parameter is missing or empty. */
export function pathParameter(request: { readonly event: APIGatewayProxyEvent }, name: string): string {
  const value = request.event.pathParameters?.[name];
  if (value === undefined || value.length === 0) {
    throw new ValidationError(`Path parameter ${name} is required`);
  }
  return value;
}

export type ApiLambda = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

// middy types the context as the extended one its middleware fills in; callers pass a plain one.
const asLambda = (handler: ReturnType<typeof build>): ApiLambda => handler as unknown as ApiLambda;

/**
 * The Lambda entry point of an API function: its routes, what its middleware needs, and one use
 * case per operation. A request whose route this function does not serve is a 500 (a wiring
 * defect: API Gateway and the local router only send a function its own routes).
 */
export function apiHandler<const Routes extends readonly RouteSpec[]>(
  routes: Routes,
  dependencies: () => ApiDependencies,
  operations: Operations<Routes>,
): ApiLambda {
  // Typed per route above; here one lookup by the resolved route's operation id.
  const byOperation = operations as unknown as Readonly<
    Record<string, (request: ParsedRequest) => Promise<ApiResult>>
  >;
  return asLambda(
    build(routes, dependencies, (request) => {
      const operation = Object.hasOwn(byOperation, request.route.operationId)
        ? byOperation[request.route.operationId]
        : undefined;
      if (operation === undefined)
        throw new Error(`This function does not serve ${request.route.operationId}`);
      return operation(request);
    }),
  );
}
