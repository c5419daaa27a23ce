/**
 * The reference receiver of the webhook rotation contract (docs/webhook-rotation.md), written
 * from the document with node:http and node:crypto only (it does not import VaultPilot's signing
 * code, so it checks that code independently). It keeps its tokens in memory: the "API" whose
 * tokens are rotated is `valid(token)`.
 *
 * It refuses a request whose signature does not verify or whose timestamp is more than five
 * minutes from its clock (401), and answers a repeated idempotency key with the answer it gave the
 * first time. Faults a test can switch on: `down` (503), `answerKey` (signs answers with another
 * key), `malformedToken`, `decline` (answers `ok: false` to a step), `delayMs` (slow answers).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const TOLERANCE_SECONDS = 300;

type TokenStatus = 'pending' | 'active' | 'inactive' | 'deleted';

interface Request {
  readonly step: string;
  readonly rotationId: string;
  readonly tokenId?: string | null;
  readonly previousTokenId?: string | null;
  readonly currentTokenId?: string | null;
  readonly createIdempotencyKey?: string;
  readonly phase?: string;
  readonly stage?: string;
}

function sign(key: string, message: string): string {
  return `v1=${createHmac('sha256', key).update(message, 'utf8').digest('hex')}`;
}

function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export class WebhookReceiver {
  readonly tokens = new Map<string, { token: string; status: TokenStatus }>();
  /** Every request: its step (or `refused` for a bad signature) and idempotency key. */
  readonly requests: { step: string; key: string; status: number }[] = [];
  down = false;
  answerKey: string | undefined;
  malformedToken = false;
  /** The expiry `create` names for the token it mints (none unless set). */
  expiresAt: string | undefined = undefined;
  readonly decline = new Set<string>();
  delayMs = 0;
  private readonly answers = new Map<string, string>();
  private readonly created = new Map<string, string>();
  private server: Server | undefined;
  url = '';

  constructor(
    private readonly signingKey: string,
    /** Seconds since the epoch, as the receiver's clock reads them. */
    private readonly now: () => number = () => Math.floor(Date.now() / 1000),
  ) {}

  /** A token that works at the "API" now, as someone holding it would find. */
  valid(token: string | undefined): boolean {
    return [...this.tokens.values()].some((entry) => entry.token === token && entry.status === 'active');
  }

  /** Adds an active token (what the secret store holds before the first rotation). */
  issue(): { token: string; tokenId: string } {
    const tokenId = `tok_${randomBytes(6).toString('hex')}`;
    const token = `wh_${randomBytes(24).toString('base64url')}`;
    this.tokens.set(tokenId, { token, status: 'active' });
    return { token, tokenId };
  }

  statuses(): Record<string, TokenStatus> {
    return Object.fromEntries([...this.tokens].map(([id, entry]) => [id, entry.status]));
  }

  async start(): Promise<string> {
    this.server = createServer((request, response) => {
      void this.handle(request, response);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/rotate`;
    return this.url;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const timestamp = String(request.headers['vaultpilot-timestamp'] ?? '');
    const signature = String(request.headers['vaultpilot-signature'] ?? '');
    const key = String(request.headers['idempotency-key'] ?? '');
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (this.down) return this.reply(response, 503, 'down', key, '{"ok":false}', timestamp);
    const fresh =
      /^\d{1,12}$/.test(timestamp) && Math.abs(this.now() - Number(timestamp)) <= TOLERANCE_SECONDS;
    if (!fresh || key === '' || !same(signature, sign(this.signingKey, `${timestamp}.${body}`))) {
      // No signed answer: the caller is not who it claims to be.
      this.requests.push({ step: 'refused', key, status: 401 });
      response.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"bad signature"}');
      return;
    }
    const parsed = JSON.parse(body) as Request;
    const answer = this.answers.get(key) ?? this.answer(parsed, key);
    this.answers.set(key, answer);
    this.reply(response, 200, parsed.step, key, answer, timestamp);
  }

  private reply(
    response: ServerResponse,
    status: number,
    step: string,
    key: string,
    body: string,
    timestamp: string,
  ): void {
    this.requests.push({ step, key, status });
    response
      .writeHead(status, {
        'content-type': 'application/json',
        'vaultpilot-signature': sign(this.answerKey ?? this.signingKey, `${timestamp}.${key}.${body}`),
      })
      .end(body);
  }

  private setStatus(tokenId: string | null | undefined, status: TokenStatus): void {
    const entry = tokenId === null || tokenId === undefined ? undefined : this.tokens.get(tokenId);
    if (entry !== undefined) entry.status = status;
  }

  private answer(request: Request, key: string): string {
    if (this.decline.has(request.step)) {
      return JSON.stringify({ ok: false, reason: `${request.step} declined by the test` });
    }
    switch (request.step) {
      case 'create': {
        if (this.malformedToken) return JSON.stringify({ ok: true, token: 'has spaces in it', tokenId: 'x' });
        const { token, tokenId } = this.issue();
        this.setStatus(tokenId, 'pending');
        this.created.set(key, tokenId);
        return JSON.stringify({
          ok: true,
          token,
          tokenId,
          ...(this.expiresAt === undefined ? {} : { expiresAt: this.expiresAt }),
        });
      }
      case 'set':
        this.setStatus(request.tokenId, 'active');
        return '{"ok":true}';
      case 'test': {
        const entry = request.tokenId ? this.tokens.get(request.tokenId) : undefined;
        return entry?.status === 'active' ? '{"ok":true}' : '{"ok":false,"reason":"token not active"}';
      }
      case 'finish':
        return '{"ok":true}';
      case 'retire':
        this.setStatus(request.tokenId, request.phase === 'delete' ? 'deleted' : 'inactive');
        return '{"ok":true}';
      case 'rollback':
        if (request.stage === 'discard') {
          // The token this rotation's create made, even if VaultPilot lost the answer.
          const made = request.tokenId ?? this.created.get(request.createIdempotencyKey ?? '');
          this.setStatus(made, 'deleted');
        } else {
          this.setStatus(request.previousTokenId, 'active');
          this.setStatus(request.tokenId, 'inactive');
        }
        return '{"ok":true}';
      default:
        return '{"ok":false,"reason":"unknown step"}';
    }
  }
}
