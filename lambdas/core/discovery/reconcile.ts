/**
 * Reconciliation: what a discovery run changes in a tenant's inventory, as a pure function of
 * the stored credentials, what the sources reported, which scopes were listed to the end, the
 * thresholds and the time. Idempotent by construction: reporting the same facts again yields no
 * change, so a second run over an unchanged account writes nothing.
 *
 * - A reported credential is created (`discovered`), updated (`refreshed`) or, if it had been
 *   marked gone, brought back (`returned`). Its id comes from its natural key, so the same key is
 *   always the same record, however often and however concurrently it is reported.
 * - A discovered credential of a completely listed scope that was not reported is marked `gone`
 *   (kept, never deleted). Scopes that failed are not judged.
 * - Every credential's findings are evaluated again (time alone can open a finding), and only
 *   credentials whose facts, findings or status changed are written.
 */
import {
  type Credential,
  type CredentialStatus,
  discoveredCredentialId,
  type FactValue,
} from '../credentials/credential.js';
import type { CredentialChangeAction } from '../credentials/credential-store.js';
import { credentialDiff } from '../credentials/credential-history.js';
import {
  deriveStatus,
  evaluateFindings,
  type Finding,
  type FindingRuleId,
  type FindingThresholds,
} from '../credentials/findings.js';
import type { DiscoveredCredential } from './cloud-source.js';

export interface ReconcileInput {
  readonly tenant: string;
  readonly now: Date;
  readonly existing: readonly Credential[];
  readonly reported: readonly DiscoveredCredential[];
  readonly completeScopes: ReadonlySet<string>;
  readonly thresholds: FindingThresholds;
  readonly disabledRules: ReadonlySet<FindingRuleId>;
}

export interface PlannedChange {
  readonly before: Credential | undefined;
  readonly after: Credential;
  readonly action: CredentialChangeAction;
}

export interface ReconcilePlan {
  readonly changes: readonly PlannedChange[];
  /** Distinct credentials reported. */
  readonly seen: number;
  readonly unchanged: number;
}

const DAY_MS = 86_400_000;

/**
 * Last use moves with every call a key makes; recording it to the minute would rewrite every busy
 * credential on every run. Within a day of the recorded time it is kept, which is the precision
 * the usage findings need (and more than Secrets Manager reports, which is the day).
 */
function sameDay(a: string | undefined, b: string | undefined): boolean {
  return a !== undefined && b !== undefined && Math.abs(Date.parse(a) - Date.parse(b)) < DAY_MS;
}

function merge(
  tenant: string,
  id: string,
  before: Credential | undefined,
  d: DiscoveredCredential,
  now: string,
): Credential {
  let lastUsedAt = d.lastUsedAt;
  let usageTracked = d.usageTracked;
  let facts: Record<string, FactValue> = { ...d.facts };
  const keepUsage = (): void => {
    lastUsedAt = before?.lastUsedAt;
    for (const [key, value] of Object.entries(before?.facts ?? {}))
      if (key.startsWith('lastUsed')) facts[key] = value;
    for (const key of Object.keys(facts))
      if (key.startsWith('lastUsed') && before?.facts[key] === undefined) delete facts[key];
  };
  if (!d.usageTracked && before?.usageTracked === true) {
    // The source could not say this time (e.g. access denied on the usage call): keep what it said before.
    usageTracked = true;
    keepUsage();
  } else if (sameDay(before?.lastUsedAt, d.lastUsedAt)) {
    keepUsage();
  }
  facts = Object.fromEntries(Object.entries(facts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return {
    id,
    tenant,
    type: d.type,
    source: 'discovered',
    name: d.name,
    description: d.description ?? before?.description,
    reference: d.reference,
    owner: before?.owner ?? d.ownerHint,
    tags: before?.tags ?? {},
    sourceTags: d.sourceTags,
    createdAt: d.createdAt,
    lastRotatedAt: d.lastRotatedAt,
    lastUsedAt,
    usageTracked,
    expiresAt: d.expiresAt,
    rotationPolicy: before?.rotationPolicy,
    rotationState: before?.rotationState,
    status: before?.status ?? 'healthy',
    findings: before?.findings ?? [],
    facts,
    scope: d.scope,
    registeredAt: before?.registeredAt ?? now,
    updatedAt: before?.updatedAt ?? now,
    goneAt: undefined,
    revision: before?.revision ?? 0,
  };
}

function sameFindings(a: readonly Finding[], b: readonly Finding[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (finding, index) => finding.ruleId === b[index]?.ruleId && finding.severity === b[index]?.severity,
    )
  );
}

function actionOf(
  before: Credential | undefined,
  after: Credential,
  factsChanged: boolean,
): CredentialChangeAction {
  if (before === undefined) return 'discovered';
  if (before.goneAt === undefined && after.goneAt !== undefined) return 'gone';
  if (before.goneAt !== undefined && after.goneAt === undefined) return 'returned';
  return factsChanged ? 'refreshed' : 'evaluated';
}

/** Fields that change the record without being facts the history should show on their own. */
const DERIVED: ReadonlySet<string> = new Set(['status']);

export function reconcile(input: ReconcileInput): ReconcilePlan {
  const now = input.now.toISOString();
  const existing = new Map(input.existing.map((credential) => [credential.id, credential]));
  const candidates = new Map<string, Credential>();

  for (const reported of input.reported) {
    const id = discoveredCredentialId(reported.type, reported.naturalKey);
    // The same account reached twice (ambient credentials and a role in it) reports twice.
    if (candidates.has(id)) continue;
    const before = existing.get(id);
    if (before !== undefined && before.source !== 'discovered') continue;
    candidates.set(id, merge(input.tenant, id, before, reported, now));
  }
  const seen = candidates.size;

  for (const credential of input.existing) {
    if (candidates.has(credential.id)) continue;
    const vanished =
      credential.source === 'discovered' &&
      credential.goneAt === undefined &&
      credential.scope !== undefined &&
      input.completeScopes.has(credential.scope);
    candidates.set(credential.id, vanished ? { ...credential, goneAt: now } : credential);
  }

  const context = { now: input.now, thresholds: input.thresholds, disabledRules: input.disabledRules };
  const changes: PlannedChange[] = [];
  let unchanged = 0;
  for (const candidate of candidates.values()) {
    const before = existing.get(candidate.id);
    const findings = evaluateFindings(candidate, context);
    const status: CredentialStatus = deriveStatus(candidate, findings);
    const evaluated: Credential = { ...candidate, findings, status };
    const diff = credentialDiff(before, evaluated);
    const factsChanged = Object.keys(diff).some((field) => !DERIVED.has(field));
    if (before !== undefined && Object.keys(diff).length === 0 && sameFindings(before.findings, findings)) {
      unchanged += 1;
      continue;
    }
    changes.push({
      before,
      after: { ...evaluated, updatedAt: now, revision: (before?.revision ?? 0) + 1 },
      action: actionOf(before, evaluated, factsChanged),
    });
  }
  return { changes, seen, unchanged };
}
