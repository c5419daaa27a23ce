/**
 * Headers on every API response. The API serves JSON to scripts and to the dashboard on
 * another origin, so: no caching of anything by intermediaries, no framing, no sniffing, and
 * CORS only for configured origins (never `*`, since responses can carry secret values).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Strict-Transport-Security': 'max-age=63072000; includeSubDomains; preload',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'Cross-Origin-Resource-Policy': 'same-site',
};

export const CORS_ALLOWED_HEADERS = 'Authorization,Content-Type,X-Correlation-Id,X-Request-Id';
export const CORS_ALLOWED_METHODS = 'GET,POST,PUT,PATCH,DELETE,OPTIONS';

/** CORS response headers for a request from `origin`, if that origin is allowed. */
export function corsHeaders(
  origin: string | undefined,
  allowedOrigins: readonly string[],
): Record<string, string> {
  if (origin === undefined || !allowedOrigins.includes(origin)) return { Vary: 'Origin' };
  return {
    'Access-Control-Allow-Origin': origin,
    'Access-Control-Expose-Headers': 'X-Request-Id,Retry-After',
    Vary: 'Origin',
  };
}

/** Finds a header case-insensitively (API Gateway passes them as the client sent them). */
export function headerValue(
  headers: Readonly<Record<string, string | undefined>> | null | undefined,
  name: string,
): string | undefined {
  if (headers === null || headers === undefined) return undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted) return value;
  }
  return undefined;
}
