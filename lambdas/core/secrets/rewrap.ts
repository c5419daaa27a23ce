/**
 * Re-wrapping data keys: after the key-encryption key changes (a KMS alias pointed at a new key,
 * a new local KEK), every stored envelope whose data key is wrapped under an older key gets its
 * data key wrapped under the current one. The keyring does it without the data key leaving it
 * (KMS `ReEncrypt`), so no plaintext (value or data key) is ever in this process, and the
 * payload (IV, ciphertext, tag) is not touched.
 *
 * It runs in bounded steps: each step handles at most `limit` versions of one tenant in
 * (path, version) order and returns an opaque cursor to continue from, so it fits a Lambda's
 * time limit, shows progress, and resumes after a crash (running it again from the start is also
 * safe: versions already under the current key are only counted). Each replacement is a
 * conditional write on the envelope it replaces, so a version destroyed or pruned meanwhile is
 * skipped, never resurrected.
 */
import { audited } from '../audit/audited.js';
import type { AuditOutcome } from '../audit/audit-event.js';
import type { AuditSink } from '../audit/audit-sink.js';
import { type Caller, callerAuditEvent } from '../audit/caller.js';
import { ValidationError } from '../errors.js';
import type { Clock } from '../ports.js';
import type { Envelope, EnvelopeCipher } from './envelope.js';
import type { SecretPath } from './secret-path.js';

/** One stored version that still holds an envelope. */
export interface StoredEnvelope {
  readonly path: SecretPath;
  readonly version: number;
  readonly envelope: Envelope;
}

/** Where re-wrapping reads and replaces envelopes (the DynamoDB secret store). */
export interface EnvelopeRewrapStore {
  /**
   * Up to `limit` envelopes of the tenant, in (path, version) order, strictly after `after`
   * (from the start when undefined); `more` says whether any may follow.
   */
  envelopesAfter(
    tenant: string,
    after: { readonly path: string; readonly version: number } | undefined,
    limit: number,
  ): Promise<{ readonly items: readonly StoredEnvelope[]; readonly more: boolean }>;
  /**
   * Replaces the envelope of one version if it is still exactly `expected` (same key id and
   * wrapped key); false when the version changed, was destroyed or no longer exists.
   */
  replaceEnvelope(
    tenant: string,
    path: SecretPath,
    version: number,
    expected: Envelope,
    next: Envelope,
  ): Promise<boolean>;
}

export interface RewrapStep {
  /** Versions looked at in this step. */
  readonly scanned: number;
  /** Versions whose data key is now wrapped under the current key. */
  readonly rewrapped: number;
  /** Versions already under the current key. */
  readonly alreadyCurrent: number;
  /** Versions that changed (destroyed, pruned) between reading and replacing. */
  readonly skipped: number;
  /** The key new wraps are under. */
  readonly keyId: string;
  /** Where the next step starts; undefined when the tenant is done. */
  readonly cursor: string | undefined;
}

export const DEFAULT_REWRAP_LIMIT = 100;
export const MAX_REWRAP_LIMIT = 1000;

export class DataKeyRewrap {
  constructor(
    private readonly store: EnvelopeRewrapStore,
    private readonly cipher: EnvelopeCipher,
  ) {}

  /** Re-wraps up to `limit` versions of `tenant` from `cursor` (from the start without one). */
  async step(
    tenant: string,
    options: { cursor?: string | undefined; limit?: number } = {},
  ): Promise<RewrapStep> {
    const limit = options.limit ?? DEFAULT_REWRAP_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_REWRAP_LIMIT) {
      throw new ValidationError(`limit must be a whole number from 1 to ${MAX_REWRAP_LIMIT}`, {
        details: { limit: 'invalid' },
      });
    }
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor, tenant);
    const keyId = await this.cipher.currentKeyId();
    const page = await this.store.envelopesAfter(tenant, after, limit);
    let rewrapped = 0;
    let alreadyCurrent = 0;
    let skipped = 0;
    for (const { path, version, envelope } of page.items) {
      if (envelope.keyId === keyId) {
        alreadyCurrent += 1;
        continue;
      }
      const next = await this.cipher.rewrap(envelope, { tenant, path, version: String(version) });
      if (await this.store.replaceEnvelope(tenant, path, version, envelope, next)) rewrapped += 1;
      else skipped += 1;
    }
    const last = page.items[page.items.length - 1];
    return {
      scanned: page.items.length,
      rewrapped,
      alreadyCurrent,
      skipped,
      keyId,
      cursor: page.more && last !== undefined ? encodeCursor(tenant, last) : undefined,
    };
  }
}

/**
 * The re-wrap as an API operation: admins only (users in the `admin` group, machine clients with
 * the admin scope), of their own tenant, audited fail-closed as `secret.rewrap` with the counts.
 */
export class RewrapAdministration {
  constructor(
    private readonly rewrap: DataKeyRewrap,
    private readonly audit: AuditSink,
    private readonly clock: Clock,
  ) {}

  async step(caller: Caller, options: { cursor?: string | undefined; limit?: number }): Promise<RewrapStep> {
    const { principal } = caller;
    const admin =
      principal.kind === 'machine'
        ? principal.scopes.includes('vaultpilot/admin')
        : principal.roles.includes('admin');
    return audited<RewrapStep>({
      denial: admin ? undefined : 'Re-wrapping needs the admin role',
      changes: true,
      run: () => this.rewrap.step(principal.tenant, options),
      record: (outcome, reason, step) =>
        this.record(
          caller,
          outcome,
          step === undefined
            ? reason
            : `rewrapped ${step.rewrapped}, already current ${step.alreadyCurrent}, skipped ${step.skipped} of ${step.scanned} versions; ${step.cursor === undefined ? 'done' : 'more to do'}`,
        ),
    });
  }

  private record(caller: Caller, outcome: AuditOutcome, reason: string | undefined): Promise<void> {
    return this.audit.record(
      callerAuditEvent(caller, this.clock, { action: 'secret.rewrap', target: {}, outcome, reason }),
    );
  }
}

function encodeCursor(tenant: string, last: StoredEnvelope): string {
  return Buffer.from(JSON.stringify({ t: tenant, p: last.path, v: last.version }), 'utf8').toString(
    'base64url',
  );
}

function decodeCursor(cursor: string, tenant: string): { path: string; version: number } {
  const invalid = (cause?: unknown) =>
    new ValidationError(
      'The re-wrap cursor is invalid; pass back the cursor of the previous step unchanged',
      {
        ...(cause === undefined ? {} : { cause }),
        details: { cursor: 'invalid' },
      },
    );
  const bytes = Buffer.from(cursor, 'base64url');
  if (cursor.length === 0 || bytes.toString('base64url') !== cursor) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (error: unknown) {
    throw invalid(error);
  }
  if (typeof parsed !== 'object' || parsed === null) throw invalid();
  const { t, p, v } = parsed as Record<string, unknown>;
  // A cursor names its tenant, so one tenant's cursor cannot walk another tenant's secrets.
  if (
    t !== tenant ||
    typeof p !== 'string' ||
    p.length === 0 ||
    !Number.isSafeInteger(v) ||
    (v as number) < 1
  ) {
    throw invalid();
  }
  return { path: p, version: v as number };
}
