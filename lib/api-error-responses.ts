/**
 * Responses API Gateway produces itself (authorizer refusals, throttling, WAF blocks, unknown
 * paths, integration failures) carry the same security headers and the same JSON error body as
 * the handlers' responses: `{"error":{"code","message","requestId"}}`.
 */
import { ResponseType, type RestApiBase } from 'aws-cdk-lib/aws-apigateway';
import { SECURITY_HEADERS } from '../lambdas/shared/http-headers.js';

/**
 * The handlers' security headers as API Gateway static values. A static value is written in
 * single quotes and cannot contain one, so the handlers' CSP (`default-src 'none'`) cannot be
 * expressed; `sandbox` (no quotes) denies an error document scripts, forms and plugins instead.
 */
export function gatewayResponseHeaders(allowedOrigin: string): Record<string, string> {
  const headers: Record<string, string> = {
    ...SECURITY_HEADERS,
    'Content-Security-Policy': 'sandbox',
    // One static origin is possible here: the dashboard's, so it can read a refusal's body.
    'Access-Control-Allow-Origin': allowedOrigin,
    Vary: 'Origin',
  };
  for (const [name, value] of Object.entries(headers)) {
    if (value.includes("'")) throw new Error(`Header ${name} cannot be a gateway response value: ${value}`);
  }
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, `'${value}'`]));
}

interface ErrorResponse {
  readonly type: ResponseType;
  /** Status to answer with; the type's own status when absent. */
  readonly statusCode?: string;
  /** The `code` of the error body, as the handlers' error mapper names it. */
  readonly code: string;
  readonly extraHeaders?: Readonly<Record<string, string>>;
}

const ERROR_RESPONSES: readonly ErrorResponse[] = [
  { type: ResponseType.UNAUTHORIZED, code: 'Unauthorized', extraHeaders: { 'WWW-Authenticate': 'Bearer' } },
  { type: ResponseType.ACCESS_DENIED, code: 'Forbidden' },
  // API Gateway answers an unknown path with 403 "Missing Authentication Token"; the local
  // runtime and the handlers say 404, and so does this.
  { type: ResponseType.MISSING_AUTHENTICATION_TOKEN, statusCode: '404', code: 'NotFound' },
  { type: ResponseType.BAD_REQUEST_PARAMETERS, code: 'ValidationError' },
  { type: ResponseType.BAD_REQUEST_BODY, code: 'ValidationError' },
  { type: ResponseType.REQUEST_TOO_LARGE, code: 'PayloadTooLarge' },
  { type: ResponseType.WAF_FILTERED, code: 'Forbidden' },
  { type: ResponseType.THROTTLED, code: 'TooManyRequests', extraHeaders: { 'Retry-After': '1' } },
  { type: ResponseType.QUOTA_EXCEEDED, code: 'TooManyRequests', extraHeaders: { 'Retry-After': '60' } },
  { type: ResponseType.DEFAULT_4XX, code: 'ClientError' },
  { type: ResponseType.DEFAULT_5XX, code: 'InternalError' },
];

function errorBodyTemplate(code: string): string {
  // $context.error.messageString is already a quoted JSON string.
  return `{"error":{"code":"${code}","message":$context.error.messageString,"requestId":"$context.requestId"}}`;
}

export function addErrorResponses(api: RestApiBase, allowedOrigin: string): void {
  const headers = gatewayResponseHeaders(allowedOrigin);
  for (const response of ERROR_RESPONSES) {
    api.addGatewayResponse(`${response.type.responseType}Response`, {
      type: response.type,
      ...(response.statusCode !== undefined ? { statusCode: response.statusCode } : {}),
      responseHeaders: {
        ...headers,
        ...Object.fromEntries(
          Object.entries(response.extraHeaders ?? {}).map(([name, value]) => [name, `'${value}'`]),
        ),
      },
      templates: { 'application/json': errorBodyTemplate(response.code) },
    });
  }
}
