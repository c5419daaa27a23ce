/**
 * The client's expected failures. Each prints as one line (no stack trace) and maps to an exit
 * code in main.ts (EXIT_* in command.ts): usage mistakes 2, everything else 1.
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

/**
 * The server answered something that is not what the API answers: not JSON (an HTML page from a
 * proxy, a truncated body), or JSON of the wrong shape (another service at that address, a
 * deployment of another version). The message names the request and what was wrong, never a
 * value from the answer: a secret may be in it.
 */
export class MalformedAnswerError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MalformedAnswerError';
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
  return typeof value === 'string' ? printable(value, 128) : undefined;
}

/** The media type of a content-type header, fit for a message (no parameters, bounded). */
export function mediaType(header: string | string[] | undefined): string {
  const value = (Array.isArray(header) ? header[0] : header) ?? '';
  const type = (value.split(';', 1)[0] ?? '').trim().toLowerCase();
  return /^[a-z0-9!#$&^_.+-]{1,64}\/[a-z0-9!#$&^_.+-]{1,64}$/.test(type) ? type : 'none';
}

/**
 * A message of the server, fit for one line on a terminal: control characters (escape sequences,
 * new lines) replaced, bounded in length.
 */
export function printable(text: string, max = 300): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is replaced
  const line = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
  return line.length > max ? `${line.slice(0, max)}…` : line;
}
