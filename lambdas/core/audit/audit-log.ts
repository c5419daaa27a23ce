/**
 * The audit log as auditors reach it (`/audit` routes): query, verify, export, HMAC lookup,
 * digests, the public key and the retention setting. Auditors and admins (machine clients with
 * the `audit` or `admin` scope) may read; only admins change settings. Everything stays inside
 * the caller's tenant: naming another tenant answers 404, like a missing object. Every call is
 * itself audited, fail-closed, as the secret operations are (DESIGN.md, Audit).
 */
import { audited, failureCode } from './audited.js';
import { createPublicKey } from 'node:crypto';
import type { AuditAction, AuditOutcome, AuditTarget } from './audit-event.js';
import { type Caller, callerAuditEvent } from './caller.js';
import type { AuditSink } from './audit-sink.js';
import {
  type AuditDigest,
  AuditDigestSchema,
  type DigestSigner,
  publicKeyFingerprint,
} from './audit-digest.js';
import type { AuditDigestService, DigestRun } from './audit-digests.js';
import { expandChainEntry } from './audit-chain.js';
import { ChainTail, chainTailProblem } from './chain-tail.js';
import {
  csvEntryLine,
  csvHeaderLine,
  digestLine,
  entryLine,
  EXPORT_FORMAT,
  HASH_DESCRIPTION,
  ndjsonLine,
} from './audit-export.js';
import type {
  AuditChainStore,
  AuditEventQuery,
  AuditQueryFilter,
  AuditQueryPage,
  AuditQueryResult,
  AuditSettings,
  AuditSettingsStore,
} from './audit-store.js';
import { AuditChainVerifier, type VerificationProblem, type VerificationResult } from './chain-verifier.js';
import type { AuditIdentifierHasher } from './identifier-hasher.js';
import { ForbiddenError, NotFoundError, PayloadTooLargeError } from '../errors.js';
import type { Clock } from '../ports.js';
import type { Principal } from '../principal.js';

const AUDIT_SCOPE = 'vaultpilot/audit';
/** Chain entries whose recorded events are compared in one read. */
const RECORDED_EVENT_BATCH = 100;
/** The shortest retention a tenant can set (a day): an event item younger than that cannot have expired. */
const MIN_RETENTION_SECONDS = 86_400;
const ADMIN_SCOPE = 'vaultpilot/admin';

type Access = 'read' | 'manage' | 'any';

function mayAccess(principal: Principal, access: Access): boolean {
  if (access === 'any') return true;
  if (principal.kind === 'machine') {
    return (
      principal.scopes.includes(ADMIN_SCOPE) || (access === 'read' && principal.scopes.includes(AUDIT_SCOPE))
    );
  }
  return principal.roles.includes('admin') || (access === 'read' && principal.roles.includes('auditor'));
}

export type ExportFormat = 'ndjson' | 'csv';

export interface ExportRequest {
  readonly format: ExportFormat;
  readonly fromSeq?: number | undefined;
  readonly toSeq?: number | undefined;
}

export interface AuditExport {
  readonly contentType: string;
  readonly fileName: string;
  readonly body: string;
}

export interface AuditLogOptions {
  /** The largest export one response may carry (API Gateway and Lambda cap responses); none if unset. */
  readonly maxExportBytes?: number | undefined;
}

export interface AuditLogPorts {
  readonly chain: AuditChainStore;
  readonly events: AuditEventQuery;
  readonly settings: AuditSettingsStore;
  readonly hasher: AuditIdentifierHasher;
  readonly signer: DigestSigner;
  readonly digests: AuditDigestService;
  readonly sink: AuditSink;
  readonly clock: Clock;
}

export class AuditLog {
  private readonly maxExportBytes: number | undefined;

  constructor(
    private readonly ports: AuditLogPorts,
    options: AuditLogOptions = {},
  ) {
    this.maxExportBytes = options.maxExportBytes;
  }

  query(
    caller: Caller,
    filter: AuditQueryFilter,
    page: AuditQueryPage,
    tenant?: string,
  ): Promise<AuditQueryResult> {
    return this.guard(caller, 'read', 'audit.query', {}, async () => {
      this.ownTenant(caller, tenant);
      return this.ports.events.query(caller.principal.tenant, filter, page);
    });
  }

