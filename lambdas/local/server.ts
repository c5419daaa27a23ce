/**
 * The local API: a node:http server that routes each request with the route table, turns it
 * into the API Gateway proxy event, calls the same Lambda handler, and writes its result back.
 * The identity endpoints (JWKS, sign-in, client credentials) stand in for Cognito's.
 */
import { randomUUID } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import type { APIGatewayProxyResult } from 'aws-lambda';
import {
  DependencyUnavailableError,
  MethodNotAllowedError,
  NotFoundError,
  PayloadTooLargeError,
  ValidationError,
} from '../core/errors.js';
import { toHttpError } from '../shared/http-errors.js';
import { vaultError } from '../shared/vault-dialect.js';
import {
  CORS_ALLOWED_HEADERS,
  CORS_ALLOWED_METHODS,
  corsHeaders,
  SECURITY_HEADERS,
} from '../shared/http-headers.js';
import { MANIFESTS, ROUTES } from '../functions/index.js';
import {
  DEFAULT_TIMEOUT_SECONDS,
  type FunctionManifest,
  timeoutSecondsOf,
} from '../shared/function-manifest.js';
import { allowedMethods, compileRoutePath, routePathParameters, type RouteSpec } from '../shared/routes.js';
import { apiGatewayEvent } from './api-gateway-event.js';
import { API_HANDLERS } from './handler-registry.js';
import { invoke } from './invocation.js';
import { lambdaContext } from './lambda-context.js';

/** API Gateway's own limit on a request payload. */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;
/**
 * Each API function's timeout, as deployed (its manifest's, else the default), so that a request
 * runs out of time locally where it would in AWS.
 */
const API_TIMEOUTS: ReadonlyMap<string, number> = new Map(
  Object.values(MANIFESTS).flatMap((manifest: FunctionManifest) =>
    manifest.trigger.kind === 'api' ? [[manifest.trigger.handler, timeoutSecondsOf(manifest)] as const] : [],
  ),
);

export interface LocalHttpResponse {
  readonly statusCode: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Bytes for the dashboard's static files (fonts, images), text for everything else. */
  readonly body: string | Uint8Array;
}

export interface LocalRequestInfo {
  readonly method: string;
  readonly path: string;
  /** The query string with its `?` (or empty), as in `URL.search`. */
  readonly search: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
  readonly requestId: string;
  /** The socket's peer address (X-Forwarded-For is not trusted: any client can send it). */
  readonly sourceIp: string;
}

/** Answers requests that are not API routes (the identity endpoints); undefined passes them on. */
export type SideRoute = (request: LocalRequestInfo) => Promise<LocalHttpResponse | undefined>;

export interface LocalApiOptions {
  readonly stage: string;
  readonly region: string;
  readonly corsOrigins: readonly string[];
  readonly sideRoutes: readonly SideRoute[];
  /**
   * False until every route, the identity provider and the first admin are ready: until then
   * every request, `/health` included, answers 503 with Retry-After, so "healthy" means "usable".
   */
  readonly isReady?: () => boolean;
  /**
   * Called for API routes before the handler runs; throws (TooManyRequestsError) to refuse. The
   * per-client and per-tenant rate limits.
   */
  readonly admit?: (headers: Readonly<Record<string, string>>) => void;
  readonly onRequest?: (line: { method: string; path: string; statusCode: number; ms: number }) => void;
  /** Errors that became a bare 500 (the caller sees only the request id; the log sees why). */
  readonly onUnexpectedError?: (error: unknown, requestId: string) => void;
}

interface CompiledRoute {
  readonly route: RouteSpec;
  readonly pattern: RegExp;
  readonly parameterNames: readonly string[];
}

const COMPILED: readonly CompiledRoute[] = ROUTES.map((route) => ({
  route,
  pattern: compileRoutePath(route.path),
  parameterNames: routePathParameters(route.path),
}));

/** Vault's HTTP API (docs/vault-api.md): refusals made by the router answer in Vault's error shape too. */
const VAULT_PREFIX = '/v1/';

