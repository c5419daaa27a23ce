/** Builders of inventory records for tests: a complete credential with overridable facts. */
import type { Credential } from '../../lambdas/core/credentials/credential.js';
import type { DiscoveredCredential } from '../../lambdas/core/discovery/cloud-source.js';

export const DAY = 86_400_000;
export const NOW = new Date('2026-03-10T12:00:00.000Z');

/** An ISO time `days` days before NOW (negative: after). */
export function daysAgo(days: number): string {
  return new Date(NOW.getTime() - days * DAY).toISOString();
}

export function credential(overrides: Partial<Credential> = {}): Credential {
  return {
    id: 'cr_000000000000000000000001',
    tenant: 'acme',
    type: 'api-token',
    source: 'managed',
    name: 'a credential',
    description: undefined,
    reference: {},
    owner: undefined,
    tags: {},
    sourceTags: {},
    createdAt: daysAgo(10),
    lastRotatedAt: undefined,
    lastUsedAt: undefined,
    usageTracked: false,
    expiresAt: undefined,
    rotationPolicy: undefined,
    rotationState: undefined,
    status: 'healthy',
    findings: [],
    facts: {},
    scope: undefined,
    registeredAt: daysAgo(10),
    updatedAt: daysAgo(10),
    goneAt: undefined,
    revision: 1,
    ...overrides,
  };
}

/** An active IAM user access key as discovery reports it. */
export function accessKey(overrides: Partial<Credential> = {}): Credential {
  return credential({
    type: 'aws-iam-access-key',
    source: 'discovered',
    name: 'AKIAEXAMPLE00000001 (alice)',
    reference: { account: '111122223333', keyId: 'AKIAEXAMPLE00000001', userName: 'alice' },
    usageTracked: true,
    facts: { keyStatus: 'Active', activeKeysOnUser: 1 },
    scope: 'aws:111122223333:iam',
    ...overrides,
  });
}

export function discoveredKey(
  keyId: string,
  overrides: Partial<DiscoveredCredential> = {},
): DiscoveredCredential {
  return {
    type: 'aws-iam-access-key',
    naturalKey: `111122223333:${keyId}`,
    scope: 'aws:111122223333:iam',
    name: `${keyId} (alice)`,
    reference: { account: '111122223333', keyId, userName: 'alice' },
    createdAt: daysAgo(10),
    lastRotatedAt: daysAgo(10),
    lastUsedAt: daysAgo(1),
    usageTracked: true,
    sourceTags: {},
    facts: { keyStatus: 'Active', activeKeysOnUser: 1 },
    ...overrides,
  };
}