  verify(caller: Caller, tenant?: string): Promise<VerificationResult> {
    return this.guard(caller, 'read', 'audit.verify', {}, async () => {
      this.ownTenant(caller, tenant);
      return this.verifyChain(caller.principal.tenant);
    });
  }

  /**
   * Verifies a tenant's stored chain against its stored digests (also used by the CLI), and the
   * recorded event items (what `GET /audit` answers from) against the chain's copies of them.
   */
  async verifyChain(tenant: string): Promise<VerificationResult> {
    const { chain, signer, clock } = this.ports;
    const now = Math.floor(clock.now().getTime() / 1000);
    const digests: unknown[] = [];
    for await (const digest of chain.digests(tenant)) digests.push(digest);
    const verifier = new AuditChainVerifier({
      tenant,
      digests,
      publicKey: createPublicKey(await signer.publicKeyPem()),
      now,
    });
    let recorded: VerificationProblem | undefined;
    let batch: Record<string, unknown>[] = [];
    const compare = async (): Promise<void> => {
      if (recorded === undefined && batch.length > 0) {
        recorded = await this.recordedEventProblem(tenant, batch, now);
      }
      batch = [];
    };
    const tail = new ChainTail();
    let unreadable: VerificationProblem | undefined;
    for await (const entry of chain.entries(tenant)) {
      verifier.push(entry);
      const fields = expandChainEntry(entry);
      // The verifier reads a body's frame only (ADR 0004, 5); this parse, needed here anyway for
      // the recorded events, also finds a body whose frame and hash are right but whose event is not JSON.
      if (unreadable === undefined && fields.event === undefined && typeof entry.seq === 'number') {
        unreadable = {
          seq: entry.seq,
          reason: 'modified',
          detail: `The event of entry ${entry.seq} cannot be read`,
        };
      }
      tail.add(fields);
      batch.push(fields);
      if (batch.length >= RECORDED_EVENT_BATCH) await compare();
    }
    await compare();
    const result = verifier.finish();
    const problem = earliest(recorded, unreadable, await chainTailProblem(chain, tenant, tail, now));
    if (problem === undefined || (result.firstBad !== null && result.firstBad.seq <= problem.seq))
      return result;
    // What is intact ends before the problem, though the chain's own links went on.
    const checked = Math.min(result.checked, problem.seq - (result.firstSeq ?? 1));
    return {
      ...result,
      ok: false,
      firstBad: problem,
      checked,
      firstSeq: checked > 0 ? result.firstSeq : undefined,
      lastSeq:
        checked > 0 && result.lastSeq !== undefined ? Math.min(result.lastSeq, problem.seq - 1) : undefined,
    };
  }

  /**
   * The first chained event whose recorded item was changed, or deleted before it could have
   * expired (no retention is shorter than a day, so a younger item cannot have).
   */
  private async recordedEventProblem(
    tenant: string,
    entries: readonly Record<string, unknown>[],
    now: number,
  ): Promise<VerificationProblem | undefined> {
    const statuses = await this.ports.chain.recordedEventStatus(
      tenant,
      entries.map((entry) => entry.event),
    );
    for (const entry of entries) {
      const event = entry.event as { time?: unknown; eventId?: unknown } | undefined;
      if (
        typeof entry.seq !== 'number' ||
        typeof event?.time !== 'string' ||
        typeof event.eventId !== 'string'
      ) {
        continue;
      }
      const status = statuses.get(`${event.time}#${event.eventId}`);
      if (status === 'differs') {
        return {
          seq: entry.seq,
          reason: 'modified',
          detail: `The recorded event of entry ${entry.seq} differs from the chain's copy`,
        };
      }
      if (status === 'absent' && Date.parse(event.time) / 1000 + MIN_RETENTION_SECONDS > now) {
        return {
          seq: entry.seq,
          reason: 'missing',
          detail: `The recorded event of entry ${entry.seq} is gone`,
        };
      }
    }
    return undefined;
  }

  export(caller: Caller, request: ExportRequest, tenant?: string): Promise<AuditExport> {
    return this.guard(caller, 'read', 'audit.export', {}, async () => {
      this.ownTenant(caller, tenant);
      return this.exportChain(caller.principal.tenant, request);
    });
  }

