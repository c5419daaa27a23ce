/**
 * The credential inventory as callers reach it: list, read (with history), register a managed
 * credential, update owner/tags/expiry/rotation, unregister. Every call is authorized by role or
 * scope and recorded in the audit log before its result is returned (fail closed: a call whose
 * audit record cannot be written fails with 503). Findings are evaluated on every change with
 * the tenant's thresholds; each finding that opens or resolves is audited and published.
 * As for secrets, a change that was stored but could not be audited is reported as failed.
 * The history entry of a change is written after the change itself (the commit point): when the
 * store stays unavailable for it, the change stands, the call answers as done, and the lost entry
 * is reported (`onHistoryLost`), never silently dropped.
 */
import { principalName } from '../principal.js';
import { audited, ROLE_DENIAL } from '../audit/audited.js';
import type { AuditAction, AuditOutcome } from '../audit/audit-event.js';
import type { AuditSink } from '../audit/audit-sink.js';
import { auditActorOf, type Caller, callerAuditEvent } from '../audit/caller.js';
import { ConflictError, NotFoundError, ValidationError } from '../errors.js';
import type { DomainEvent, EventPublisher } from '../events.js';
import type { Clock } from '../ports.js';
import { disabledRuleSet, type DiscoverySettingsStore, effectiveThresholds } from '../discovery/settings.js';
import { type Credential, isCredentialId, newCredentialId, type RotationBinding } from './credential.js';
import {
  MANAGED_ONLY_FIELDS,
  parseInput,
  type RegisterCredential,
  RegisterCredentialSchema,
  ROTATION_INPUT_FIELDS,
  type UpdateCredential,
  UpdateCredentialSchema,
} from './credential-input.js';
import type { RotationRegistrar, RotationUpdate } from './rotation-registrar.js';
import {
  changesRotationSettings,
  patchedRotationFields,
  patchedSettingFields,
  patchRotation,
} from './rotation-patch.js';
import { findingAuditEvents, findingEvents } from './credential-events.js';
import { type CredentialChange, type CredentialStore, MAX_HISTORY_ENTRIES } from './credential-store.js';
import { appendHistoryAfterCommit, historyEntry, type HistoryLostReporter } from './credential-history.js';
import { deriveStatus, evaluateFindings, findingChanges } from './findings.js';
import { changesInventory, type InventoryAccess, mayAccessInventory } from './inventory-access.js';
import { listInventoryPage } from './inventory-pages.js';
import {
  type CredentialPage,
  type CredentialQuery,
  parseCredentialQuery,
  type RawCredentialQuery,
} from './inventory-query.js';

export interface CredentialWithHistory {
  readonly credential: Credential;
  readonly history: readonly CredentialChange[];
}

export interface CredentialInventoryOptions {
  /** Told when publishing events failed after the change was stored and audited (the handler logs it). */
  readonly onEventsFailed?: (error: unknown, events: readonly DomainEvent[]) => void;
  /**
   * Told when a change was stored but its history entry could not be (the store stayed
   * unavailable after the commit point); the handler logs it.
   */
  readonly onHistoryLost?: HistoryLostReporter;
  /** Checks the rotation fields of registrations and computes their first due time. */
  readonly rotation?: RotationRegistrar;
}

export class CredentialInventory {
  private readonly onEventsFailed: (error: unknown, events: readonly DomainEvent[]) => void;
  private readonly onHistoryLost: HistoryLostReporter;
  private readonly rotation: RotationRegistrar | undefined;

  constructor(
    private readonly store: CredentialStore,
    private readonly settings: DiscoverySettingsStore,
    private readonly audit: AuditSink,
    private readonly events: EventPublisher,
    private readonly clock: Clock,
    options: CredentialInventoryOptions = {},
  ) {
    this.onEventsFailed = options.onEventsFailed ?? (() => undefined);
    this.onHistoryLost = options.onHistoryLost ?? (() => undefined);
    this.rotation = options.rotation;
  }

  list(caller: Caller, raw: RawCredentialQuery): Promise<CredentialPage> {
    return this.guard(caller, 'read', 'credential.list', undefined, async () => {
      const query: CredentialQuery = parseCredentialQuery(raw);
      return listInventoryPage(this.store, caller.principal.tenant, query);
    });
  }

