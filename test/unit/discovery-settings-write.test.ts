/**
 * Writing the discovery settings: the tenant's registration (which the engine finds tenants by)
 * comes before the settings themselves, so a registration the storage refuses answers 503 with
 * the settings unchanged, and a stored write is never answered 503 for a step after it.
 */
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../lambdas/core/audit/audit-event.js';
import type { Caller } from '../../lambdas/core/audit/caller.js';
import type { CredentialStore } from '../../lambdas/core/credentials/credential-store.js';
import { DiscoveryControl } from '../../lambdas/core/discovery/control.js';
import type { DiscoveryRunStore } from '../../lambdas/core/discovery/run.js';
import {
  DEFAULT_DISCOVERY_SETTINGS,
  type DiscoverySettingsStore,
  type StoredDiscoverySettings,
} from '../../lambdas/core/discovery/settings.js';
import { DependencyUnavailableError } from '../../lambdas/core/errors.js';

const admin: Caller = {
  principal: {
    kind: 'user',
    subject: 'sub-1',
    username: 'ada',
    tenant: 'acme',
    roles: ['admin'],
    scopes: [],
    clientId: 'dashboard',
  },
  requestId: 'req-1',
};

function control(refuseRegistration: boolean) {
  const calls: string[] = [];
  let stored: StoredDiscoverySettings = DEFAULT_DISCOVERY_SETTINGS;
  const settings: DiscoverySettingsStore = {
    get: async () => stored,
    put: async (_tenant, next, options) => {
      calls.push('settings.put');
      stored = { ...next, revision: stored.revision + 1, updatedAt: options.now };
      return stored;
    },
  };
  const credentials = {
    registerTenant: async () => {
      calls.push('registerTenant');
      if (refuseRegistration)
        throw new DependencyUnavailableError('The credential inventory is unavailable', 1);
    },
  } as unknown as CredentialStore;
  const audited: AuditEvent[] = [];
  const discovery = new DiscoveryControl(
    {} as DiscoveryRunStore,
    settings,
    credentials,
    { record: async (event: AuditEvent) => void audited.push(event) },
    { publish: async () => undefined },
    { now: () => new Date('2026-12-06T12:00:00Z') },
  );
  return { discovery, calls, stored: () => stored };
}

describe('writing the discovery settings', () => {
  it('registers the tenant before it stores the settings', async () => {
    // Prepare
    const { discovery, calls, stored } = control(false);

    // Act
    const written = await discovery.putSettings(admin, { disabledRules: [] });

    // Assess
    expect(calls).toEqual(['registerTenant', 'settings.put']);
    expect(written.revision).toBe(1);
    expect(stored().revision).toBe(1);
  });

  it('answers 503 with the settings unchanged when the registration is refused', async () => {
    // Prepare
    const { discovery, calls, stored } = control(true);

    // Act
    const written = discovery.putSettings(admin, { disabledRules: [] });

    // Assess
    await expect(written).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(calls).toEqual(['registerTenant']);
    expect(stored()).toBe(DEFAULT_DISCOVERY_SETTINGS);
  });
});
