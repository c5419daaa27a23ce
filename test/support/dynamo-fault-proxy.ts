/**
 * A loopback HTTP proxy in front of dynalite that injects DynamoDB faults as the real service
 * answers them (JSON 1.0 protocol: `X-Amz-Target: DynamoDB_20120810.<Operation>`, the table in
 * the body's `TableName`), and counts every request it sees. Used by the reliability suite to
 * put the local runtime's storage under a missing table, throttling and internal errors.
 */
import { createHash } from 'node:crypto';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { seededRandom } from './seeded-random.js';

export type DynamoFaultKind =
  | 'ResourceNotFoundException'
  | 'ProvisionedThroughputExceededException'
  | 'ThrottlingException'
  | 'InternalServerError';

export interface DynamoFault {
  readonly kind: DynamoFaultKind;
  /** Physical table names the fault applies to; every table when absent. */
  readonly tables?: readonly string[];
  /** Operations (`GetItem`, `PutItem`, …) it applies to; every operation when absent. */
  readonly operations?: readonly string[];
  /** Share of matching requests that fail, 0..1 (drawn from the fault's own seeded generator). */
  readonly rate: number;
  /**
   * Only requests whose body contains this text (e.g. a tenant's name, which starts every key):
   * faults for several tenants can run side by side, each on its own tenant's requests.
   */
  readonly marker?: string;
}

interface ActiveFault {
  readonly fault: DynamoFault;
  readonly random: () => number;
}

export interface ProxiedRequest {
  readonly operation: string;
  /** The table named in `TableName`, or the first of a batch's `RequestItems`. */
  readonly table: string | undefined;
  /** SHA-256 of the body: a retry of one call sends the same body again. */
  readonly bodyHash: string;
  readonly fault: DynamoFaultKind | undefined;
  /** The SDK's id of one call (`amz-sdk-invocation-id`), the same on each of its retries. */
  readonly invocationId: string;
  /** The request body (keys and ciphertext, never plaintext), to tell tenants apart. */
  readonly body: string;
  /**
   * Set when forwarding to dynalite failed (the connection broke): the client saw a failure the
   * proxy did not inject, which a test must count as a fault met, not as a healthy call.
   */
  upstreamFailed?: boolean;
}

/** The error answers, with the status and `__type` DynamoDB sends (AWS API reference, Errors). */
const FAULT_ANSWERS: Readonly<Record<DynamoFaultKind, { status: number; type: string; message: string }>> = {
  ResourceNotFoundException: {
    status: 400,
    type: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException',
    message: 'Requested resource not found',
  },
  ProvisionedThroughputExceededException: {
    status: 400,
    type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    message:
      'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
  },
  ThrottlingException: {
    status: 400,
    type: 'com.amazon.coral.availability#ThrottlingException',
    message: 'Rate of requests exceeds the allowed throughput.',
  },
  InternalServerError: {
    status: 500,
    type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
    message: 'Internal server error',
  },
};

/** A request held by the proxy until the test releases it (see `hold`). */
export interface HeldRequest {
  /** Settles once a request with the marker has arrived and is being held. */
  readonly reached: Promise<void>;
  /** Lets the held request (or, before one arrives, the next one) through. */
  release(): void;
}

interface PendingHold {
  readonly marker: string;
  readonly reached: () => void;
  readonly released: Promise<void>;
}

