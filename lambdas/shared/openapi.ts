/**
 * The OpenAPI 3.1 document, generated from the route table and the zod contracts (zod 4 emits
 * JSON Schema 2020-12, which is what OpenAPI 3.1 uses). Schemas with a `.meta({ id })` become
 * named components; everything else is inlined.
 */
import * as z from 'zod';
import { ErrorBody } from './contracts/common.js';
import { VaultErrorBody } from './contracts/vault.js';
import { PATH_PARAMETERS } from './path-parameters.js';
import { routePathParameters, type RouteSpec } from './routes.js';
import { SCOPE_DESCRIPTIONS, SCOPES } from './scopes.js';
import { VERSION } from './version.js';

type JsonSchema = Record<string, unknown>;

class ComponentRegistry {
  readonly schemas: Record<string, JsonSchema> = {};

  /** Converts a zod schema, moving its named definitions into `components.schemas`. */
  add(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
    const converted = z.toJSONSchema(schema, { target: 'draft-2020-12', unrepresentable: 'any', io });
    const text = JSON.stringify(converted).replaceAll('"#/$defs/', '"#/components/schemas/');
    const {
      $schema: _dialect,
      $defs,
      ...rest
    } = JSON.parse(text) as JsonSchema & {
      $defs?: Record<string, JsonSchema>;
    };
    Object.assign(this.schemas, $defs ?? {});
    return rest;
  }
}

const ERROR_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'Invalid request (details lists the validation issues)',
  401: 'Missing, malformed, expired or otherwise invalid token',
  403: 'Authenticated, but not allowed',
  404: 'Not found (also for another tenant’s objects)',
  405: 'Not supported on this path',
  409: 'Conflict',
  413: 'Payload too large',
  429: 'Too many requests (see Retry-After)',
  500: 'Internal error (the body names only the request id)',
  503: 'A dependency is unavailable (see Retry-After)',
};

/** The error body schemas: the API's own, and Vault's for the `/v1/` routes (docs/vault-api.md). */
interface ErrorRefs {
  readonly api: JsonSchema;
  readonly vault: JsonSchema;
}

function operation(route: RouteSpec, registry: ComponentRegistry, errorRefs: ErrorRefs): JsonSchema {
  const vault = route.dialect === 'vault';
  const errorRef = vault ? errorRefs.vault : errorRefs.api;
  const statuses = new Set<number>([...(route.errors ?? []), 500]);
  if (route.refusedWith !== undefined) statuses.add(route.refusedWith);
  // Vault answers a missing or bad token with its 403 `permission denied`, never 401.
  if (route.auth === 'token') (vault ? [403] : [401, 403]).forEach((status) => statuses.add(status));
  const pathNames = routePathParameters(route.path);
  // Path parameters are checked with their limits too (shared/path-parameters.ts): 400 outside.
  if (route.request?.body !== undefined || route.request?.query !== undefined || pathNames.length > 0)
    statuses.add(400);

  const parameters: JsonSchema[] = pathNames.map((name) => {
    const limits = PATH_PARAMETERS[name];
    return {
      name,
      in: 'path',
      required: true,
      schema: limits === undefined ? { type: 'string' } : registry.add(limits, 'input'),
    };
  });
  if (route.request?.query !== undefined) {
    const query = registry.add(route.request.query, 'input') as {
      properties?: Record<string, JsonSchema>;
      required?: string[];
    };
    for (const [name, schema] of Object.entries(query.properties ?? {})) {
      parameters.push({ name, in: 'query', required: query.required?.includes(name) ?? false, schema });
    }
  }

  const status = route.status ?? 200;
  const responses: Record<string, JsonSchema> = {};
  if (route.refusedWith === undefined)
    responses[String(status)] =
      status === 204 || route.method === 'HEAD'
        ? {
            description:
              route.method === 'HEAD' ? "The GET's status and headers, no body" : 'Success, no body',
          }
        : {
            description: 'Success',
            content: Object.fromEntries(
              (route.mediaTypes ?? ['application/json']).map((mediaType) => [
                mediaType,
                { schema: registry.add(route.response, 'output') },
              ]),
            ),
          };
  for (const status of [...statuses].sort()) {
    responses[String(status)] = {
      description: ERROR_DESCRIPTIONS[status] ?? 'Error',
      content: { 'application/json': { schema: errorRef } },
    };
  }

  return {
    operationId: route.operationId,
    summary: route.summary,
    tags: [route.tag],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.request?.body !== undefined
      ? {
          requestBody: {
            required: true,
            content: Object.fromEntries(
              (route.bodyMediaTypes ?? ['application/json']).map((mediaType) => [
                mediaType,
                { schema: registry.add(route.request?.body ?? z.never(), 'input') },
              ]),
            ),
          },
        }
      : {}),
    responses,
    security:
      route.auth === 'none'
        ? []
        : [{ bearer: [] }, ...(vault ? [{ vaultToken: [] }] : []), { oauth2: [...route.scopes] }],
    // Served with Vault's LIST method too, where the runtime can route it (docs/vault-api.md).
    ...(route.alsoList === true ? { 'x-vaultpilot-also-list-method': true } : {}),
  };
}

