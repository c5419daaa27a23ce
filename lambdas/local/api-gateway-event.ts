/**
 * Turns a node:http request into the API Gateway REST (v1) proxy event that the Lambda proxy
 * integration delivers, so the local runtime can call the very same handlers.
 */
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import type { RouteSpec } from '../shared/routes.js';

export interface IncomingHttpRequest {
  readonly method: string;
  /** The raw path, still URL-encoded, without the query string. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** Header names as the client sent them (API Gateway preserves case). */
  readonly rawHeaders: readonly string[];
  readonly body: string;
  readonly sourceIp: string;
}

function headerMaps(rawHeaders: readonly string[]): {
  headers: Record<string, string>;
  multiValueHeaders: Record<string, string[]>;
} {
  // Null-prototype maps: a client's `__proto__` or `constructor` is plain data, as in API Gateway.
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  const multiValueHeaders: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] ?? '';
    const value = rawHeaders[i + 1] ?? '';
    headers[name] = value;
    (multiValueHeaders[name] ??= []).push(value);
  }
  return { headers, multiValueHeaders };
}

function queryMaps(query: URLSearchParams): {
  single: Record<string, string> | null;
  multi: Record<string, string[]> | null;
} {
  // Null-prototype maps, so `?__proto__=x` is a parameter named `__proto__`, never the prototype.
  const single: Record<string, string> = Object.create(null) as Record<string, string>;
  const multi: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const [key, value] of query) {
    single[key] = value;
    (multi[key] ??= []).push(value);
  }
  return Object.keys(single).length === 0 ? { single: null, multi: null } : { single, multi };
}

export function apiGatewayEvent(
  request: IncomingHttpRequest,
  route: RouteSpec,
  pathParameters: Record<string, string> | null,
  stage: string,
): APIGatewayProxyEvent {
  const { headers, multiValueHeaders } = headerMaps(request.rawHeaders);
  const query = queryMaps(request.query);
  const userAgent =
    Object.entries(headers).find(([name]) => name.toLowerCase() === 'user-agent')?.[1] ?? null;
  const now = new Date();
  const requestId = randomUUID();
  return {
    resource: route.path,
    path: request.path,
    httpMethod: request.method,
    headers,
    multiValueHeaders,
    queryStringParameters: query.single,
    multiValueQueryStringParameters: query.multi,
    pathParameters,
    stageVariables: null,
    body: request.body.length === 0 ? null : request.body,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      domainName: headers.Host ?? headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      extendedRequestId: requestId,
      httpMethod: request.method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: null,
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: request.sourceIp,
        user: null,
        userAgent,
        userArn: null,
      },
      path: `/${stage}${request.path}`,
      protocol: 'HTTP/1.1',
      requestId,
      requestTime: now.toUTCString(),
      requestTimeEpoch: now.getTime(),
      resourceId: route.operationId,
      resourcePath: route.path,
      stage,
      // Set on every method by CDK from the route table; read by the handler's router.
      operationName: route.operationId,
    } as APIGatewayProxyEvent['requestContext'],
  };
}
