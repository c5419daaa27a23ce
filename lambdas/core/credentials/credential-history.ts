/**
 * A credential's history: which recorded fields changed between two versions, and by whom, and
 * how an entry is appended once its change is stored.
 */
import { DependencyUnavailableError } from '../errors.js';
import type { Credential, RotationBinding } from './credential.js';
import type { CredentialChange, CredentialChangeAction, CredentialStore } from './credential-store.js';
import { findingChanges } from './findings.js';

/**
 * JSON with sorted keys and without undefined fields: key order means nothing (DynamoDB maps come
 * back in any order), and an absent field is an undefined one.
 */
export function canonical(value: unknown): string {
  return (
    JSON.stringify(value, (_key, field: unknown) =>
      field !== null && typeof field === 'object' && !Array.isArray(field)
        ? Object.fromEntries(Object.entries(field).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : field,
    ) ?? 'undefined'
  );
}

/** Fields of a credential whose changes the history records. */
const TRACKED_FIELDS = [
  'name',
  'description',
  'owner',
  'tags',
  'sourceTags',
  'reference',
  'createdAt',
  'lastRotatedAt',
  'lastUsedAt',
  'usageTracked',
  'expiresAt',
  'rotationPolicy',
  'rotationState',
  'status',
  'facts',
  'goneAt',
] as const satisfies readonly (keyof Credential)[];

/**
 * Fields of a rotation binding whose changes the history records, as `rotation.<field>`. They name
 * paths, hosts, users, generator rules and policy settings, never a value (the registrar refuses
 * settings the type's rotator does not read, so nothing else can be stored in them).
 */
const TRACKED_ROTATION_FIELDS = [
  'secretPath',
  'settings',
  'policy',
  'dueAt',
] as const satisfies readonly (keyof RotationBinding)[];

/** The fields that differ between two versions of a credential, with their old and new values. */
export function credentialDiff(
  before: Credential | undefined,
  after: Credential,
): Record<string, { from: unknown; to: unknown }> {
  const changes: Record<string, { from: unknown; to: unknown }> = {};
  for (const field of TRACKED_FIELDS) {
    const from = before?.[field];
    const to = after[field];
    if (canonical(from) !== canonical(to)) changes[field] = { from: from ?? null, to: to ?? null };
  }
  for (const field of TRACKED_ROTATION_FIELDS) {
    const from = before?.rotation?.[field];
    const to = after.rotation?.[field];
    if (canonical(from) !== canonical(to))
      changes[`rotation.${field}`] = { from: from ?? null, to: to ?? null };
  }
  return changes;
}

export function historyEntry(
  actor: CredentialChange['actor'],
  action: CredentialChangeAction,
  before: Credential | undefined,
  after: Credential,
  at: string,
): CredentialChange {
  const { opened, resolved } = findingChanges(before?.findings ?? [], after.findings);
  return {
    at,
    actor,
    action,
    changes: credentialDiff(before, after),
    findingsOpened: opened.map((finding) => finding.ruleId),
    findingsResolved: resolved.map((finding) => finding.ruleId),
  };
}

/** What is known of a history entry that was lost: no field values, only which fields changed. */
export interface LostHistoryEntry {
  readonly tenant: string;
  readonly credentialId: string;
  readonly action: CredentialChange['action'];
  readonly at: string;
  readonly fields: readonly string[];
}

/** Told when a change was stored but its history entry could not be (the handler logs it). */
export type HistoryLostReporter = (error: DependencyUnavailableError, lost: LostHistoryEntry) => void;

/**
 * Appends the history entry of a change that is already stored (the credential API's and the
 * discovery engine's). Past the commit point a failure would only say that nothing happened and
 * invite the change a second time, so an unavailable store loses the entry, reported to
 * `onHistoryLost`, not the change; any other error is a bug and propagates. True when appended.
 */
export async function appendHistoryAfterCommit(
  store: Pick<CredentialStore, 'appendHistory'>,
  tenant: string,
  id: string,
  change: CredentialChange,
  onHistoryLost: HistoryLostReporter,
): Promise<boolean> {
  try {
    await store.appendHistory(tenant, id, change);
    return true;
  } catch (error: unknown) {
    if (!(error instanceof DependencyUnavailableError)) throw error;
    onHistoryLost(error, {
      tenant,
      credentialId: id,
      action: change.action,
      at: change.at,
      fields: Object.keys(change.changes),
    });
    return false;
  }
}
