/**
 * Signs digests of a tenant's chain (hourly by the `auditDigest` engine, and on demand), after
 * catching up and two checks (ADR 0004):
 * - catch-up: events recorded since the last digest that no sequencer chained (a stream batch that
 *   failed every retry, a crash between the durable write and the in-process sequencer) are
 *   chained now, so every event is chained sooner or later;
 * - the last digest: one that names this signing key (its fingerprint) must verify with it. A
 *   digest of a key since replaced (a lost key, README "Backup and restore") is accepted, and the
 *   new digest vouches for nothing before it;
 * - integrity: the entries since the last digest must continue the head that digest signed.
 * If a check fails, nothing is signed (a signature must never bless a tampered chain) and an
 * `audit.integrity.failed` event is published.
 *
 * A run given a deadline stops reading when it comes and signs the prefix it checked (`complete:
 * false`): the API function's timeout bounds an on-demand run, however long the chain grew since
 * the last digest, and the next run goes on from that digest. The catch-up gets the first half of
 * the time: its digest's `reconciledThrough` is then the time of the first event it did not read,
 * where the next catch-up resumes, so each run moves both on (a catch-up that started over every
 * time would never end for a large range, and no digest would be signed). Events it did not reach
 * are chained by a later run, as stragglers always are.
 */
import { createPublicKey } from 'node:crypto';
import {
  digestHash,
  publicKeyFingerprint,
  signDigest,
  verifyDigestSignature,
  DIGEST_FORMAT,
  type AuditDigest,
  type DigestSigner,
} from './audit-digest.js';
import { ChainTail, chainTailProblem } from './chain-tail.js';
import { AuditChainVerifier, type VerificationProblem } from './chain-verifier.js';
import { eventSortKey, expandChainEntry, RECORDING_GRACE_MS } from './audit-chain.js';
import type { AuditEvent } from './audit-event.js';
import type { AuditChainStore, RecordedAuditEvent } from './audit-store.js';
import type { AuditSequencer } from './audit-sequencer.js';
import type { Clock } from '../ports.js';
import type { EventPublisher } from '../events.js';

export const AUDIT_DIGEST_SIGNED = 'audit.digest.signed';
export const AUDIT_INTEGRITY_FAILED = 'audit.integrity.failed';

export interface DigestRunOptions {
  /**
   * Records the audit event of the signing, chained at once so that the digest covers it (called
   * only when a complete run has something to sign).
   */
  readonly ownEvent?: () => Promise<AuditEvent>;
  /** When to stop reading and sign what was checked so far (by the service's clock). */
  readonly deadline?: Date;
}

export interface DigestRun {
  readonly tenant: string;
  /** Events found unchained and chained by this run. */
  readonly caughtUp: number;
  /** The digest signed by this run (or by a concurrent one for the same range). */
  readonly digest: AuditDigest | undefined;
  readonly integrityProblem: VerificationProblem | undefined;
  /**
   * False when the deadline came before the check read to the head: `digest` (if any) covers a
   * checked prefix of the chain, and a later run signs the rest. A catch-up the deadline cut short
   * does not make a run incomplete: its digest claims `reconciledThrough` only as far as it got,
   * and the next run resumes there.
   */
  readonly complete: boolean;
}

/** The entry a check stopped at: where a digest of the prefix ends. */
interface CheckedEntry {
  readonly seq: number;
  readonly hash: string;
  readonly expiresAt: number;
}

interface CheckOutcome {
  readonly problem: VerificationProblem | undefined;
  /** The last entry checked, when the deadline stopped the check; undefined when it read to the end. */
  readonly stoppedAt: CheckedEntry | undefined;
  readonly stopped: boolean;
}

interface CatchUp {
  /** Events found unchained and chained. */
  readonly count: number;
  readonly complete: boolean;
  /** Every event recorded before this time was read: the `reconciledThrough` a digest may claim. */
  readonly through: string;
}

/** `reconciledThrough` of a first digest whose run did not finish its catch-up: nothing yet. */
const NOTHING_RECONCILED = new Date(0).toISOString();