  /**
   * The export of a tenant's chain (also used by the CLI, without a size limit). An NDJSON export
   * of the whole chain first has the head signed (a digest, when anything is new), so cutting
   * entries off the end of the file is detectable too. A chain that is not intact gets no
   * digest, and is exported all the same: that is when it is needed most.
   */
  async exportChain(
    tenant: string,
    request: ExportRequest,
    maxBytes = this.maxExportBytes,
  ): Promise<AuditExport> {
    const { chain, signer, clock } = this.ports;
    if (request.format === 'ndjson' && request.toSeq === undefined) await this.ports.digests.run(tenant);
    const parts: string[] = [];
    let size = 0;
    const add = (line: string): void => {
      size += Buffer.byteLength(line, 'utf8');
      if (maxBytes !== undefined && size > maxBytes) {
        throw new PayloadTooLargeError(
          `The export exceeds ${maxBytes} bytes; export it in parts with fromSeq and toSeq`,
        );
      }
      parts.push(line);
    };
    const range = { fromSeq: request.fromSeq, toSeq: request.toSeq };
    const stamp = clock.now().toISOString().replaceAll(':', '-');
    if (request.format === 'csv') {
      add(csvHeaderLine());
      for await (const entry of chain.entries(tenant, range)) add(csvEntryLine(expandChainEntry(entry)));
      return {
        contentType: 'text/csv; charset=utf-8',
        fileName: `audit-${tenant}-${stamp}.csv`,
        body: parts.join(''),
      };
    }
    const publicKey = await signer.publicKeyPem();
    add(
      ndjsonLine({
        type: 'header',
        format: EXPORT_FORMAT,
        tenant,
        exportedAt: clock.now().toISOString(),
        fromSeq: request.fromSeq ?? null,
        toSeq: request.toSeq ?? null,
        hash: HASH_DESCRIPTION,
        signatureAlgorithm: signer.algorithm,
        publicKey,
        keyFingerprint: publicKeyFingerprint(publicKey),
      }),
    );
    // Digests that overlap the range, each written right after the entry it ends at.
    const digests: Record<string, unknown>[] = [];
    for await (const digest of chain.digests(tenant)) {
      const toSeq = typeof digest.toSeq === 'number' ? digest.toSeq : 0;
      const fromSeq = typeof digest.fromSeq === 'number' ? digest.fromSeq : 0;
      if (
        (request.fromSeq === undefined || toSeq >= request.fromSeq) &&
        (request.toSeq === undefined || fromSeq <= request.toSeq)
      ) {
        digests.push(digest);
      }
    }
    digests.sort((a, b) => Number(a.toSeq) - Number(b.toSeq));
    let next = 0;
    const flushDigestsThrough = (seq: number): void => {
      while (next < digests.length && Number(digests[next]?.toSeq) <= seq) {
        const digest = digests[next];
        if (digest !== undefined) add(digestLine(digest));
        next += 1;
      }
    };
    for await (const entry of chain.entries(tenant, range)) {
      add(entryLine(entry));
      if (typeof entry.seq === 'number') flushDigestsThrough(entry.seq);
    }
    flushDigestsThrough(Number.MAX_SAFE_INTEGER);
    return {
      contentType: 'application/x-ndjson',
      fileName: `audit-${tenant}-${stamp}.ndjson`,
      body: parts.join(''),
    };
  }

  /** The HMAC the tenant's events would hold for `value`; the event records the HMAC, never the value. */
  async hash(caller: Caller, value: string): Promise<string> {
    const { principal } = caller;
    if (!mayAccess(principal, 'read')) {
      await this.record(caller, 'audit.hash', {}, 'denied', 'Forbidden');
      throw new ForbiddenError('Permission denied');
    }
    let hmac: string;
    try {
      hmac = await this.ports.hasher.hmac(principal.tenant, value);
    } catch (error: unknown) {
      await this.record(caller, 'audit.hash', {}, 'failed', failureCode(error)).catch(() => undefined);
      throw error;
    }
    await this.record(caller, 'audit.hash', { hashed: { value: hmac } }, 'allowed');
    return hmac;
  }

