/**
 * `SecretAccess#write` authorizes and audits before it reads anything of the secret (issue 12):
 * whether a write creates or updates decides the capability it needs, so the metadata read comes
 * after the `attempted` record, and a failing read leaves that record and a `failed` one.
 */
import { describe, expect, it } from 'vitest';
import type { PolicyStore } from '../../lambdas/core/access/policy-store.js';
import type { AuditEvent } from '../../lambdas/core/audit/audit-event.js';
import type { Caller } from '../../lambdas/core/audit/caller.js';
import { DependencyUnavailableError, ForbiddenError } from '../../lambdas/core/errors.js';
import type { Role } from '../../lambdas/core/principal.js';
import type { SecretsService } from '../../lambdas/core/secrets/kv-service.js';
import { SecretAccess } from '../../lambdas/core/secrets/secret-access.js';

function caller(roles: Role[]): Caller {
  return {
    principal: {
      kind: 'user',
      subject: 'sub-1',
      username: 'olga',
      tenant: 'acme',
      roles,
      scopes: [],
      clientId: 'dashboard',
    },
    requestId: 'req-1',
  };
}

const NO_POLICIES = { attachments: async () => ({ byGroup: {}, byClient: {} }) } as unknown as PolicyStore;

function secretAccess(secrets: Partial<SecretsService>) {
  const audited: AuditEvent[] = [];
  const access = new SecretAccess(
    secrets as SecretsService,
    NO_POLICIES,
    { record: async (event) => void audited.push(event) },
    { now: () => new Date('2026-12-06T10:00:00Z') },
  );
  return { access, audited };
}

describe('SecretAccess#write', () => {
  it('records the attempt before reading the metadata, so a failing read leaves a trace', async () => {
    // Prepare
    const reads: number[] = [];
    const { access, audited } = secretAccess({
      metadataIfAny: async () => {
        reads.push(audited.length);
        throw new DependencyUnavailableError('The secret store is unavailable; retry shortly', 1);
      },
    });

    // Act
    const write = access.write(caller(['admin']), 'prod/db', { password: 'not-audited' });

    // Assess
    await expect(write).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(reads).toEqual([1]);
    expect(audited.map((event) => [event.action, event.outcome, event.reason])).toEqual([
      ['secret.write', 'attempted', undefined],
      ['secret.write', 'failed', 'ServiceUnavailable'],
    ]);
    expect(JSON.stringify(audited)).not.toContain('not-audited');
  });

  it('refuses a caller who may neither create nor update without reading anything', async () => {
    // Prepare
    let read = false;
    const { access, audited } = secretAccess({
      metadataIfAny: async () => {
        read = true;
        return undefined;
      },
    });

    // Act
    const write = access.write(caller(['viewer']), 'prod/db', { password: 'x' });

    // Assess
    await expect(write).rejects.toBeInstanceOf(ForbiddenError);
    expect(read).toBe(false);
    expect(audited.map((event) => [event.action, event.outcome])).toEqual([['secret.write', 'denied']]);
  });
});
