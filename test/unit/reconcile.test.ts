/**
 * Reconciliation as a pure function: idempotent upserts, `gone` only within scopes listed to the
 * end, credentials that come back, managed credentials left alone, last-use churn kept out.
 */
import { describe, expect, it } from 'vitest';
import { type Credential, discoveredCredentialId } from '../../lambdas/core/credentials/credential.js';
import { DEFAULT_THRESHOLDS } from '../../lambdas/core/credentials/findings.js';
import type { DiscoveredCredential } from '../../lambdas/core/discovery/cloud-source.js';
import { reconcile } from '../../lambdas/core/discovery/reconcile.js';
import { credential, DAY, daysAgo, discoveredKey, NOW } from '../support/credentials.js';

const IAM = 'aws:111122223333:iam';

function run(
  existing: readonly Credential[],
  reported: readonly DiscoveredCredential[],
  complete = [IAM],
  now = NOW,
) {
  return reconcile({
    tenant: 'acme',
    now,
    existing,
    reported,
    completeScopes: new Set(complete),
    thresholds: DEFAULT_THRESHOLDS,
    disabledRules: new Set(),
  });
}

/** The inventory after applying a plan to `existing`. */
function apply(existing: readonly Credential[], plan: ReturnType<typeof run>): Credential[] {
  const byId = new Map(existing.map((c) => [c.id, c]));
  for (const change of plan.changes) byId.set(change.after.id, change.after);
  return [...byId.values()];
}

