/**
 * Real receivers for notifier tests: an SMTP server (npm `smtp-server`) that keeps every message,
 * and an HTTP server standing in for Slack and webhooks whose answer per path the test chooses.
 * Both listen on port 0 of the loopback interface.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface ReceivedMail {
  readonly to: readonly string[];
  readonly raw: string;
  readonly eventId: string | undefined;
}

export interface SmtpReceiver {
  readonly url: string;
  readonly mails: ReceivedMail[];
  close(): Promise<void>;
}

export async function startSmtpReceiver(): Promise<SmtpReceiver> {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    maxClients: 100,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        mails.push({
          to: session.envelope.rcptTo.map((address) => address.address),
          raw,
          eventId: /^X-VaultPilot-Event-Id: (.+)$/im.exec(raw)?.[1]?.trim(),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface ReceivedRequest {
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export type Answer = {
  readonly status: number;
  readonly body?: string;
  readonly headers?: Record<string, string>;
};

export interface HttpReceiver {
  readonly origin: string;
  readonly requests: ReceivedRequest[];
  /** Answers for a path: a function of the request (or a promise, to hold a request open). */
  on(path: string, answer: (request: ReceivedRequest) => Answer | Promise<Answer>): void;
  close(): Promise<void>;
}

export async function startHttpReceiver(): Promise<HttpReceiver> {
  const requests: ReceivedRequest[] = [];
  const answers = new Map<string, (request: ReceivedRequest) => Answer | Promise<Answer>>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = {
        path: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(request);
      const answer = answers.get(request.path) ?? ((): Answer => ({ status: 404, body: 'no route' }));
      void Promise.resolve(answer(request)).then((chosen) => {
        res.writeHead(chosen.status, { 'content-type': 'text/plain', ...chosen.headers });
        res.end(chosen.body ?? '');
      });
    });
  });
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    on: (path, answer) => answers.set(path, answer),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A receiver that accepts every message to `/slack` (Slack's `ok`) and `/hook` (a 200): where
 * suites point channels they do not test, so no alert to them is retried in the background.
 */
export async function startAcceptingReceiver(): Promise<HttpReceiver> {
  const receiver = await startHttpReceiver();
  receiver.on('/slack', () => ({ status: 200, body: 'ok' }));
  receiver.on('/hook', () => ({ status: 200 }));
  return receiver;
}