  get(caller: Caller, id: string): Promise<CredentialWithHistory> {
    return this.guard(caller, 'read', 'credential.read', id, async () => {
      const credential = await this.require(caller.principal.tenant, id);
      const history = await this.store.history(caller.principal.tenant, id, MAX_HISTORY_ENTRIES);
      return { credential, history };
    });
  }

  register(caller: Caller, input: unknown): Promise<Credential> {
    return this.guard(
      caller,
      'write',
      'credential.register',
      undefined,
      async () => {
        const request = parseInput(RegisterCredentialSchema, input, 'credential');
        const tenant = caller.principal.tenant;
        const now = this.clock.now().toISOString();
        const draft: Credential = {
          id: newCredentialId(),
          tenant,
          type: request.type,
          source: 'managed',
          name: request.name,
          description: request.description,
          reference: request.reference ?? {},
          owner: request.owner,
          tags: request.tags ?? {},
          sourceTags: {},
          createdAt: request.createdAt ?? now,
          lastRotatedAt: request.lastRotatedAt,
          lastUsedAt: request.lastUsedAt,
          // People report use when they know it; absence is "unknown", never "never used".
          usageTracked: false,
          expiresAt: request.expiresAt,
          rotationPolicy: typeof request.rotationPolicy === 'string' ? request.rotationPolicy : undefined,
          rotationState: undefined,
          status: 'healthy',
          findings: [],
          facts: {},
          scope: undefined,
          registeredAt: now,
          updatedAt: now,
          goneAt: undefined,
          revision: 1,
        };
        const binding = await this.rotationBinding(draft, request);
        const credential = await this.evaluate(
          binding === undefined ? draft : { ...draft, rotation: binding },
          undefined,
        );
        await this.store.registerTenant(tenant);
        await this.store.create(credential);
        await this.appendHistory(
          tenant,
          credential.id,
          historyEntry(actorOf(caller), 'registered', undefined, credential, now),
        );
        return credential;
      },
      (credential) => credential.id,
      (credential) => this.findingsChanged(caller, undefined, credential),
    );
  }

  update(caller: Caller, id: string, input: unknown): Promise<Credential> {
    let before: Credential | undefined;
    return this.guard(
      caller,
      'write',
      'credential.update',
      id,
      async () => {
        const patch = parseInput(UpdateCredentialSchema, input, 'credential update');
        const tenant = caller.principal.tenant;
        const current = await this.require(tenant, id);
        before = current;
        if (patch.revision !== undefined && patch.revision !== current.revision) {
          throw new ConflictError(
            `The credential is at revision ${current.revision}, not ${patch.revision}; read it again`,
            { details: { revision: current.revision } },
          );
        }
        if (current.source === 'discovered') {
          const refused = MANAGED_ONLY_FIELDS.filter((field) => patch[field] !== undefined);
          if (refused.length > 0) {
            throw new ValidationError(
              `A discovered credential's ${refused.join(', ')} come from its source and cannot be set`,
              { details: { fields: refused } },
            );
          }
          const rotation = patchedRotationFields(patch);
          if (rotation.length > 0) {
            throw new ValidationError(
              `A discovered credential is not rotated by VaultPilot and takes no ${rotation.join(', ')}; register it as a managed credential to rotate it`,
              { details: { fields: rotation } },
            );
          }
        }
        if (current.rotationState === 'rotating' && changesRotationSettings(current.rotation, patch)) {
          // The running rotation read the secret path and the settings at its start; changing
          // them now would leave it working on a value or a provider that is no longer current.
          throw new ConflictError(
            'A rotation of this credential is in flight; change its secret path or settings when it has finished',
            { details: { fields: patchedSettingFields(patch) } },
          );
        }
        const now = this.clock.now().toISOString();
        const orKeep = <T>(value: T | null | undefined, kept: T | undefined): T | undefined =>
          value === null ? undefined : value === undefined ? kept : value;
        const draft: Credential = {
          ...current,
          name: patch.name ?? current.name,
          description: orKeep(patch.description, current.description),
          owner: orKeep(patch.owner, current.owner),
          tags: patch.tags ?? current.tags,
          // An inline policy replaces a named one, as a name or null replaces an inline one.
          rotationPolicy:
            typeof patch.rotationPolicy === 'object'
              ? undefined
              : orKeep(patch.rotationPolicy, current.rotationPolicy),
          expiresAt: orKeep(patch.expiresAt, current.expiresAt),
          lastRotatedAt: patch.lastRotatedAt ?? current.lastRotatedAt,
          lastUsedAt: patch.lastUsedAt ?? current.lastUsedAt,
          reference: patch.reference ?? current.reference,
          updatedAt: now,
          revision: current.revision + 1,
        };
        const rotation = await this.reboundRotation(draft, patch);
        const next = await this.evaluate({ ...draft, rotation }, current);
        await this.store.replace(next, current.revision);
        await this.appendHistory(tenant, id, historyEntry(actorOf(caller), 'updated', current, next, now));
        return next;
      },
      undefined,
      (credential) => this.findingsChanged(caller, before, credential),
    );
  }

