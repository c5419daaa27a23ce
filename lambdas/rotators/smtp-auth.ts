/**
 * SMTP AUTH over STARTTLS with nodemailer: connects, upgrades with STARTTLS (required: a server
 * that does not offer it is refused before any password is sent), authenticates, and quits
 * without sending mail. Only the outcome leaves this module, never the server's text.
 */
import type nodemailer from 'nodemailer';

type Nodemailer = typeof nodemailer;

let loaded: Promise<Nodemailer> | undefined;

/**
 * nodemailer is loaded on the first check, not with the module: it costs the rotation worker
 * about 20 ms of CPU at cold start, and most of its batches hold no SES SMTP rotation.
 */
function loadNodemailer(): Promise<Nodemailer> {
  return (loaded ??= import('nodemailer').then((module) => module.default));
}

export interface SmtpLogin {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
}

/** `refused`: the server answered the login with an authentication failure (535 …). */
export type SmtpAuthOutcome = 'accepted' | 'refused';

/** Checks a login; throws `SmtpUnreachableError` when the server cannot be asked. */
export type SmtpAuthCheck = (login: SmtpLogin) => Promise<SmtpAuthOutcome>;

export class SmtpUnreachableError extends Error {
  override readonly name = 'SmtpUnreachableError';
  constructor(
    /** nodemailer's error code (ECONNECTION, ETIMEDOUT, ETLS, …), never the server's text. */
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(`SMTP server unavailable (${code})`, options);
  }
}

export interface SmtpAuthOptions {
  /** Extra trusted certificates (PEM), for a private server; the system's CAs apply otherwise. */
  readonly ca?: string | undefined;
  readonly timeoutMs?: number | undefined;
}

export function smtpAuthCheck(options: SmtpAuthOptions = {}): SmtpAuthCheck {
  const timeout = options.timeoutMs ?? 10_000;
  return async (login) => {
    const mailer = await loadNodemailer();
    const transport = mailer.createTransport({
      host: login.host,
      port: login.port,
      // Implicit TLS on 465 (SES's 465 and 2465); STARTTLS, required, everywhere else.
      secure: login.port === 465 || login.port === 2465,
      requireTLS: true,
      auth: { user: login.username, pass: login.password },
      tls: { minVersion: 'TLSv1.2', ...(options.ca === undefined ? {} : { ca: options.ca }) },
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
      logger: false,
      debug: false,
    });
    try {
      await transport.verify();
      return 'accepted';
    } catch (error: unknown) {
      const code = (error as { code?: unknown }).code;
      const status = (error as { responseCode?: unknown }).responseCode;
      if (code === 'EAUTH' && (status === 535 || status === 534 || status === 530)) {
        return 'refused';
      }
      throw new SmtpUnreachableError(typeof code === 'string' ? code : 'UnknownError', { cause: error });
    } finally {
      transport.close();
    }
  };
}
