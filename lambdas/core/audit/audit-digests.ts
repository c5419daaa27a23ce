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
  /** Records the audit event of the signing (called only when there is something to sign). */
  readonly ownEvent?: () => Promise<AuditEvent>;
}

export interface DigestRun {
  readonly tenant: string;
  /** Events found unchained and chained by this run. */
  readonly caughtUp: number;
  /** The digest signed by this run (or by a concurrent one for the same range). */
  readonly digest: AuditDigest | undefined;
  readonly integrityProblem: VerificationProblem | undefined;
}

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
    const caughtUp = await this.catchUp(tenant, previous, reconciledThrough);

    let head = await this.store.head(tenant);
    if (head === undefined && previous === undefined) {
      return { tenant, caughtUp, digest: undefined, integrityProblem: undefined };
    }
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
      return this.integrityFailure(tenant, caughtUp, altered, now);
    }
    const signedHead =
      previous === undefined
        ? undefined
        : { seq: previous.toSeq, hash: previous.headHash, expiresAt: previous.expiresAt };
    const problem = await this.checkFrom(tenant, signedHead, now);
    if (problem !== undefined) return this.integrityFailure(tenant, caughtUp, problem, now);
    if (head === undefined || (previous !== undefined && head.seq <= previous.toSeq)) {
      return { tenant, caughtUp, digest: undefined, integrityProblem: undefined };
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
      const since = await this.checkFrom(tenant, checkedHead, now);
      if (since !== undefined) return this.integrityFailure(tenant, caughtUp, since, now);
    }

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
        toSeq: head.seq,
        headHash: head.hash,
        prevSignature: previous?.signature ?? '',
        prevDigestHash: previousIsOwn ? digestHash(previous) : '',
        prevExpiresAt: previous?.expiresAt ?? 0,
        expiresAt: head.expiresAt,
        createdAt: now.toISOString(),
        reconciledThrough,
        algorithm: this.signer.algorithm,
        keyFingerprint: publicKeyFingerprint(publicKeyPem),
      },
      this.signer,
    );
    if (!(await this.store.putDigest(digest))) {
      // A concurrent run signed this range first; its digest is the one in the chain.
      return { tenant, caughtUp, digest: await this.store.latestDigest(tenant), integrityProblem: undefined };
    }
    await this.publisher?.publish([
      {
        type: AUDIT_DIGEST_SIGNED,
        tenant,
        time: digest.createdAt,
        detail: { fromSeq: digest.fromSeq, toSeq: digest.toSeq, headHash: digest.headHash },
      },
    ]);
    return { tenant, caughtUp, digest, integrityProblem: undefined };
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
    return { tenant, caughtUp, digest: undefined, integrityProblem: problem };
  }

  /**
   * Chains recorded events older than `through` that have no chained marker yet. The markers of
   * the range are read by Query, in the events' own order, beside the events: an event with one
   * is chained (a marker is written only after its entry), so only the others reach the
   * sequencer, which checks their markers again, by key, before appending. Reading every event's
   * marker by key instead (a BatchGetItem per 100, one read unit each) made that the largest part
   * of an hourly run.
   */
  private async catchUp(tenant: string, previous: AuditDigest | undefined, through: string): Promise<number> {
    const from =
      previous === undefined
        ? ''
        : new Date(Date.parse(previous.reconciledThrough) - RECORDING_GRACE_MS).toISOString();
    const markers = this.store.chainedMarkersSince(tenant, from)[Symbol.asyncIterator]();
    let marker = await markers.next();
    let caughtUp = 0;
    try {
      for await (const page of this.store.recordedEvents(tenant, from, through)) {
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
    return caughtUp;
  }

  /** The first problem in the entries after the previous digest, which must continue its head. */
  /**
   * The first problem in the entries from `anchor` on: the anchor entry must still hold the hash
   * it had (the head the last digest signed, or the head checked a moment ago), and everything
   * after it must link. Without an anchor the whole chain is checked.
   */
  private async checkFrom(
    tenant: string,
    anchor: { readonly seq: number; readonly hash: string; readonly expiresAt: number } | undefined,
    now: Date,
  ): Promise<VerificationProblem | undefined> {
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
    const tail = new ChainTail();
    for await (const entry of this.store.entries(tenant, live === undefined ? {} : { fromSeq: live.seq })) {
      if (first && live !== undefined && (entry.seq !== live.seq || entry.hash !== live.hash)) {
        return {
          seq: live.seq,
          reason: entry.seq === live.seq ? 'modified' : 'missing',
          detail: `Entry ${live.seq} is not the head the last digest signed`,
        };
      }
      first = false;
      verifier.push(entry);
      tail.add(expandChainEntry(entry));
    }
    if (first && live !== undefined) {
      return { seq: live.seq, reason: 'truncated', detail: 'The entries the last digest covers are gone' };
    }
    return verifier.finish().firstBad ?? (await chainTailProblem(this.store, tenant, tail, nowSeconds));
  }
}