function errorResponse(
  error: unknown,
  requestId: string,
  options: LocalApiOptions,
  path: string,
): LocalHttpResponse {
  const mapped = toHttpError(error, requestId);
  if (mapped.unexpected) options.onUnexpectedError?.(error, requestId);
  const rendered = path.startsWith(VAULT_PREFIX)
    ? vaultError(mapped, error)
    : { statusCode: mapped.statusCode, body: mapped.body };
  return {
    statusCode: rendered.statusCode,
    headers: { ...SECURITY_HEADERS, 'Content-Type': 'application/json', ...mapped.headers },
    body: JSON.stringify(rendered.body),
  };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const declared = Number(request.headers['content-length'] ?? '0');
  if (declared > MAX_BODY_BYTES)
    throw new PayloadTooLargeError(`Request body exceeds ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new PayloadTooLargeError(`Request body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function candidatesFor(path: string): { compiled: CompiledRoute; match: RegExpExecArray }[] {
  return COMPILED.flatMap((compiled) => {
    const match = compiled.pattern.exec(path);
    return match === null ? [] : [{ compiled, match }];
  });
}

function matchRoute(
  method: string,
  path: string,
): { route: RouteSpec; parameters: Record<string, string> | null } {
  // An `ANY` route (Vault's `/v1/{proxy+}` catch-all) takes only what no other route takes, as in
  // API Gateway, which resolves the resource and method pair before it falls through to it.
  const specific = (candidatePath: string) =>
    candidatesFor(candidatePath).filter(({ compiled }) => compiled.route.method !== 'ANY');
  let candidates = specific(path);
  // Vault's clients list a mount's root as `metadata/`; API Gateway serves `/a/` as `/a`.
  if (candidates.length === 0 && path.startsWith(VAULT_PREFIX) && path.endsWith('/')) {
    candidates = specific(path.slice(0, -1));
  }
  // Vault's LIST is the GET of a route that lists (`alsoList`), with `list=true`.
  const chosen =
    (method === 'LIST'
      ? candidates.find(({ compiled }) => compiled.route.alsoList === true && compiled.route.method === 'GET')
      : candidates.find(({ compiled }) => compiled.route.method === method)) ??
    candidatesFor(path).find(({ compiled }) => compiled.route.method === 'ANY');
  if (chosen === undefined) {
    if (candidates.length === 0) throw new NotFoundError(`No route for ${path}`);
    const allowed = allowedMethods(candidates.map(({ compiled }) => compiled.route));
    throw new MethodNotAllowedError(`Method ${method} is not allowed on ${path}`, allowed);
  }
  const names = chosen.compiled.parameterNames;
  if (names.length === 0) return { route: chosen.compiled.route, parameters: null };
  const parameters: Record<string, string> = {};
  names.forEach((name, index) => {
    const raw = chosen.match[index + 1] ?? '';
    try {
      parameters[name] = decodeURIComponent(raw);
    } catch (error: unknown) {
      throw new ValidationError(`Path parameter ${name} is not valid URL encoding`, { cause: error });
    }
  });
  return { route: chosen.compiled.route, parameters };
}

/**
 * The request-target's path as the client sent it (still percent-encoded, `.` and `..` segments
 * kept) and its query. API Gateway hands the raw path to the function too, so `a/../b` reaches
 * the core's path validator instead of being resolved to `b` here.
 */
function requestTarget(target: string): { path: string; search: string; query: URLSearchParams } {
  // Absolute-form (`GET http://host/path`, RFC 9112 §3.2.2) carries the path after the authority.
  const originForm = target.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '');
  const withoutFragment = originForm.split('#', 1)[0] ?? '';
  const queryAt = withoutFragment.indexOf('?');
  const path = queryAt === -1 ? withoutFragment : withoutFragment.slice(0, queryAt);
  const query = new URLSearchParams(queryAt === -1 ? '' : withoutFragment.slice(queryAt + 1));
  if (!path.startsWith('/')) throw new NotFoundError('No route for this request target');
  return { path, search: queryAt === -1 ? '' : withoutFragment.slice(queryAt), query };
}

/** The path of a request target, for choosing the error shape; never throws. */
function requestPath(target: string | undefined): string {
  try {
    return requestTarget(target ?? '/').path;
  } catch {
    return '/';
  }
}

function fromLambda(result: APIGatewayProxyResult): LocalHttpResponse {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {})) {
    headers[name] = values.map(String).join(', ');
  }
  const body =
    result.isBase64Encoded === true ? Buffer.from(result.body, 'base64').toString('utf8') : result.body;
  return { statusCode: result.statusCode, headers, body };
}

