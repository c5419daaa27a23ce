/**
 * The end of a chain, which no digest may cover yet, checked against the "chained" markers of
 * the newest events (ADR 0004): a marker is written only after its entry was appended, is never
 * changed and expires with the entry, so an entry it names that is gone beyond the last one left
 * means truncation, and a seq that now holds another event means that entry was replaced.
 */
import { RECORDING_GRACE_MS } from './audit-chain.js';
import type { AuditChainStore } from './audit-store.js';
import type { VerificationProblem } from './chain-verifier.js';

/** The event sort keys of the last entries read, by seq, for the tail check. */
export class ChainTail {
  private static readonly SIZE = 10_000;
  private readonly bySeq = new Map<number, string>();
  lastSeq: number | undefined;
  lastTime: string | undefined;

  add(entry: Readonly<Record<string, unknown>>): void {
    const event = entry.event as { time?: unknown; eventId?: unknown } | undefined;
    if (
      typeof entry.seq !== 'number' ||
      typeof event?.time !== 'string' ||
      typeof event.eventId !== 'string'
    ) {
      return;
    }
    this.bySeq.set(entry.seq, `${event.time}#${event.eventId}`);
    if (this.bySeq.size > ChainTail.SIZE) {
      const [oldest] = this.bySeq.keys();
      if (oldest !== undefined) this.bySeq.delete(oldest);
    }
    if (this.lastSeq === undefined || entry.seq > this.lastSeq) {
      this.lastSeq = entry.seq;
      this.lastTime = event.time;
    }
  }

  sortKeyAt(seq: number): string | undefined {
    return this.bySeq.get(seq);
  }
}

/**
 * The first problem the markers of the newest events show at the end of the chain read into
 * `tail`: an entry gone beyond the last one left (truncated), or a seq holding another event
 * than the one chained there (modified).
 */
export async function chainTailProblem(
  chain: Pick<AuditChainStore, 'chainedMarkersSince' | 'entryAt'>,
  tenant: string,
  tail: ChainTail,
  now: number,
): Promise<VerificationProblem | undefined> {
  const lastTime = tail.lastTime === undefined ? Number.NaN : Date.parse(tail.lastTime);
  const from = Number.isNaN(lastTime) ? '' : new Date(lastTime - RECORDING_GRACE_MS).toISOString();
  let replaced: number | undefined;
  let beyond = false;
  for await (const marker of chain.chainedMarkersSince(tenant, from)) {
    if (marker.expiresAt <= now) continue;
    const holder = tail.sortKeyAt(marker.seq);
    if (holder !== undefined && holder !== marker.eventSortKey) {
      replaced = Math.min(replaced ?? marker.seq, marker.seq);
    } else if (holder === undefined && marker.seq > (tail.lastSeq ?? 0)) {
      beyond = true;
    }
  }
  if (replaced !== undefined) {
    return { seq: replaced, reason: 'modified', detail: `Entry ${replaced} was replaced by another event` };
  }
  const next = (tail.lastSeq ?? 0) + 1;
  // An entry appended while this verification read the chain is not a truncation.
  if (beyond && (await chain.entryAt(tenant, next)) === undefined) {
    return {
      seq: next,
      reason: 'truncated',
      detail: `Entries from seq ${next} on were chained and are gone`,
    };
  }
  return undefined;
}