  unregister(caller: Caller, id: string, expectedRevision?: number): Promise<void> {
    return this.guard(caller, 'write', 'credential.unregister', id, async () => {
      const tenant = caller.principal.tenant;
      const current = await this.require(tenant, id);
      if (current.source === 'discovered' && current.status !== 'gone') {
        throw new ConflictError(
          'A discovered credential is removed at its source; the inventory keeps it until discovery finds it gone',
        );
      }
      if (expectedRevision !== undefined && expectedRevision !== current.revision) {
        throw new ConflictError(
          `The credential is at revision ${current.revision}, not ${expectedRevision}`,
          {
            details: { revision: current.revision },
          },
        );
      }
      await this.store.delete(tenant, id, current.revision);
    });
  }

  /**
   * Records what the rotation engine reports (rotating, failed, rotated, next due time), with
   * findings re-evaluated and a history entry, as the system actor. Retries a lost race with
   * another writer; a credential unregistered meanwhile is left alone.
   */
  async recordRotation(tenant: string, id: string, update: RotationUpdate): Promise<void> {
    for (let attempt = 1; attempt <= 5; attempt += 1) {
      const current = await this.store.get(tenant, id);
      if (current === undefined) return;
      const now = this.clock.now().toISOString();
      const draft: Credential = {
        ...current,
        rotationState: update.rotationState,
        lastRotatedAt: update.lastRotatedAt ?? current.lastRotatedAt,
        expiresAt: update.expiresAt === null ? undefined : (update.expiresAt ?? current.expiresAt),
        rotation:
          current.rotation === undefined || update.dueAt === null
            ? current.rotation
            : { ...current.rotation, dueAt: update.dueAt },
        updatedAt: now,
        revision: current.revision + 1,
      };
      const next = await this.evaluate(draft, current);
      try {
        await this.store.replace(next, current.revision);
      } catch (error: unknown) {
        if (error instanceof ConflictError) continue;
        if (error instanceof NotFoundError) return;
        throw error;
      }
      await this.appendHistory(tenant, id, historyEntry(ROTATION_ACTOR, 'rotated', current, next, now));
      const changes = findingChanges(current.findings, next.findings);
      if (changes.opened.length > 0 || changes.resolved.length > 0) {
        for (const event of findingAuditEvents(next, changes, { actor: ROTATION_ACTOR, time: now })) {
          await this.audit.record(event);
        }
        const events = findingEvents(next, changes, now);
        await this.events.publish(events).catch((error: unknown) => this.onEventsFailed(error, events));
      }
      return;
    }
    throw new ConflictError(`Credential ${id} kept changing; its rotation state was not recorded`);
  }

  /** The rotation binding of a registration: checked by the registrar when there is one. */
  private async rotationBinding(
    draft: Credential,
    request: RegisterCredential,
  ): Promise<RotationBinding | undefined> {
    if (this.rotation !== undefined) return this.rotation.bind(draft, request);
    if (request.secretPath === undefined) return undefined;
    const settings = Object.fromEntries(
      ROTATION_INPUT_FIELDS.flatMap((field) =>
        request[field] === undefined ? [] : [[field, request[field]]],
      ),
    );
    return {
      secretPath: request.secretPath,
      settings,
      ...(typeof request.rotationPolicy === 'object' ? { policy: request.rotationPolicy } : {}),
    };
  }