function lowerCaseHeaders(request: IncomingMessage): Record<string, string> {
  // Null prototype: a header named `__proto__` stays a header.
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

async function respond(request: IncomingMessage, options: LocalApiOptions): Promise<LocalHttpResponse> {
  const requestId = randomUUID();
  const method = request.method ?? 'GET';
  const headers = lowerCaseHeaders(request);
  const sourceIp = request.socket.remoteAddress ?? '127.0.0.1';
  try {
    if (options.isReady?.() === false) {
      throw new DependencyUnavailableError('VaultPilot is starting; try again in a moment', 1);
    }
    const url = requestTarget(request.url ?? '/');
    const body = await readBody(request);

    if (method === 'OPTIONS') {
      // API Gateway answers CORS preflight itself (mock integration) for the configured origins.
      const cors = corsHeaders(headers.origin, options.corsOrigins);
      const allowed = 'Access-Control-Allow-Origin' in cors;
      return {
        statusCode: 204,
        headers: {
          ...SECURITY_HEADERS,
          ...cors,
          ...(allowed
            ? {
                'Access-Control-Allow-Headers': CORS_ALLOWED_HEADERS,
                'Access-Control-Allow-Methods': CORS_ALLOWED_METHODS,
                // As the API Gateway preflight CDK configures (lib/api-stack.ts: one hour).
                'Access-Control-Max-Age': '3600',
              }
            : {}),
        },
        body: '',
      };
    }

    for (const sideRoute of options.sideRoutes) {
      const answer = await sideRoute({
        method,
        path: url.path,
        search: url.search,
        headers,
        body,
        requestId,
        sourceIp,
      });
      // The dashboard signs in from its own origin, so side routes get the same CORS headers.
      if (answer !== undefined) {
        return {
          ...answer,
          headers: { ...answer.headers, ...corsHeaders(headers.origin, options.corsOrigins) },
        };
      }
    }

    const { route, parameters } = matchRoute(method, url.path);
    options.admit?.(headers);
    // A LIST that no route lists reaches the `/v1` catch-all as LIST, which names what is allowed.
    const listing = method === 'LIST' && route.alsoList === true;
    if (listing) url.query.set('list', 'true');
    const event = apiGatewayEvent(
      {
        method: listing ? 'GET' : method,
        path: url.path,
        query: url.query,
        rawHeaders: request.rawHeaders,
        body,
        sourceIp,
      },
      route,
      parameters,
      options.stage,
    );
    const handler = await API_HANDLERS[route.handler]();
    const context = lambdaContext(
      `vaultpilot-local-${route.handler}`,
      API_TIMEOUTS.get(route.handler) ?? DEFAULT_TIMEOUT_SECONDS,
      options.region,
    );
    return fromLambda(await invoke(handler, event, context));
  } catch (error: unknown) {
    const answer = errorResponse(error, requestId, options, requestPath(request.url));
    // Refusals made here (429, 503, 404…) reach a browser only with the CORS headers the handler would add.
    return { ...answer, headers: { ...answer.headers, ...corsHeaders(headers.origin, options.corsOrigins) } };
  }
}

/** What node:http answers a request its parser refuses (its defaults, kept for everything but LIST). */
const PARSER_REFUSALS: Readonly<Record<string, string>> = {
  HPE_HEADER_OVERFLOW: 'HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n\r\n',
  ERR_HTTP_REQUEST_TIMEOUT: 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n',
};
const BAD_REQUEST = 'HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n';

/**
 * Vault's `LIST` request, from the bytes node:http's parser refused: its parser knows a fixed set
 * of methods and `LIST` is not one. Only a complete request in the refused packet is taken (a
 * LIST has no body, so it is one small packet); anything else is undefined.
 */
function listRequestFrom(rawPacket: unknown, socket: Socket): IncomingMessage | undefined {
  if (!Buffer.isBuffer(rawPacket)) return undefined;
  const text = rawPacket.toString('latin1');
  if (!text.startsWith('LIST ')) return undefined;
  const headEnd = text.indexOf('\r\n\r\n');
  if (headEnd === -1) return undefined;
  const [requestLine = '', ...headerLines] = text.slice(0, headEnd).split('\r\n');
  const line = /^LIST (\S+) HTTP\/1\.[01]$/.exec(requestLine);
  if (line?.[1] === undefined) return undefined;
  const rawHeaders: string[] = [];
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const header of headerLines) {
    const colon = header.indexOf(':');
    if (colon <= 0) return undefined;
    const name = header.slice(0, colon).trim();
    const value = header.slice(colon + 1).trim();
    rawHeaders.push(name, value);
    const key = name.toLowerCase();
    headers[key] = headers[key] === undefined ? value : `${headers[key]}, ${value}`;
  }
  const body = rawPacket.subarray(Buffer.byteLength(text.slice(0, headEnd + 4), 'latin1'));
  if (
    body.length !== Number(headers['content-length'] ?? '0') ||
    headers['transfer-encoding'] !== undefined
  ) {
    return undefined;
  }
  const request = Readable.from(body.length === 0 ? [] : [body]);
  return Object.assign(request, {
    method: 'LIST',
    url: line[1],
    headers,
    rawHeaders,
    socket,
  }) as unknown as IncomingMessage;
}