export class AuditDigestService {
  constructor(
    private readonly store: AuditChainStore,
    private readonly sequencer: AuditSequencer,
    private readonly signer: DigestSigner,
    private readonly clock: Clock,
    private readonly publisher: EventPublisher | undefined,
  ) {}

  /**
   * Catches up, checks and signs the tenant's chain head; no digest when nothing is new. When
   * there is something to sign, `options.ownEvent` records the audit event of this signing, which
   * is chained right away so that the digest covers it.
   */
  async run(tenant: string, options: DigestRunOptions = {}): Promise<DigestRun> {
    const previous = await this.store.latestDigest(tenant);
    const now = this.clock.now();
    const reconciledThrough = new Date(now.getTime() - RECORDING_GRACE_MS).toISOString();
    const { deadline } = options;
    const catchUpDeadline =
      deadline === undefined ? undefined : new Date((now.getTime() + deadline.getTime()) / 2);
    const caughtUp = await this.catchUp(tenant, previous, reconciledThrough, catchUpDeadline);
    const done = { tenant, caughtUp: caughtUp.count, digest: undefined, integrityProblem: undefined };

    let head = await this.store.head(tenant);
    if (head === undefined && previous === undefined) return { ...done, complete: true };
    // Both checked even when nothing is new: an altered digest, or a chain cut back to (or
    // rewritten at) its signed head, must be reported, not merely left unsigned. The last digest
    // comes first: the chain check trusts its head hash.
    const publicKeyPem = await this.signer.publicKeyPem();
    const previousIsOwn =
      previous !== undefined && verifyDigestSignature(previous, createPublicKey(publicKeyPem));
    if (
      previous !== undefined &&
      !previousIsOwn &&
      previous.keyFingerprint === publicKeyFingerprint(publicKeyPem)
    ) {
      // It names this key, so no key replacement explains it: the record was altered.
      const altered: VerificationProblem = {
        seq: previous.fromSeq,
        reason: 'bad-signature',
        detail: `The last digest (seq ${previous.fromSeq}..${previous.toSeq}) does not verify with the signing key it names`,
      };
      return this.integrityFailure(tenant, caughtUp.count, altered, now);
    }
    const signedHead =
      previous === undefined
        ? undefined
        : { seq: previous.toSeq, hash: previous.headHash, expiresAt: previous.expiresAt };
    const check = await this.checkFrom(tenant, signedHead, now, deadline);
    if (check.problem !== undefined) return this.integrityFailure(tenant, caughtUp.count, check.problem, now);
    // A digest claims the catch-up only as far as it got (all of it, unless out of time).
    const signing = { publicKeyPem, now, reconciledThrough: caughtUp.through };
    if (check.stopped) {
      // Out of time: sign the prefix checked so far (its own event is chained as any other, after
      // the prefix); the rest is the next run's.
      const end = check.stoppedAt;
      if (end === undefined || (previous !== undefined && end.seq <= previous.toSeq)) {
        return { ...done, complete: false };
      }
      const digest = await this.sign(tenant, previous, previousIsOwn, end, signing);
      return { ...done, digest, complete: false };
    }
    if (head === undefined || (previous !== undefined && head.seq <= previous.toSeq)) {
      return { ...done, complete: true };
    }
    const checkedHead = head;
    if (options.ownEvent !== undefined) {
      const event = await options.ownEvent();
      const justAfter = new Date(Date.parse(event.time) + 1).toISOString();
      for await (const page of this.store.recordedEvents(tenant, event.time, justAfter)) {
        await this.sequencer.chain(
          tenant,
          page.filter((recorded) => recorded.event.eventId === event.eventId),
        );
      }
      head = (await this.store.head(tenant)) ?? head;
      // Only what was appended since the check above (the signing's own event, concurrent events).
      const since = await this.checkFrom(tenant, checkedHead, now, undefined);
      if (since.problem !== undefined)
        return this.integrityFailure(tenant, caughtUp.count, since.problem, now);
    }
    const digest = await this.sign(tenant, previous, previousIsOwn, head, signing);
    return { ...done, digest, complete: true };
  }

