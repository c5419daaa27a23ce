/**
 * A problem with the local runtime's state or environment that the user can fix (a port in
 * use, an unreadable data dir, a corrupt key file). The start-up command prints the message
 * alone, never a stack trace, and exits non-zero.
 */
export class LocalStateError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LocalStateError';
  }
}