function rawResponse(answer: LocalHttpResponse): Buffer {
  const body = typeof answer.body === 'string' ? Buffer.from(answer.body, 'utf8') : Buffer.from(answer.body);
  const head = [
    `HTTP/1.1 ${answer.statusCode} ${STATUS_CODES[answer.statusCode] ?? ''}`,
    ...Object.entries(answer.headers).map(([name, value]) => `${name}: ${value}`),
    `Content-Length: ${body.length}`,
    'Connection: close',
  ];
  return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

export function createLocalApiServer(options: LocalApiOptions): Server {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const started = performance.now();
    void respond(request, options).then(
      (answer) => {
        response.writeHead(answer.statusCode, answer.headers);
        response.end(answer.body);
        options.onRequest?.({
          method: request.method ?? '',
          path: (request.url ?? '/').split('?', 1)[0] ?? '/',
          statusCode: answer.statusCode,
          ms: Math.round(performance.now() - started),
        });
      },
      (error: unknown) => {
        // respond() maps every error itself; this only guards against a broken socket.
        response.destroy(error instanceof Error ? error : undefined);
      },
    );
  });
  server.on('clientError', (error: Error & { code?: string; rawPacket?: unknown }, socket: Socket) => {
    const list = error.code === 'HPE_INVALID_METHOD' ? listRequestFrom(error.rawPacket, socket) : undefined;
    if (list === undefined) {
      if (socket.writable && socket.bytesWritten === 0)
        socket.write(PARSER_REFUSALS[error.code ?? ''] ?? BAD_REQUEST);
      socket.destroy(error);
      return;
    }
    const started = performance.now();
    void respond(list, options).then(
      (answer) => {
        socket.end(rawResponse(answer));
        options.onRequest?.({
          method: 'LIST',
          path: (list.url ?? '/').split('?', 1)[0] ?? '/',
          statusCode: answer.statusCode,
          ms: Math.round(performance.now() - started),
        });
      },
      () => socket.destroy(),
    );
  });
  return server;
}