  /**
   * The rotation binding after an update (`draft.rotation` is still the stored one): checked, with
   * its due time computed again, by the registrar; without one, merged and stored unchecked.
   */
  private async reboundRotation(
    draft: Credential,
    patch: UpdateCredential,
  ): Promise<RotationBinding | undefined> {
    if (this.rotation !== undefined) return this.rotation.rebind(draft, patch);
    const patched = patchRotation(draft.rotation, patch);
    if (patched?.secretPath === undefined) return undefined;
    return {
      secretPath: patched.secretPath,
      settings: patched.settings,
      ...(patched.policy === undefined ? {} : { policy: patched.policy }),
      ...(draft.rotation?.dueAt === undefined ? {} : { dueAt: draft.rotation.dueAt }),
    };
  }

  /** The history entry of a stored change; a refused one is reported, never fails the change. */
  private async appendHistory(tenant: string, id: string, change: CredentialChange): Promise<void> {
    await appendHistoryAfterCommit(this.store, tenant, id, change, this.onHistoryLost);
  }

  private async require(tenant: string, id: string): Promise<Credential> {
    // A malformed id cannot exist; it answers like a missing one (and like another tenant's).
    const credential = isCredentialId(id) ? await this.store.get(tenant, id) : undefined;
    if (credential === undefined) throw new NotFoundError(`No credential ${id.slice(0, 64)}`);
    return credential;
  }

  /** Findings and status of `draft` under the tenant's thresholds. */
  private async evaluate(draft: Credential, before: Credential | undefined): Promise<Credential> {
    const settings = await this.settings.get(draft.tenant);
    const findings = evaluateFindings(
      { ...draft, findings: before?.findings ?? [] },
      {
        now: this.clock.now(),
        thresholds: effectiveThresholds(settings),
        disabledRules: disabledRuleSet(settings),
      },
    );
    return { ...draft, findings, status: deriveStatus(draft, findings) };
  }

  /** Audits each opened and resolved finding (fail closed), then publishes them (best effort). */
  private async findingsChanged(
    caller: Caller,
    before: Credential | undefined,
    after: Credential,
  ): Promise<void> {
    const changes = findingChanges(before?.findings ?? [], after.findings);
    if (changes.opened.length === 0 && changes.resolved.length === 0) return;
    const time = this.clock.now().toISOString();
    const actor = auditActorOf(caller);
    for (const event of findingAuditEvents(after, changes, {
      actor,
      time,
      requestId: caller.requestId,
      correlationId: caller.correlationId,
    })) {
      await this.audit.record(event);
    }
    const events = findingEvents(after, changes, time);
    await this.events.publish(events).catch((error: unknown) => this.onEventsFailed(error, events));
  }

  private async guard<T>(
    caller: Caller,
    access: InventoryAccess,
    action: AuditAction,
    credentialId: string | undefined,
    run: () => Promise<T>,
    idOf?: (result: T) => string,
    afterAudit?: (result: T) => Promise<void>,
  ): Promise<T> {
    const result = await audited<T>({
      denial: mayAccessInventory(caller.principal, access) ? undefined : ROLE_DENIAL,
      changes: changesInventory(access),
      run,
      record: (outcome, reason, done) =>
        this.record(
          caller,
          action,
          done === undefined ? credentialId : (idOf?.(done) ?? credentialId),
          outcome,
          reason,
        ),
    });
    if (afterAudit !== undefined) await afterAudit(result);
    return result;
  }

  private record(
    caller: Caller,
    action: AuditAction,
    credentialId: string | undefined,
    outcome: AuditOutcome,
    reason?: string,
  ): Promise<void> {
    // Only a well-formed id goes into the audit log: the schema bounds identifiers, and a
    // caller's arbitrary string is not an object that exists.
    const target = credentialId !== undefined && isCredentialId(credentialId) ? { credentialId } : {};
    return this.audit.record(callerAuditEvent(caller, this.clock, { action, target, outcome, reason }));
  }
}

/** The rotation engine, as it appears in histories and audit events. */
const ROTATION_ACTOR = { kind: 'system', id: 'rotation-engine' } as const;

function actorOf({ principal }: Caller): CredentialChange['actor'] {
  return { kind: principal.kind, id: principalName(principal) };
}
