import { describe, expect, it } from 'vitest';

import {
  type AttachedPolicies,
  DEFAULT_ROLE_POLICIES,
  type KvOperation,
  type Policy,
  PolicySchema,
  RuleSchema,
  SCOPE_CAPABILITIES,
  effectivePolicies,
  evaluate,
  globMatches,
  requiredCapabilities,
} from '../../lambdas/core/access/policy.js';
import { type MachinePrincipal, type Role, ROLES, type UserPrincipal } from '../../lambdas/core/principal.js';
import {
  type SecretPath,
  type SecretPrefix,
  parseSecretPath,
  parseSecretPrefix,
} from '../../lambdas/core/secrets/secret-path.js';
import { ALL_SCOPES, SCOPES } from '../../lambdas/shared/scopes.js';

const path = (raw: string): SecretPath => parseSecretPath(raw);
const prefix = (raw: string): SecretPrefix => parseSecretPrefix(raw);

/** Evaluates any operation: listing on a prefix, everything else on a path. */
function decide(policies: readonly Policy[], target: string, operation: KvOperation) {
  return operation === 'list'
    ? evaluate(policies, prefix(target), operation)
    : evaluate(policies, path(target), operation);
}

const policy = (name: string, ...rules: Policy['rules']): Policy => PolicySchema.parse({ name, rules });