  /**
   * Signs and stores the digest of the entries after `previous` through `end`, and announces it;
   * answers the digest of a concurrent run that signed this range first.
   */
  private async sign(
    tenant: string,
    previous: AuditDigest | undefined,
    previousIsOwn: boolean,
    end: CheckedEntry,
    at: { readonly publicKeyPem: string; readonly now: Date; readonly reconciledThrough: string },
  ): Promise<AuditDigest | undefined> {
    const fromSeq = previous === undefined ? 1 : previous.toSeq + 1;
    // A format-2 digest vouches for its predecessor's whole record (a verifier then takes the
    // predecessor as authentic without checking its signature, ADR 0004), so it vouches only for
    // one this key verifiably signed: a digest of a lost key replaced since is named by nothing
    // but its own signature, which the verifier then checks (an altered one of this key stopped
    // the run above).
    const digest = await signDigest(
      {
        format: DIGEST_FORMAT,
        tenant,
        fromSeq,
        toSeq: end.seq,
        headHash: end.hash,
        prevSignature: previous?.signature ?? '',
        prevDigestHash: previousIsOwn && previous !== undefined ? digestHash(previous) : '',
        prevExpiresAt: previous?.expiresAt ?? 0,
        expiresAt: end.expiresAt,
        createdAt: at.now.toISOString(),
        reconciledThrough: at.reconciledThrough,
        algorithm: this.signer.algorithm,
        keyFingerprint: publicKeyFingerprint(at.publicKeyPem),
      },
      this.signer,
    );
    if (!(await this.store.putDigest(digest))) {
      // A concurrent run signed this range first; its digest is the one in the chain.
      return this.store.latestDigest(tenant);
    }
    await this.publisher?.publish([
      {
        type: AUDIT_DIGEST_SIGNED,
        tenant,
        time: digest.createdAt,
        detail: { fromSeq: digest.fromSeq, toSeq: digest.toSeq, headHash: digest.headHash },
      },
    ]);
    return digest;
  }

  private async integrityFailure(
    tenant: string,
    caughtUp: number,
    problem: VerificationProblem,
    now: Date,
  ): Promise<DigestRun> {
    await this.publisher?.publish([
      {
        type: AUDIT_INTEGRITY_FAILED,
        tenant,
        time: now.toISOString(),
        detail: { seq: problem.seq, reason: problem.reason },
      },
    ]);
    return { tenant, caughtUp, digest: undefined, integrityProblem: problem, complete: true };
  }

  /**
   * Chains recorded events older than `through` that have no chained marker yet. The markers of
   * the range are read by Query, in the events' own order, beside the events: an event with one
   * is chained (a marker is written only after its entry), so only the others reach the
   * sequencer, which checks their markers again, by key, before appending. Reading every event's
   * marker by key instead (a BatchGetItem per 100, one read unit each) made that the largest part
   * of an hourly run.
   */
  private async catchUp(
    tenant: string,
    previous: AuditDigest | undefined,
    through: string,
    deadline: Date | undefined,
  ): Promise<CatchUp> {
    const from =
      previous === undefined
        ? ''
        : new Date(Date.parse(previous.reconciledThrough) - RECORDING_GRACE_MS).toISOString();
    const reconciledBefore = previous?.reconciledThrough ?? NOTHING_RECONCILED;
    const markers = this.store.chainedMarkersSince(tenant, from)[Symbol.asyncIterator]();
    let marker = await markers.next();
    let caughtUp = 0;
    try {
      for await (const page of this.store.recordedEvents(tenant, from, through)) {
        if (this.pastDeadline(deadline)) {
          // Every event before this page's first was read (and chained if it was not).
          const next = page[0]?.event.time ?? reconciledBefore;
          return {
            count: caughtUp,
            complete: false,
            through: next > reconciledBefore ? next : reconciledBefore,
          };
        }
        const unmarked: RecordedAuditEvent[] = [];
        for (const recorded of page) {
          // Both in sort-key order (ISO time, then a UUID: ASCII, so DynamoDB's byte order and
          // JavaScript's agree); a mismatch would only send a chained event to the sequencer.
          const key = eventSortKey(recorded.event);
          while (marker.done !== true && marker.value.eventSortKey < key) marker = await markers.next();
          if (marker.done === true || marker.value.eventSortKey !== key) unmarked.push(recorded);
        }
        if (unmarked.length === 0) continue;
        const chained = await this.sequencer.chain(tenant, unmarked);
        caughtUp += chained.filter((event) => event.appended).length;
      }
    } finally {
      await markers.return?.();
    }
    return { count: caughtUp, complete: true, through };
  }

