/**
 * A real SMTP server (npm `smtp-server`) standing in for the SES SMTP interface: STARTTLS with a
 * self-signed certificate made by openssl for 127.0.0.1, AUTH only after STARTTLS (smtp-server
 * refuses AUTH on a plain connection unless told otherwise), and a login accepted only when the
 * user name is an active key of the fake IAM and the password is that key's SES SMTP password for
 * one of the server's regions — computed by the independent Python script
 * (test/unit/fixtures/ses-smtp-passwords.py), not by the implementation under test. A new key is
 * refused for its first `propagationLogins` logins, like SES while IAM propagates it.
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { SMTPServer } from 'smtp-server';

const SCRIPT = new URL('../unit/fixtures/ses-smtp-passwords.py', import.meta.url).pathname;

/** Answers SES SMTP passwords from the Python script, one request at a time. */
class PythonPasswords {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: Interface;
  private readonly waiting: ((line: string) => void)[] = [];
  private queue: Promise<unknown> = Promise.resolve();

  constructor() {
    this.child = spawn('python3', [SCRIPT, '--stdin'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.lines = createInterface({ input: this.child.stdout });
    this.lines.on('line', (line) => this.waiting.shift()?.(line));
  }

  password(secretAccessKey: string, region: string): Promise<string> {
    const next = this.queue.then(
      () =>
        new Promise<string>((resolve) => {
          this.waiting.push(resolve);
          this.child.stdin.write(`${JSON.stringify({ secretAccessKey, region })}\n`);
        }),
    );
    this.queue = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.lines.close();
    this.child.kill();
  }
}

export interface SmtpLoginRecord {
  readonly username: string;
  /** The region whose password it was; undefined when refused. */
  readonly region: string | undefined;
  readonly secure: boolean;
}

export class SesSmtpServer {
  readonly logins: SmtpLoginRecord[] = [];
  /** Refusals left per key id before the server knows a new key. */
  propagationLogins = 0;
  /** Refuse every login (SES refusing the user: no ses:SendRawEmail, sandbox …). */
  refuseAll = false;
  private readonly seen = new Map<string, number>();

  private constructor(
    private readonly server: SMTPServer,
    private readonly python: PythonPasswords,
    private readonly dir: string,
    readonly port: number,
    /** The certificate (PEM) a client must trust. */
    readonly ca: string,
  ) {}

  static async start(regions: readonly string[], port = 0): Promise<SesSmtpServer> {
    const dir = mkdtempSync(join(tmpdir(), 'vp-smtp-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '2',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { stdio: 'ignore' },
    );
    const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const python = new PythonPasswords();
    // onAuth needs the instance, which exists only once the server listens.
    const holder: { self?: SesSmtpServer } = {};
    const server = new SMTPServer({
      secure: false,
      key: readFileSync(join(dir, 'key.pem')),
      cert,
      authMethods: ['PLAIN', 'LOGIN'],
      disabledCommands: [],
      logger: false,
      onAuth(auth, session, callback) {
        const check = holder.self?.check(
          auth.username ?? '',
          auth.password ?? '',
          regions,
          session.secure === true,
        );
        (check ?? Promise.resolve(false)).then(
          (ok) =>
            callback(
              ok ? null : new Error('Authentication Credentials Invalid'),
              ok ? { user: auth.username } : undefined,
            ),
          (error: unknown) => callback(error instanceof Error ? error : new Error('check failed')),
        );
      },
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    const bound = (server.server.address() as AddressInfo).port;
    holder.self = new SesSmtpServer(server, python, dir, bound, cert);
    return holder.self;
  }

  private async check(
    username: string,
    password: string,
    regions: readonly string[],
    secure: boolean,
  ): Promise<boolean> {
    const key = this.iamKeys().find((candidate) => candidate.accessKeyId === username);
    let region: string | undefined;
    if (key !== undefined && key.status === 'Active' && !this.refuseAll) {
      for (const candidate of regions) {
        if ((await this.python.password(key.secretAccessKey, candidate)) === password) region = candidate;
      }
    }
    const refusalsLeft = this.seen.get(username) ?? this.propagationLogins;
    if (region !== undefined && refusalsLeft > 0) {
      this.seen.set(username, refusalsLeft - 1);
      region = undefined;
    }
    this.logins.push({ username, region, secure });
    return region !== undefined;
  }

  /** Set by the test: the fake IAM whose keys the server knows. */
  iamKeys: () => readonly { accessKeyId: string; secretAccessKey: string; status: string }[] = () => [];

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.python.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
