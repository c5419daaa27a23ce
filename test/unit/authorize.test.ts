import { describe, expect, it } from 'vitest';

import { authorizeSecretOperation } from '../../lambdas/core/access/authorize.js';
import { type AttachedPolicies, type Policy, PolicySchema } from '../../lambdas/core/access/policy.js';
import type { MachinePrincipal, Role, UserPrincipal } from '../../lambdas/core/principal.js';
import {
  type SecretPath,
  type SecretPrefix,
  parseSecretPath,
  parseSecretPrefix,
} from '../../lambdas/core/secrets/secret-path.js';

const path = (raw: string): SecretPath => parseSecretPath(raw);
const prefix = (raw: string): SecretPrefix => parseSecretPrefix(raw);
const policy = (name: string, ...rules: Policy['rules']): Policy => PolicySchema.parse({ name, rules });

function user(...roles: Role[]): UserPrincipal {
  return {
    kind: 'user',
    subject: 'user-1',
    username: 'alice',
    tenant: 'acme',
    roles,
    scopes: [],
    clientId: 'dashboard',
  };
}

function machine(clientId: string, ...scopes: string[]): MachinePrincipal {
  return { kind: 'machine', subject: clientId, tenant: 'acme', roles: [], scopes, clientId };
}

const NOTHING: AttachedPolicies = { byGroup: {}, byClient: {} };

describe('authorizeSecretOperation', () => {
  it('lets a viewer list and read metadata but never read a value', () => {
    // Prepare: a viewer, even with a group policy that grants read.
    const viewer = user('viewer');
    const attached: AttachedPolicies = {
      byGroup: { viewer: [policy('generous', { path: '*', capabilities: ['read', 'list'] })] },
      byClient: {},
    };

    // Act
    const list = authorizeSecretOperation(viewer, NOTHING, prefix('prod/'), 'list');
    const metadata = authorizeSecretOperation(viewer, NOTHING, path('prod/db'), 'readMetadata');
    const value = authorizeSecretOperation(viewer, NOTHING, path('prod/db'), 'readValue');
    const valueWithGrant = authorizeSecretOperation(viewer, attached, path('prod/db'), 'readValue');

    // Assess
    expect(list.allowed).toBe(true);
    expect(metadata.allowed).toBe(true);
    expect(value).toMatchObject({ allowed: false, reason: expect.stringContaining("do not grant 'read'") });
    expect(valueWithGrant.allowed).toBe(false);
  });

  it('narrows a role by the policies attached to its group', () => {
    // Prepare: operators may only read in prod/, and nobody below admin sees hr/.
    const operator = user('operator');
    const attached: AttachedPolicies = {
      byGroup: {
        operator: [
          policy('prod-read-only', { path: 'prod/*', capabilities: ['read', 'list'] }),
          policy('no-hr', { path: 'hr/*', capabilities: ['deny'] }),
        ],
      },
      byClient: {},
    };

    // Act
    const updateProd = authorizeSecretOperation(operator, attached, path('prod/db'), 'update');
    const readProd = authorizeSecretOperation(operator, attached, path('prod/db'), 'readValue');
    const updateDev = authorizeSecretOperation(operator, attached, path('dev/db'), 'update');
    const listHr = authorizeSecretOperation(operator, attached, prefix('hr/'), 'list');
    const updateProdUnattached = authorizeSecretOperation(operator, NOTHING, path('prod/db'), 'update');

    // Assess
    expect(updateProd.allowed).toBe(false);
    expect(readProd).toMatchObject({ allowed: true, matchedRule: { policy: 'prod-read-only' } });
    expect(updateDev).toMatchObject({ allowed: true, matchedRule: { policy: 'default-operator' } });
    expect(listHr).toMatchObject({ allowed: false, matchedRule: { policy: 'no-hr' } });
    expect(updateProdUnattached.allowed).toBe(true);
  });

  it('limits a machine client to its attached policies and what its scopes allow', () => {
    // Prepare: the CI client may read and write under ci/.
    const attached: AttachedPolicies = {
      byGroup: {},
      byClient: {
        ci: [policy('ci-rw', { path: 'ci/*', capabilities: ['read', 'list', 'create', 'update'] })],
      },
    };
    const reader = machine('ci', 'vaultpilot/read');
    const writer = machine('ci', 'vaultpilot/read', 'vaultpilot/write');
    const stranger = machine('other', 'vaultpilot/read', 'vaultpilot/write', 'vaultpilot/admin');

    // Act + Assess: within ci/ and its scopes only.
    expect(authorizeSecretOperation(reader, attached, path('ci/app/token'), 'readValue').allowed).toBe(true);
    expect(authorizeSecretOperation(reader, attached, path('ci/app/token'), 'create').allowed).toBe(false);
    expect(authorizeSecretOperation(writer, attached, path('ci/app/token'), 'create').allowed).toBe(true);
    expect(authorizeSecretOperation(writer, attached, path('ci/app/token'), 'destroy').allowed).toBe(false);
    expect(authorizeSecretOperation(writer, attached, path('prod/db'), 'readValue')).toMatchObject({
      allowed: false,
      reason: "no policy rule matches 'prod/db'",
    });
    expect(authorizeSecretOperation(stranger, attached, path('ci/app/token'), 'readValue').allowed).toBe(
      false,
    );
  });
});