  private pastDeadline(deadline: Date | undefined): boolean {
    return deadline !== undefined && this.clock.now().getTime() >= deadline.getTime();
  }

  /**
   * The first problem in the entries from `anchor` on: the anchor entry must still hold the hash
   * it had (the head the last digest signed, or the head checked a moment ago), and everything
   * after it must link. Without an anchor the whole chain is checked. At `deadline` it stops
   * and names the last entry it checked (the end of the chain's tail is then left unchecked).
   */
  private async checkFrom(
    tenant: string,
    anchor: CheckedEntry | undefined,
    now: Date,
    deadline: Date | undefined,
  ): Promise<CheckOutcome> {
    const nowSeconds = Math.floor(now.getTime() / 1000);
    // An anchor that has expired by now proves nothing either way; what follows it still must link.
    const live = anchor !== undefined && anchor.expiresAt > nowSeconds ? anchor : undefined;
    const verifier = new AuditChainVerifier({
      tenant,
      // Digest signatures are the verifier's business (GET /audit/verify), not a reason to stop
      // signing; what must hold here is that the chain continues the signed head.
      digests: [],
      publicKey: undefined,
      now: nowSeconds,
      ...(live === undefined ? {} : { anchorSeq: live.seq }),
    });
    let first = true;
    let last: Record<string, unknown> | undefined;
    const tail = new ChainTail();
    const stopped = (problem: VerificationProblem | undefined): CheckOutcome => ({
      problem,
      stoppedAt: problem === undefined ? checkedEntry(last) : undefined,
      stopped: true,
    });
    for await (const entry of this.store.entries(tenant, live === undefined ? {} : { fromSeq: live.seq })) {
      if (first && live !== undefined && (entry.seq !== live.seq || entry.hash !== live.hash)) {
        const problem: VerificationProblem = {
          seq: live.seq,
          reason: entry.seq === live.seq ? 'modified' : 'missing',
          detail: `Entry ${live.seq} is not the head the last digest signed`,
        };
        return { problem, stoppedAt: undefined, stopped: false };
      }
      if (this.pastDeadline(deadline)) return stopped(verifier.finish().firstBad ?? undefined);
      first = false;
      verifier.push(entry);
      last = expandChainEntry(entry);
      tail.add(last);
    }
    if (first && live !== undefined) {
      const problem: VerificationProblem = {
        seq: live.seq,
        reason: 'truncated',
        detail: 'The entries the last digest covers are gone',
      };
      return { problem, stoppedAt: undefined, stopped: false };
    }
    const problem =
      verifier.finish().firstBad ?? (await chainTailProblem(this.store, tenant, tail, nowSeconds));
    return { problem, stoppedAt: undefined, stopped: false };
  }
}

/** Where a digest of the entries read through `entry` ends; undefined when none was read. */
function checkedEntry(entry: Readonly<Record<string, unknown>> | undefined): CheckedEntry | undefined {
  if (entry === undefined) return undefined;
  const { seq, hash, expiresAt } = entry;
  if (typeof seq !== 'number' || typeof hash !== 'string' || typeof expiresAt !== 'number') return undefined;
  return { seq, hash, expiresAt };
}