describe('reconcile', () => {
  it('creates reported credentials with ids from their natural keys, then changes nothing on a rerun', () => {
    const reported = [discoveredKey('AKIAEXAMPLE00000001'), discoveredKey('AKIAEXAMPLE00000002')];
    const first = run([], reported);
    expect(first.changes.map((change) => change.action)).toEqual(['discovered', 'discovered']);
    expect(first.changes[0]?.after).toMatchObject({
      id: discoveredCredentialId('aws-iam-access-key', '111122223333:AKIAEXAMPLE00000001'),
      source: 'discovered',
      status: 'healthy',
      revision: 1,
      registeredAt: NOW.toISOString(),
    });
    const inventory = apply([], first);
    const second = run(inventory, reported, [IAM], new Date(NOW.getTime() + 3_600_000));
    expect(second.changes).toEqual([]);
    expect(second).toMatchObject({ seen: 2, unchanged: 2 });
  });

  it('judges the whole inventory: changes plus unchanged are every credential, seen only those reported', () => {
    // Prepare: a managed credential and two discovered ones; the next run reports one of them and
    // a new one (the scope listed to the end, so the other is gone).
    const managed = credential({ id: 'cr_00000000000000000000000a' });
    const first = [discoveredKey('AKIAEXAMPLE00000001'), discoveredKey('AKIAEXAMPLE00000002')];
    const inventory = apply([managed], run([managed], first));

    // Act
    const plan = run(
      inventory,
      [discoveredKey('AKIAEXAMPLE00000001'), discoveredKey('AKIAEXAMPLE00000003')],
      [IAM],
      new Date(NOW.getTime() + 3_600_000),
    );

    // Assess: seen counts what was reported; the managed one and the one reported as before are
    // unchanged; one created, one gone: 2 changes + 2 unchanged = the 4 credentials there are now.
    expect(plan.seen).toBe(2);
    expect(plan.changes.map((change) => change.action).sort()).toEqual(['discovered', 'gone']);
    expect(plan.unchanged).toBe(2);
    expect(plan.changes.length + plan.unchanged).toBe(apply(inventory, plan).length);
  });

  it('counts a credential reported twice (one account reached two ways) once', () => {
    const plan = run([], [discoveredKey('AKIAEXAMPLE00000001'), discoveredKey('AKIAEXAMPLE00000001')]);
    expect(plan.changes).toHaveLength(1);
    expect(plan.seen).toBe(1);
  });

  it('marks a credential that disappeared from a completely listed scope gone, keeping it', () => {
    const inventory = apply(
      [],
      run([], [discoveredKey('AKIAEXAMPLE00000001'), discoveredKey('AKIAEXAMPLE00000002')]),
    );
    const plan = run(inventory, [discoveredKey('AKIAEXAMPLE00000001')]);
    expect(plan.changes).toHaveLength(1);
    expect(plan.changes[0]).toMatchObject({
      action: 'gone',
      after: { status: 'gone', goneAt: NOW.toISOString(), findings: [], revision: 2 },
    });
  });

  it('does not judge a scope whose listing failed', () => {
    const inventory = apply([], run([], [discoveredKey('AKIAEXAMPLE00000001')]));
    expect(run(inventory, [], []).changes).toEqual([]);
  });

  it('brings back a credential found again after it was gone', () => {
    const inventory = apply([], run([], [discoveredKey('AKIAEXAMPLE00000001')]));
    const gone = apply(inventory, run(inventory, []));
    const plan = run(gone, [discoveredKey('AKIAEXAMPLE00000001')]);
    expect(plan.changes[0]).toMatchObject({
      action: 'returned',
      after: { status: 'healthy', goneAt: undefined },
    });
  });

  it('never marks a managed credential gone, and keeps what people set on discovered ones', () => {
    const managed = credential({ id: 'cr_00000000000000000000000a' });
    const inventory = apply([managed], run([managed], [discoveredKey('AKIAEXAMPLE00000001')]));
    const key = inventory.find((c) => c.type === 'aws-iam-access-key') as Credential;
    const owned = inventory.map((c) => (c.id === key.id ? { ...c, owner: 'alice', tags: { team: 'a' } } : c));
    const plan = run(owned, [
      discoveredKey('AKIAEXAMPLE00000001', {
        ownerHint: 'someone-else',
        lastRotatedAt: daysAgo(5),
        createdAt: daysAgo(5),
      }),
    ]);
    expect(plan.changes).toHaveLength(1);
    expect(plan.changes[0]).toMatchObject({
      action: 'refreshed',
      after: { owner: 'alice', tags: { team: 'a' } },
    });
    expect(run(owned, [], [IAM]).changes.map((change) => change.after.id)).toEqual([key.id]);
  });

  it('opens findings as time passes, without a new report', () => {
    const inventory = apply(
      [],
      run([], [discoveredKey('AKIAEXAMPLE00000001', { createdAt: daysAgo(85), lastUsedAt: daysAgo(1) })]),
    );
    const later = new Date(NOW.getTime() + 10 * DAY);
    const plan = run(
      inventory,
      [discoveredKey('AKIAEXAMPLE00000001', { createdAt: daysAgo(85), lastUsedAt: daysAgo(1) })],
      [IAM],
      later,
    );
    expect(plan.changes[0]).toMatchObject({
      action: 'evaluated',
      after: {
        status: 'overdue',
        findings: [{ ruleId: 'iam-access-key-too-old', since: later.toISOString() }],
      },
    });
  });

  it('keeps last use within a day, so busy keys are not rewritten on every run', () => {
    const inventory = apply([], run([], [discoveredKey('AKIAEXAMPLE00000001', { lastUsedAt: daysAgo(1) })]));
    const sameDay = run(inventory, [
      discoveredKey('AKIAEXAMPLE00000001', {
        lastUsedAt: daysAgo(0.5),
        facts: { keyStatus: 'Active', activeKeysOnUser: 1 },
      }),
    ]);
    expect(sameDay.changes).toEqual([]);
    const nextDay = run(inventory, [discoveredKey('AKIAEXAMPLE00000001', { lastUsedAt: daysAgo(-0.5) })]);
    expect(nextDay.changes[0]?.after.lastUsedAt).toBe(daysAgo(-0.5));
  });

  it('keeps known use when the source could not read it this time', () => {
    const inventory = apply([], run([], [discoveredKey('AKIAEXAMPLE00000001', { lastUsedAt: daysAgo(3) })]));
    const plan = run(inventory, [
      discoveredKey('AKIAEXAMPLE00000001', { lastUsedAt: undefined, usageTracked: false }),
    ]);
    expect(plan.changes).toEqual([]);
  });
});