  publicKey(caller: Caller): Promise<string> {
    return this.guard(caller, 'any', 'audit.publicKey.read', {}, () => this.ports.signer.publicKeyPem());
  }

  digestList(caller: Caller, tenant?: string): Promise<AuditDigest[]> {
    return this.guard(caller, 'read', 'audit.digest.list', {}, async () => {
      this.ownTenant(caller, tenant);
      const digests: AuditDigest[] = [];
      for await (const stored of this.ports.chain.digests(caller.principal.tenant)) {
        // A stored digest that is no longer one is the verifier's finding, not a list entry.
        const digest = AuditDigestSchema.safeParse(stored);
        if (digest.success) digests.push(digest.data);
      }
      return digests;
    });
  }

  /**
   * Signs a digest of the caller's chain now. When there is something to sign, the audit event of
   * the signing is recorded (and chained) before the digest is made, so the digest covers it.
   * At `deadline` the run signs the part it checked (`complete: false`, see AuditDigestService).
   */
  async signDigest(caller: Caller, deadline?: Date): Promise<DigestRun> {
    const { principal } = caller;
    if (!mayAccess(principal, 'read')) {
      await this.record(caller, 'audit.digest', {}, 'denied', 'Forbidden');
      throw new ForbiddenError('Permission denied');
    }
    let recorded = false;
    let run: DigestRun;
    try {
      run = await this.ports.digests.run(principal.tenant, {
        ownEvent: async () => {
          const event = callerAuditEvent(caller, this.ports.clock, {
            action: 'audit.digest',
            target: {},
            outcome: 'allowed',
          });
          await this.ports.sink.record(event);
          recorded = true;
          return event;
        },
        ...(deadline === undefined ? {} : { deadline }),
      });
    } catch (error: unknown) {
      await this.record(caller, 'audit.digest', {}, 'failed', failureCode(error)).catch(() => undefined);
      throw error;
    }
    if (!recorded) {
      await this.record(
        caller,
        'audit.digest',
        {},
        run.integrityProblem === undefined ? 'allowed' : 'failed',
        run.integrityProblem === undefined
          ? undefined
          : `AuditIntegrity: ${run.integrityProblem.reason} at seq ${run.integrityProblem.seq}`,
      );
    }
    return run;
  }

  settings(caller: Caller, tenant?: string): Promise<AuditSettings> {
    return this.guard(caller, 'read', 'audit.settings.read', {}, async () => {
      this.ownTenant(caller, tenant);
      return this.ports.settings.get(caller.principal.tenant);
    });
  }

  /** Another tenant's settings answer 404 (`?tenant=`), as every other audit route does. */
  updateSettings(caller: Caller, settings: AuditSettings, tenant?: string): Promise<AuditSettings> {
    return this.guard(caller, 'manage', 'audit.settings.write', {}, async () => {
      this.ownTenant(caller, tenant);
      await this.ports.settings.put(caller.principal.tenant, settings);
      return settings;
    });
  }

  /** Another tenant's chain answers 404, exactly like one that does not exist. */
  private ownTenant(caller: Caller, tenant: string | undefined): void {
    if (tenant !== undefined && tenant !== caller.principal.tenant) {
      throw new NotFoundError(`No audit log for tenant ${tenant}`);
    }
  }

  private async guard<T>(
    caller: Caller,
    access: Access,
    action: AuditAction,
    target: AuditTarget,
    run: () => Promise<T>,
  ): Promise<T> {
    return audited({
      denial: mayAccess(caller.principal, access) ? undefined : 'Forbidden',
      changes: access === 'manage',
      run,
      record: (outcome, reason) => this.record(caller, action, target, outcome, reason),
    });
  }

  private record(
    caller: Caller,
    action: AuditAction,
    target: AuditTarget,
    outcome: AuditOutcome,
    reason?: string,
  ): Promise<void> {
    return this.ports.sink.record(
      callerAuditEvent(caller, this.ports.clock, { action, target, outcome, reason }),
    );
  }
}

function earliest(...problems: (VerificationProblem | undefined)[]): VerificationProblem | undefined {
  return problems.reduce<VerificationProblem | undefined>(
    (first, next) => (next !== undefined && (first === undefined || next.seq < first.seq) ? next : first),
    undefined,
  );
}
