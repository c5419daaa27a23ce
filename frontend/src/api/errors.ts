/** What can go wrong with an API call, in words a person can act on. */
import { ErrorBody } from '../../../lambdas/shared/contracts/common.js';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
    readonly requestId: string | undefined,
    readonly details?: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The network itself failed (offline, DNS, connection reset): worth retrying with backoff. */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
  constructor(options?: { cause?: unknown }) {
    super(
      'The VaultPilot API cannot be reached. Check your connection; the dashboard keeps retrying.',
      options,
    );
  }
}

/** The API answered 200 with a body that does not match the contract. */
export class UnexpectedResponseError extends Error {
  override readonly name = 'UnexpectedResponseError';
  constructor(
    readonly requestId: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(
      'The API answered in an unexpected shape. Reload the page; if it persists, report the request id.',
      options,
    );
  }
}

/** The session ended and could not be refreshed: the app sends the person to sign in. */
export class SignInRequiredError extends Error {
  override readonly name = 'SignInRequiredError';
  constructor() {
    super('Your session has ended. Signing you in again…');
  }
}

/**
 * Maps a failed response to an ApiError. `action` names what the person tried ("read this
 * secret"); a 403 says only that, never whether the object exists (the API answers 404 for
 * objects of another tenant for the same reason).
 */
export function errorFromResponse(
  status: number,
  body: unknown,
  headerRequestId: string | null,
  action: string,
): ApiError {
  const parsed = ErrorBody.safeParse(body);
  const requestId = parsed.success ? parsed.data.error.requestId : (headerRequestId ?? undefined);
  const code = parsed.success ? parsed.data.error.code : `HTTP_${status}`;
  const serverMessage = parsed.success ? parsed.data.error.message : undefined;
  const details = parsed.success ? parsed.data.error.details : undefined;
  return new ApiError(messageFor(status, action, serverMessage), status, code, requestId, details);
}

function messageFor(status: number, action: string, serverMessage: string | undefined): string {
  switch (status) {
    case 400:
      return `The request to ${action} was not accepted: ${serverMessage ?? 'invalid input'}.`;
    case 401:
      return 'Your session has ended. Please sign in again.';
    case 403:
      return `You are not allowed to ${action}.`;
    case 404:
      return `Not found: nothing here that you can ${action}.`;
    case 409:
      return `Could not ${action}: ${serverMessage ?? 'it changed in the meantime'}. Reload and try again.`;
    case 413:
      return `Could not ${action}: the request is too large.`;
    case 429:
      return `Too many requests while trying to ${action}. Retrying shortly…`;
    case 503:
      return `The service is briefly unavailable, so it could not ${action}. Retrying shortly…`;
    default:
      return status >= 500
        ? `Something went wrong on the server while trying to ${action}.`
        : `Could not ${action} (HTTP ${status}).`;
  }
}

/** Errors worth retrying automatically: the network, throttling and brief unavailability. */
export function isTransient(error: unknown): boolean {
  if (error instanceof NetworkError) return true;
  return error instanceof ApiError && [429, 502, 503, 504].includes(error.status);
}

/** The request id an error carries, for the person to quote. */
export function requestIdOf(error: unknown): string | undefined {
  if (error instanceof ApiError || error instanceof UnexpectedResponseError) return error.requestId;
  return undefined;
}

/** Field issues of a 400 (the zod issues the API returns in `details`). */
export function validationIssuesOf(error: unknown): { path: string; message: string }[] {
  if (!(error instanceof ApiError) || error.status !== 400) return [];
  // The API sends `details: {issues: [...]}`; a bare array is accepted too.
  const { details } = error;
  const issues: unknown =
    typeof details === 'object' && details !== null && 'issues' in details ? details.issues : details;
  if (!Array.isArray(issues)) return [];
  return issues.flatMap((issue: unknown) => {
    if (typeof issue !== 'object' || issue === null) return [];
    const { path, message } = issue as { path?: unknown; message?: unknown };
    return typeof message === 'string' ? [{ path: Array.isArray(path) ? path.join('.') : '', message }] : [];
  });
}
