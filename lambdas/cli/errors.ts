/**
 * The client's expected failures. Each prints as one line (no stack trace) and maps to an exit
 * code in main.ts: usage mistakes 2, everything else 1.
 */

/** A mistake in how the command was called: printed with a pointer to its help, exit 2. */
export class CliUsageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliUsageError';
  }
}

/** The server could not be reached at all (refused, unknown host, timed out). */
export class ServerUnreachableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ServerUnreachableError';
  }
}

/** The API answered with an error body: its status, code, message and request id. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId: string | undefined,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** No usable session for the profile: the user must sign in (again). */
export class NotSignedInError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NotSignedInError';
  }
}

/** A profile or token file that is missing, malformed or readable by others. */
export class ProfileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProfileError';
  }
}

/** A command that ran but did not succeed (a failed rotation, a broken audit chain, ...). */
export class CommandFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandFailedError';
  }
}

/** The request id the API (or API Gateway) put in its answer's headers. */
export function requestIdOf(
  headers: Readonly<Record<string, string | string[] | undefined>>,
): string | undefined {
  const value = headers['x-request-id'] ?? headers['x-amzn-requestid'];
  return typeof value === 'string' ? value : undefined;
}

/** The API's error body (`{"error":{code,message,requestId}}`) as an ApiError. */
export function apiErrorFrom(
  status: number,
  body: Record<string, unknown> | undefined,
  headers: Readonly<Record<string, string | string[] | undefined>>,
): ApiError {
  const error = body?.error;
  if (typeof error === 'object' && error !== null) {
    const fields = error as Record<string, unknown>;
    return new ApiError(
      status,
      typeof fields.code === 'string' ? fields.code : `http_${status}`,
      typeof fields.message === 'string' ? fields.message : `HTTP ${status}`,
      typeof fields.requestId === 'string' ? fields.requestId : requestIdOf(headers),
      fields.details,
    );
  }
  // API Gateway's own answers ({"message": "..."}) and anything else.
  const message = typeof body?.message === 'string' ? body.message : `HTTP ${status}`;
  return new ApiError(status, `http_${status}`, message, requestIdOf(headers));
}