export class DynamoFaultProxy {
  private faults: ActiveFault[] = [];
  private log: ProxiedRequest[] = [];
  private holds: PendingHold[] = [];

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
    private readonly seed: number,
    private readonly agent: Agent,
  ) {}

  /** Starts the proxy on a free loopback port, forwarding to `target` (dynalite's endpoint). */
  static async start(target: string, seed: number): Promise<DynamoFaultProxy> {
    const upstream = new URL(target);
    // The server's handler needs the proxy, which needs the server's port: filled in below.
    const created: { proxy?: DynamoFaultProxy } = {};
    // A fresh connection per forwarded request: a kept-alive socket that dynalite closed meanwhile
    // would break a request the proxy meant to pass through.
    const agent = new Agent({ keepAlive: false });
    const server = createServer((incoming, outgoing) => {
      void readAll(incoming).then(async (body) => {
        const entry = created.proxy?.decide(incoming, body);
        await created.proxy?.untilReleased(body);
        const answer = entry?.fault;
        if (answer !== undefined) {
          const fault = FAULT_ANSWERS[answer];
          const payload = JSON.stringify({ __type: fault.type, message: fault.message });
          outgoing.writeHead(fault.status, {
            'content-type': 'application/x-amz-json-1.0',
            'x-amzn-requestid': `fault-${Date.now()}`,
            'content-length': Buffer.byteLength(payload),
          });
          outgoing.end(payload);
          return;
        }
        const forward = httpRequest(
          {
            host: upstream.hostname,
            port: upstream.port,
            method: incoming.method,
            path: incoming.url,
            headers: incoming.headers,
            agent,
          },
          (response) => {
            outgoing.writeHead(response.statusCode ?? 502, response.headers);
            response.pipe(outgoing);
          },
        );
        forward.on('error', () => {
          if (entry !== undefined) entry.upstreamFailed = true;
          outgoing.destroy();
        });
        forward.end(body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const proxy = new DynamoFaultProxy(server, `http://127.0.0.1:${port}`, seed, agent);
    created.proxy = proxy;
    return proxy;
  }

  /** Replaces the active faults (none: every request passes through). */
  inject(faults: readonly DynamoFault[]): void {
    this.faults = faults.map((fault) => this.activate(fault));
  }

  /** Adds faults beside the active ones; the returned function removes them again. */
  add(faults: readonly DynamoFault[]): () => void {
    const added = faults.map((fault) => this.activate(fault));
    this.faults.push(...added);
    return () => {
      this.faults = this.faults.filter((active) => !added.includes(active));
    };
  }

  clear(): void {
    this.faults = [];
  }

  /**
   * Holds the next request whose body contains `marker` (a key, a secret path) until `release`:
   * a test keeps one caller waiting on storage at a known point while others run.
   */
  hold(marker: string): HeldRequest {
    let reached = (): void => undefined;
    let release = (): void => undefined;
    const arrival = new Promise<void>((resolve) => (reached = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.holds.push({ marker, reached, released });
    return { reached: arrival, release };
  }

  /** Waits while the request is the one a hold is for; every other request passes at once. */
  private untilReleased(body: Buffer): Promise<void> {
    const text = body.toString('utf8');
    const index = this.holds.findIndex((pending) => text.includes(pending.marker));
    const [pending] = index === -1 ? [] : this.holds.splice(index, 1);
    if (pending === undefined) return Promise.resolve();
    pending.reached();
    return pending.released;
  }

  /** Requests seen since the last `resetLog`, in order. */
  requests(): readonly ProxiedRequest[] {
    return this.log;
  }

  /** Each fault draws from a generator seeded by the run's seed and its marker, so what a tenant's requests meet does not depend on how other tenants' requests interleave. */
  private activate(fault: DynamoFault): ActiveFault {
    let mixed = this.seed;
    for (const char of fault.marker ?? '') mixed = (Math.imul(mixed, 31) + char.charCodeAt(0)) >>> 0;
    return { fault, random: seededRandom(mixed) };
  }

  resetLog(): void {
    this.log = [];
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    this.agent.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private decide(incoming: IncomingMessage, body: Buffer): ProxiedRequest {
    const target = String(incoming.headers['x-amz-target'] ?? '');
    const operation = target.slice(target.indexOf('.') + 1);
    let tables: string[] = [];
    try {
      const parsed = JSON.parse(body.toString('utf8')) as { TableName?: unknown; RequestItems?: unknown };
      if (typeof parsed.TableName === 'string') tables = [parsed.TableName];
      else if (typeof parsed.RequestItems === 'object' && parsed.RequestItems !== null)
        tables = Object.keys(parsed.RequestItems);
    } catch {
      tables = [];
    }
    const table = tables[0];
    const text = body.toString('utf8');
    const matching = this.faults.find(
      ({ fault }) =>
        (fault.tables === undefined || tables.some((name) => fault.tables?.includes(name) === true)) &&
        (fault.operations === undefined || fault.operations.includes(operation)) &&
        (fault.marker === undefined || text.includes(fault.marker)),
    );
    // Draw only for matching requests, so the sequence of outcomes depends on the seed alone.
    const fault =
      matching !== undefined && matching.random() < matching.fault.rate ? matching.fault.kind : undefined;
    const hash = createHash('sha256').update(body).digest('hex');
    const entry: ProxiedRequest = {
      operation,
      table,
      bodyHash: hash,
      fault,
      // Without the header (another client), the body stands in: a retry sends it unchanged.
      invocationId: String(incoming.headers['amz-sdk-invocation-id'] ?? `body-${hash}`),
      body: text,
    };
    this.log.push(entry);
    return entry;
  }
}

function readAll(incoming: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => resolve(Buffer.concat(chunks)));
    incoming.on('error', reject);
  });
}