/**
 * The key of a route's operation in its path item: the method, or for an `ANY` route API
 * Gateway's own extension for it (what API Gateway exports an `ANY` method as; OpenAPI has no
 * such method, and a path item may carry extensions).
 */
export function pathItemKey(method: RouteSpec['method']): string {
  return method === 'ANY' ? 'x-amazon-apigateway-any-method' : method.toLowerCase();
}

/** The document's top level, as the `OpenApiDocument` contract describes it. */
export interface OpenApiDocumentBody {
  readonly openapi: string;
  readonly info: { readonly title: string; readonly version: string; readonly [key: string]: unknown };
  readonly paths: Readonly<Record<string, unknown>>;
  readonly [key: string]: unknown;
}

const cached = new WeakMap<readonly RouteSpec[], OpenApiDocumentBody>();

/**
 * The OpenAPI document of the route table (lambdas/functions/index.ts). A route also served with
 * PUT appears twice; operation ids are unique, so the second is `<operationId>Put`.
 */
export function openApiDocument(routes: readonly RouteSpec[]): OpenApiDocumentBody {
  const known = cached.get(routes);
  if (known !== undefined) return known;
  const registry = new ComponentRegistry();
  const errorRefs: ErrorRefs = {
    api: registry.add(ErrorBody, 'output'),
    vault: registry.add(VaultErrorBody, 'output'),
  };
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const operationIds = new Set<string>();
  for (const route of routes) {
    paths[route.path] ??= {};
    const entry = paths[route.path];
    const unique = operationIds.has(route.operationId)
      ? {
          ...route,
          operationId: `${route.operationId}${route.method[0]}${route.method.slice(1).toLowerCase()}`,
        }
      : route;
    operationIds.add(unique.operationId);
    if (entry !== undefined) entry[pathItemKey(route.method)] = operation(unique, registry, errorRefs);
  }
  const document: OpenApiDocumentBody = {
    openapi: '3.1.0',
    info: {
      title: 'VaultPilot API',
      version: VERSION,
      description:
        'Credential lifecycle for AWS: discovery, an encrypted versioned secret store, rotation, a tamper-evident audit log and alerts.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: {
      schemas: registry.schemas,
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: 'A Cognito (or local issuer) ID or access token',
        },
        vaultToken: {
          type: 'apiKey',
          in: 'header',
          name: 'X-Vault-Token',
          description: 'The same access token, as Vault clients send it (the /v1 routes only)',
        },
        oauth2: {
          type: 'oauth2',
          description: 'Machine clients: client credentials at the Cognito (or local) token endpoint',
          flows: {
            clientCredentials: {
              tokenUrl: '/oauth2/token',
              scopes: Object.fromEntries(
                (Object.keys(SCOPES) as (keyof typeof SCOPES)[]).map((key) => [
                  SCOPES[key],
                  SCOPE_DESCRIPTIONS[key],
                ]),
              ),
            },
          },
        },
      },
    },
  };
  cached.set(routes, document);
  return document;
}