function user(roles: Role[]): UserPrincipal {
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

function machine(scopes: string[], clientId = 'ci-deployer'): MachinePrincipal {
  return { kind: 'machine', subject: clientId, tenant: 'acme', roles: [], scopes, clientId };
}

/** Each zod issue as [dotted path, message]. */
function issuesOf(result: { error?: { issues: { path: PropertyKey[]; message: string }[] } }) {
  return result.error?.issues.map((issue) => [issue.path.map(String).join('.'), issue.message]);
}

const NOTHING_ATTACHED: AttachedPolicies = { byGroup: {}, byClient: {} };

describe('requiredCapabilities', () => {
  it.each<[KvOperation, string[]]>([
    ['readValue', ['read']],
    ['readMetadata', ['read', 'list']],
    ['list', ['list']],
    ['create', ['create']],
    ['update', ['update']],
    ['softDelete', ['delete']],
    ['undelete', ['update']],
    ['destroy', ['destroy']],
    ['deleteAll', ['destroy']],
    ['writeMetadata', ['update']],
  ])('%s needs one of %j', (operation, capabilities) => {
    expect(requiredCapabilities(operation)).toEqual(capabilities);
  });
});

describe('globMatches', () => {
  it.each([
    ['prod/db', 'prod/db', true],
    ['prod/db', 'prod/db/x', false],
    ['prod/db', 'prod/dbx', false],
    ['prod/db', 'Prod/db', false],
    ['prod/*', 'prod/a', true],
    ['prod/*', 'prod/a/b', true],
    ['prod/*', 'prod/', true],
    ['prod/*', 'prod', false],
    ['prod/*', 'production/a', false],
    ['prod/db*', 'prod/db', true],
    ['prod/db*', 'prod/db1/x', true],
    ['prod/db*', 'prod/d', false],
    ['prod/+/password', 'prod/db/password', true],
    ['prod/+/password', 'prod/db/replica/password', false],
    ['prod/+/password', 'prod//password', false],
    ['prod/+/password', 'prod/db/password2', false],
    ['+/db/*', 'prod/db/x', true],
    ['+/db/*', 'dev/db/x/y', true],
    ['+/db/*', 'db/x', false],
    ['+/db/*', 'prod/cache/x', false],
    ['+', 'prod', true],
    ['+', 'prod/db', false],
    ['*', 'anything/at/all', true],
    ['*', '', true],
    ['prod/', 'prod/', true],
    ['prod/', 'prod', false],
    ['prod/', 'prod/a/', false],
    ['+/', 'prod/', true],
    ['+/*', 'prod/', true],
    ['+/*', '', false],
  ])('%s against %j is %s', (glob, target, expected) => {
    expect(globMatches(glob, target)).toBe(expected);
  });
});

describe('evaluate', () => {
  it('denies when no rule matches, naming the path', () => {
    // Prepare
    const policies = [policy('team', { path: 'dev/*', capabilities: ['read'] })];

    // Act
    const decision = decide(policies, 'prod/db', 'readValue');

    // Assess
    expect(decision).toEqual({ allowed: false, reason: "no policy rule matches 'prod/db'" });
  });

  it('denies with no policies at all', () => {
    expect(decide([], 'prod/db', 'readMetadata').allowed).toBe(false);
  });

  it('allows through a matching rule and names it', () => {
    // Prepare
    const rule = { path: 'prod/+/password', capabilities: ['read' as const] };

    // Act
    const decision = decide([policy('team', rule)], 'prod/db/password', 'readValue');

    // Assess
    expect(decision).toEqual({
      allowed: true,
      matchedRule: { policy: 'team', rule },
      reason: "readValue on 'prod/db/password' is allowed by policy 'team' (rule 'prod/+/password')",
    });
  });

  describe('the most specific matching rules decide', () => {
    // Each pair: the broader rule grants everything, the more specific one only `list`, so an
    // update is allowed exactly when the broader rule wins.
    it.each([
      ['exact beats glob', 'prod/db', 'prod/db*', 'prod/db'],
      ['exact beats +', 'prod/db/password', 'prod/+/password', 'prod/db/password'],
      ['a later wildcard beats an earlier one', 'prod/+/password', '+/db/password', 'prod/db/password'],
      ['a later * beats an earlier *', 'prod/db/*', 'prod/*', 'prod/db/password'],
      ['not ending in * beats ending in *', 'prod/+', 'prod/*', 'prod/db'],
      ['fewer + beat more', 'prod/+/password', 'prod/+/+', 'prod/db/password'],
      ['fewer + beat more, even a longer glob', 'a/+/c*', 'a/+/+/*', 'a/b/c/d'],
      ['a longer glob beats a shorter one', 'prod/db*', 'prod/d*', 'prod/db1'],
      ['any glob beats *', '+/+/+', '*', 'prod/db/password'],
    ])('%s: %s over %s', (_, specific, broad, target) => {
      // Prepare
      const policies = [
        policy('broad', { path: broad, capabilities: ['read', 'list', 'update'] }),
        policy('specific', { path: specific, capabilities: ['list'] }),
      ];

      // Act
      const update = decide(policies, target, 'update');
      const list = decide(policies, target, 'readMetadata');

      // Assess
      expect(update.allowed).toBe(false);
      expect(update.reason).toBe(
        `the most specific rules for '${target}' ('${specific}') do not grant 'update' for update`,
      );
      expect(list.matchedRule?.rule.path).toBe(specific);
    });

    it('unions the capabilities of equally specific rules across policies', () => {
      // Prepare
      const policies = [
        policy('readers', { path: 'prod/*', capabilities: ['read'] }),
        policy('writers', { path: 'prod/*', capabilities: ['update'] }),
        policy('broad', { path: '*', capabilities: ['destroy'] }),
      ];

      // Act
      const read = decide(policies, 'prod/db', 'readValue');
      const update = decide(policies, 'prod/db', 'update');
      const destroy = decide(policies, 'prod/db', 'destroy');

      // Assess
      expect(read.matchedRule?.policy).toBe('readers');
      expect(update.matchedRule?.policy).toBe('writers');
      expect([read.allowed, update.allowed, destroy.allowed]).toEqual([true, true, false]);
    });

    it('unions different globs of equal specificity that both match', () => {
      // Prepare
      const policies = [
        policy('a', { path: '+/b/+', capabilities: ['read'] }),
        policy('b', { path: '+/+/c', capabilities: ['update'] }),
      ];

      // Act
      const update = decide(policies, 'a/b/c', 'update');

      // Assess
      expect(update).toMatchObject({ allowed: true, matchedRule: { policy: 'b' } });
    });
  });

  describe('explicit deny wins', () => {
    it.each([
      ['a broad deny over a specific grant', '*', 'prod/db/password'],
      ['a deny by + over an exact grant', 'prod/+/password', 'prod/db/password'],
      ['an exact deny', 'prod/db/password', 'prod/db/password'],
    ])('%s', (_, denyPath, grantPath) => {
      // Prepare
      const policies = [
        policy('grant', { path: grantPath, capabilities: ['read', 'list', 'update', 'destroy'] }),
        policy('block', { path: denyPath, capabilities: ['deny'] }),
      ];

      // Act
      const decisions = (['readValue', 'readMetadata', 'update', 'destroy'] as const).map((operation) =>
        decide(policies, 'prod/db/password', operation),
      );

      // Assess
      for (const decision of decisions) {
        expect(decision).toEqual({
          allowed: false,
          matchedRule: { policy: 'block', rule: { path: denyPath, capabilities: ['deny'] } },
          reason: `'prod/db/password' is denied explicitly by policy 'block' (rule '${denyPath}')`,
        });
      }
    });

    it('denies even when deny shares a rule with other capabilities', () => {
      // Prepare
      const policies = [policy('mixed', { path: 'prod/*', capabilities: ['read', 'deny'] })];

      // Act
      const decision = decide(policies, 'prod/db', 'readValue');

      // Assess
      expect(decision.allowed).toBe(false);
    });

    it('leaves paths the deny does not match alone', () => {
      // Prepare
      const policies = [
        policy('grant', { path: '*', capabilities: ['read'] }),
        policy('block', { path: 'prod/*', capabilities: ['deny'] }),
      ];

      // Act
      const decision = decide(policies, 'dev/db', 'readValue');

      // Assess
      expect(decision.allowed).toBe(true);
    });
  });

  describe('listing prefixes', () => {
    it.each([
      ['prod/*', 'prod/', true],
      ['prod/*', 'prod/db/', true],
      ['prod/*', 'production/', false],
      ['prod/*', '', false],
      ['*', '', true],
      ['prod/', 'prod/', true],
      ['prod/', 'prod/db/', false],
      ['prod/db', 'prod/db/', false],
      ['+/db/*', 'dev/db/', true],
    ])('list on %s covers listing %j: %s', (glob, target, expected) => {
      // Prepare
      const policies = [policy('lister', { path: glob, capabilities: ['list'] })];

      // Act
      const decision = decide(policies, target, 'list');

      // Assess
      expect(decision.allowed).toBe(expected);
    });

    it('needs list, not read, to list', () => {
      // Prepare
      const policies = [policy('reader', { path: 'prod/*', capabilities: ['read', 'update'] })];

      // Act
      const decision = decide(policies, 'prod/', 'list');

      // Assess
      expect(decision.allowed).toBe(false);
      expect(decision.reason).toBe(
        "the most specific rules for 'prod/' ('prod/*') do not grant 'list' for list",
      );
    });
  });
});

describe('PolicySchema', () => {
  it.each([
    '*',
    'prod/*',
    'prod/db*',
    'prod/+/password',
    '+/db/*',
    '+',
    'prod/',
    '+/',
    'prod/.*',
    'prod/db/password',
  ])('accepts the rule path %s', (glob) => {
    expect(RuleSchema.safeParse({ path: glob, capabilities: ['read'] }).success).toBe(true);
  });

  it.each([
    [{ path: 'prod/*', capabilities: ['write'] }, 'capabilities.0', 'Invalid option'],
    [{ path: 'prod/*', capabilities: [] }, 'capabilities', 'A rule needs at least one capability'],
    [
      { path: 'prod/*/password', capabilities: ['read'] },
      'path',
      "Policy path may contain '*' only as its last character",
    ],
    [
      { path: '*/db', capabilities: ['read'] },
      'path',
      "Policy path may contain '*' only as its last character",
    ],
    [
      { path: 'prod/**', capabilities: ['read'] },
      'path',
      "Policy path may contain '*' only as its last character",
    ],
    [{ path: '/prod/*', capabilities: ['read'] }, 'path', "Policy path must not start with '/'"],
    [{ path: '', capabilities: ['read'] }, 'path', 'Policy path is empty'],
    [
      { path: 'prod//db', capabilities: ['read'] },
      'path',
      'Policy path segment 2 is empty (two slashes in a row)',
    ],
    [
      { path: 'prod/../db', capabilities: ['read'] },
      'path',
      "Policy path segment 2 is '..', which is not allowed",
    ],
    [
      { path: 'prod/.', capabilities: ['read'] },
      'path',
      "Policy path segment 2 is '.', which is not allowed",
    ],
    [
      { path: 'prod/d b/*', capabilities: ['read'] },
      'path',
      `Policy path segment 2 contains " "; only letters, digits, '.', '_' and '-' are allowed`,
    ],
    [
      { path: 'prod/db+/x', capabilities: ['read'] },
      'path',
      "Policy path segment 2: '+' must be a whole segment",
    ],
    [
      { path: 'prod/+*', capabilities: ['read'] },
      'path',
      "Policy path segment 2: '+' must be a whole segment",
    ],
    [
      { path: Array.from({ length: 33 }, () => 'a').join('/'), capabilities: ['read'] },
      'path',
      'Policy path has 33 segments, more than the 32 allowed',
    ],
    [{ path: 'prod/*', capabilities: ['read'], effect: 'allow' }, '', 'Unrecognized key: "effect"'],
  ])('rejects the rule %j at %j', (rule, at, message) => {
    // Act
    const result = RuleSchema.safeParse(rule);

    // Assess
    expect(result.success).toBe(false);
    expect(issuesOf(result)).toEqual([[at, expect.stringContaining(message)]]);
  });

  it.each([
    [
      { name: 'team', rules: [{ path: 'prod/*', capabilities: ['read'] }], priority: 1 },
      '',
      'Unrecognized key: "priority"',
    ],
    [{ name: 'team', rules: [] }, 'rules', 'A policy needs at least one rule'],
    [
      { name: 'team one', rules: [{ path: '*', capabilities: ['read'] }] },
      'name',
      "A policy name is 1 to 128 letters, digits, '.', '_' or '-'",
    ],
    [
      { name: 'team', rules: [{ path: 'prod/*', capabilities: ['read', 'sudo'] }] },
      'rules.0.capabilities.1',
      'Invalid option',
    ],
  ])('rejects the policy %j at %j', (input, at, message) => {
    // Act
    const result = PolicySchema.safeParse(input);

    // Assess
    expect(result.success).toBe(false);
    expect(issuesOf(result)).toEqual([[at, expect.stringContaining(message)]]);
  });
});

describe('DEFAULT_ROLE_POLICIES', () => {
  it.each(ROLES)('the %s policy is itself a valid policy', (role) => {
    expect(PolicySchema.parse(DEFAULT_ROLE_POLICIES[role])).toEqual(DEFAULT_ROLE_POLICIES[role]);
  });

  const ALLOWED: Record<Role, KvOperation[]> = {
    admin: [
      'readValue',
      'readMetadata',
      'create',
      'update',
      'softDelete',
      'undelete',
      'destroy',
      'deleteAll',
      'writeMetadata',
    ],
    operator: ['readValue', 'readMetadata', 'create', 'update', 'softDelete', 'undelete', 'writeMetadata'],
    auditor: ['readMetadata'],
    viewer: ['readMetadata'],
  };
  const PATH_OPERATIONS: KvOperation[] = [
    'readValue',
    'readMetadata',
    'create',
    'update',
    'softDelete',
    'undelete',
    'destroy',
    'deleteAll',
    'writeMetadata',
  ];

  it.each(ROLES.flatMap((role) => PATH_OPERATIONS.map((operation) => [role, operation] as const)))(
    '%s may %s on prod/db: as the role matrix says',
    (role, operation) => {
      // Act
      const decision = decide(effectivePolicies(user([role]), NOTHING_ATTACHED), 'prod/db', operation);

      // Assess
      expect(decision.allowed).toBe(ALLOWED[role].includes(operation));
    },
  );

  it.each(ROLES)('%s may list every prefix, the root included', (role) => {
    // Prepare
    const policies = effectivePolicies(user([role]), NOTHING_ATTACHED);

    // Act
    const decisions = ['', 'prod/', 'prod/db/'].map((target) => decide(policies, target, 'list'));

    // Assess
    expect(decisions.map((decision) => decision.allowed)).toEqual([true, true, true]);
  });

  it('cannot be changed by a caller', () => {
    // Prepare
    const viewer = DEFAULT_ROLE_POLICIES.viewer;

    // Act
    const tamper = () => viewer.rules[0]?.capabilities.push('read');

    // Assess
    expect(tamper).toThrow(TypeError);
    expect(viewer.rules[0]?.capabilities).toEqual(['list']);
  });
});

describe('effectivePolicies', () => {
  describe('for a user', () => {
    it('adds the policies attached to its groups to its role defaults', () => {
      // Prepare
      const attached: AttachedPolicies = {
        byGroup: {
          operator: [policy('prod-read-only', { path: 'prod/*', capabilities: ['read', 'list'] })],
          admin: [policy('admins-only', { path: '*', capabilities: ['destroy'] })],
        },
        byClient: { dashboard: [policy('client', { path: '*', capabilities: ['destroy'] })] },
      };

      // Act
      const policies = effectivePolicies(user(['operator']), attached);

      // Assess
      expect(policies.map((p) => p.name)).toEqual(['default-operator', 'prod-read-only']);
      expect(decide(policies, 'prod/db', 'update').allowed).toBe(false);
      expect(decide(policies, 'prod/db', 'readValue').allowed).toBe(true);
      expect(decide(policies, 'dev/db', 'update').allowed).toBe(true);
    });

    it('keeps a deny attached to a group', () => {
      // Prepare
      const attached = {
        byGroup: { admin: [policy('no-prod', { path: 'prod/*', capabilities: ['deny'] })] },
        byClient: {},
      };

      // Act
      const decision = decide(effectivePolicies(user(['admin']), attached), 'prod/db', 'readMetadata');

      // Assess
      expect(decision).toMatchObject({ allowed: false, matchedRule: { policy: 'no-prod' } });
    });

    it.each<Role[]>([['viewer'], ['auditor'], ['viewer', 'auditor']])(
      'never lets %j read values, even when a group policy grants read',
      (...roles) => {
        // Prepare
        const grantAll = policy('grant-all', {
          path: 'prod/db',
          capabilities: ['read', 'list', 'update', 'destroy'],
        });
        const attached = { byGroup: { viewer: [grantAll], auditor: [grantAll] }, byClient: {} };

        // Act
        const policies = effectivePolicies(user(roles), attached);

        // Assess
        expect(decide(policies, 'prod/db', 'readValue').allowed).toBe(false);
        expect(decide(policies, 'prod/db', 'update').allowed).toBe(false);
        expect(decide(policies, 'prod/db', 'readMetadata').allowed).toBe(true);
      },
    );

    it('gets nothing without a role', () => {
      expect(
        effectivePolicies(user([]), {
          byGroup: { viewer: [policy('v', { path: '*', capabilities: ['list'] })] },
          byClient: {},
        }),
      ).toEqual([]);
    });
  });

  describe('for a machine client', () => {
    const readWriteProd = policy('ci', {
      path: 'prod/*',
      capabilities: ['read', 'list', 'create', 'update', 'destroy'],
    });
    const attached: AttachedPolicies = {
      byGroup: { admin: [readWriteProd] },
      byClient: { 'ci-deployer': [readWriteProd] },
    };

    it('gets nothing without an attached policy, whatever its scopes', () => {
      // Prepare
      const principal = machine(ALL_SCOPES.slice(), 'unknown-client');

      // Act
      const policies = effectivePolicies(principal, attached);

      // Assess
      expect(policies).toEqual([]);
      expect(decide(policies, 'prod/db', 'readMetadata').allowed).toBe(false);
    });

    it.each<[string, string[], KvOperation[]]>([
      ['read only', [SCOPES.read], ['readValue', 'readMetadata', 'list']],
      ['write only', [SCOPES.write], ['create', 'update', 'undelete', 'writeMetadata']],
      [
        'read and write',
        [SCOPES.read, SCOPES.write],
        ['readValue', 'readMetadata', 'list', 'create', 'update', 'undelete', 'writeMetadata'],
      ],
      [
        'admin adds destroy',
        [SCOPES.read, SCOPES.admin],
        ['readValue', 'readMetadata', 'list', 'destroy', 'deleteAll'],
      ],
      ['audit grants no secret access', [SCOPES.audit], []],
      ['unknown scopes grant nothing', ['vaultpilot/everything', 'openid'], []],
    ])('%s: the attached policy intersected with the scopes', (_, scopes, allowed) => {
      // Prepare
      const policies = effectivePolicies(machine(scopes), attached);
      const operations: KvOperation[] = [
        'readValue',
        'readMetadata',
        'list',
        'create',
        'update',
        'softDelete',
        'undelete',
        'destroy',
        'deleteAll',
        'writeMetadata',
      ];

      // Act
      const granted = operations.filter(
        (operation) => decide(policies, operation === 'list' ? 'prod/' : 'prod/db', operation).allowed,
      );

      // Assess
      expect(granted).toEqual(allowed);
    });

    it('never goes beyond the attached policy', () => {
      // Prepare
      const policies = effectivePolicies(machine([SCOPES.read, SCOPES.write, SCOPES.admin]), attached);

      // Act
      const outside = decide(policies, 'dev/db', 'readValue');
      const softDelete = decide(policies, 'prod/db', 'softDelete');

      // Assess
      expect(outside.allowed).toBe(false);
      expect(softDelete.allowed).toBe(false);
    });

    it('keeps a rule whose capabilities the scopes remove, so it still narrows broader rules', () => {
      // Prepare
      const attachedNarrowing = {
        byGroup: {},
        byClient: {
          'ci-deployer': [
            policy(
              'ci',
              { path: 'prod/*', capabilities: ['read', 'list'] },
              { path: 'prod/root-ca', capabilities: ['destroy'] },
            ),
          ],
        },
      };

      // Act
      const policies = effectivePolicies(machine([SCOPES.read]), attachedNarrowing);

      // Assess
      expect(decide(policies, 'prod/db', 'readValue').allowed).toBe(true);
      expect(decide(policies, 'prod/root-ca', 'readValue').allowed).toBe(false);
    });

    it('keeps deny, which no scope grants', () => {
      // Prepare
      const withDeny = {
        byGroup: {},
        byClient: {
          'ci-deployer': [
            readWriteProd,
            policy('no-secrets', { path: 'prod/secret*', capabilities: ['deny'] }),
          ],
        },
      };

      // Act
      const decision = decide(
        effectivePolicies(machine([SCOPES.read]), withDeny),
        'prod/secret-key',
        'readValue',
      );

      // Assess
      expect(decision).toMatchObject({ allowed: false, matchedRule: { policy: 'no-secrets' } });
    });
  });

  it('knows every scope of the resource server, and only those', () => {
    expect(Object.keys(SCOPE_CAPABILITIES).sort()).toEqual(ALL_SCOPES.slice().sort());
  });
});
