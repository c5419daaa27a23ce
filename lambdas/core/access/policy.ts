import * as z from 'zod';

import { type Principal, type Role, ROLES } from '../principal.js';
import {
  SECRET_PATH_LIMITS,
  type SecretPath,
  type SecretPrefix,
  secretPathSegmentProblem,
} from '../secrets/secret-path.js';

/**
 * Path-glob policies for the secret store, after Vault's ACL policies.
 *
 * Capabilities and what they allow (one capability out of the listed set suffices):
 * - reading a secret's VALUE needs `read`;
 * - reading its metadata (versions, times, custom metadata) needs `read` or `list`, so the
 *   metadata-only roles (auditor, viewer) see everything about a secret except its value;
 * - listing a prefix needs `list`;
 * - `destroy` (and deleting a secret with all its versions) is kept apart from `delete`,
 *   because it cannot be undone.
 */
export const CAPABILITIES = ['read', 'list', 'create', 'update', 'delete', 'destroy', 'deny'] as const;
export type Capability = (typeof CAPABILITIES)[number];

export const KV_OPERATIONS = [
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
] as const;
export type KvOperation = (typeof KV_OPERATIONS)[number];

const REQUIRED_CAPABILITIES: Readonly<Record<KvOperation, readonly Capability[]>> = {
  readValue: ['read'],
  readMetadata: ['read', 'list'],
  list: ['list'],
  create: ['create'],
  update: ['update'],
  softDelete: ['delete'],
  // Undeleting restores a version: a change to the secret, not a deletion (Vault asks `update` too).
  undelete: ['update'],
  destroy: ['destroy'],
  // Removing the secret with every version is as irreversible as destroy, so it needs destroy.
  deleteAll: ['destroy'],
  // Custom metadata belongs to an existing secret: changing it is an update.
  writeMetadata: ['update'],
};

/** The capabilities of which any one allows `operation`. */
export function requiredCapabilities(operation: KvOperation): readonly Capability[] {
  return REQUIRED_CAPABILITIES[operation];
}

// ---------------------------------------------------------------------------------------------
// Schemas

const MAX_RULES_PER_POLICY = 256;

/**
 * A rule path is a secret path whose segments may also be `+` (exactly one segment), which may
 * end with `/` (the listing prefix itself), and which may end with `*`: a plain prefix match on
 * the rest, as in Vault (`prod/*` matches `prod/a/b`, `prod/db*` matches `prod/db1/x`, and `*`
 * matches everything). `*` is allowed nowhere else.
 */
export function policyPathProblem(glob: string): string | undefined {
  if (glob === '') return 'Policy path is empty';
  if (glob.length > SECRET_PATH_LIMITS.maxLength + 1) {
    return `Policy path has ${glob.length} characters, more than the ${SECRET_PATH_LIMITS.maxLength + 1} allowed`;
  }
  if (glob.startsWith('/')) return "Policy path must not start with '/'";
  const starAt = glob.indexOf('*');
  if (starAt !== -1 && starAt !== glob.length - 1) {
    return "Policy path may contain '*' only as its last character";
  }
  const pieces = (starAt === -1 ? glob : glob.slice(0, -1)).split('/');
  // The last piece may be '' (`prod/`, `prod/*`, `*`) or, before a '*', the start of a segment.
  const last = pieces.length - 1;
  const segments = pieces[last] === '' ? last : pieces.length;
  if (segments > SECRET_PATH_LIMITS.maxSegments) {
    return `Policy path has ${segments} segments, more than the ${SECRET_PATH_LIMITS.maxSegments} allowed`;
  }
  for (const [index, piece] of pieces.entries()) {
    if (index === last && (piece === '' || starAt !== -1)) {
      if (piece.includes('+')) return `Policy path segment ${index + 1}: '+' must be a whole segment`;
      const problem = piece === '' ? undefined : secretPathSegmentProblem(piece, index + 1);
      // Before '*', '.' and '..' are only the start of a longer segment, so they are harmless.
      if (problem !== undefined && problem.reason !== 'dot-segment') return `Policy path ${problem.message}`;
      continue;
    }
    if (piece === '+') continue;
    if (piece.includes('+')) return `Policy path segment ${index + 1}: '+' must be a whole segment`;
    const problem = secretPathSegmentProblem(piece, index + 1);
    if (problem !== undefined) return `Policy path ${problem.message}`;
  }
  return undefined;
}

export const RuleSchema = z.strictObject({
  path: z.string().superRefine((glob, context) => {
    const problem = policyPathProblem(glob);
    if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
  }),
  capabilities: z.array(z.enum(CAPABILITIES)).min(1, 'A rule needs at least one capability'),
});

export const PolicySchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,128}$/, "A policy name is 1 to 128 letters, digits, '.', '_' or '-'"),
  rules: z.array(RuleSchema).min(1, 'A policy needs at least one rule').max(MAX_RULES_PER_POLICY),
});

export type Rule = z.infer<typeof RuleSchema>;
export type Policy = z.infer<typeof PolicySchema>;

// ---------------------------------------------------------------------------------------------
// Matching and specificity

/** A rule path taken apart for matching: the pieces to compare segment by segment, and whether it ends in `*`. */
interface CompiledGlob {
  readonly pieces: readonly string[];
  readonly prefix: boolean;
}

function compile(glob: string): CompiledGlob {
  const prefix = glob.endsWith('*');
  return { pieces: (prefix ? glob.slice(0, -1) : glob).split('/'), prefix };
}

export function globMatches(glob: string, target: string): boolean {
  const { pieces, prefix } = compile(glob);
  const parts = target.split('/');
  if (prefix ? parts.length < pieces.length : parts.length !== pieces.length) return false;
  const last = pieces.length - 1;
  return pieces.every((piece, index) => {
    if (prefix && index === last) return parts.slice(index).join('/').startsWith(piece);
    const part = parts[index] ?? '';
    return piece === '+' ? part !== '' : part === piece;
  });
}

/**
 * How specific a rule path is, compared as Vault does (first difference decides):
 * 1. the later its first wildcard (`+` or `*`), the more specific — an exact path has none and
 *    beats every glob;
 * 2. a path not ending in `*` beats one that does;
 * 3. fewer `+` segments beat more;
 * 4. a longer path beats a shorter one.
 * Rules equal on all four are equally specific and their capabilities are unioned (Vault would
 * break the tie lexically instead).
 */
function specificity(glob: string): readonly number[] {
  const wildcards = [...glob].flatMap((character, index) =>
    character === '+' || character === '*' ? [index] : [],
  );
  const firstWildcard = wildcards[0] ?? Number.MAX_SAFE_INTEGER;
  const endsInStar = glob.endsWith('*') ? 0 : 1;
  const plusCount = glob.split('/').filter((piece) => piece === '+').length;
  return [firstWildcard, endsInStar, -plusCount, glob.length];
}

function compareSpecificity(a: readonly number[], b: readonly number[]): number {
  for (const [index, value] of a.entries()) {
    const difference = value - (b[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Evaluation

export interface MatchedRule {
  readonly policy: string;
  readonly rule: Rule;
}

export interface Decision {
  readonly allowed: boolean;
  /** The rule that decided: the deny that matched, or the winning rule that grants the operation. */
  readonly matchedRule?: MatchedRule;
  /** Why, in words fit for an audit event (never contains secret values). */
  readonly reason: string;
}

/** Listing is asked of a prefix; every other operation of a secret path. */
export type OperationTarget<O extends KvOperation> = O extends 'list' ? SecretPrefix : SecretPath;

/**
 * Whether `policies` allow `operation` on `target`.
 *
 * - An explicit `deny` in ANY matching rule denies, whatever its specificity ("explicit deny
 *   wins"). This is stricter than Vault, where a more specific rule can override a deny.
 * - Otherwise only the most specific matching rules count (see `specificity`), their capabilities
 *   unioned: a specific rule narrows a broad one (`prod/*: [read]` under `*: [read, update]`
 *   takes `update` away in `prod/`).
 * - No matching rule denies.
 */
export function evaluate<O extends KvOperation>(
  policies: readonly Policy[],
  target: OperationTarget<O>,
  operation: O,
): Decision {
  const required = requiredCapabilities(operation);
  const matches = policies.flatMap((policy) =>
    policy.rules
      .filter((rule) => globMatches(rule.path, target))
      .map((rule) => ({ policy: policy.name, rule })),
  );
  const denied = matches.find(({ rule }) => rule.capabilities.includes('deny'));
  if (denied !== undefined) {
    return {
      allowed: false,
      matchedRule: denied,
      reason: `'${target}' is denied explicitly by policy '${denied.policy}' (rule '${denied.rule.path}')`,
    };
  }
  if (matches.length === 0) {
    return { allowed: false, reason: `no policy rule matches '${target}'` };
  }
  const ranked = matches.map((match) => ({ ...match, rank: specificity(match.rule.path) }));
  const top = ranked.reduce((best, match) =>
    compareSpecificity(match.rank, best.rank) > 0 ? match : best,
  ).rank;
  const winners = ranked.filter((match) => compareSpecificity(match.rank, top) === 0);
  const granting = winners.find(({ rule }) =>
    rule.capabilities.some((capability) => required.includes(capability)),
  );
  const needed = required.join("' or '");
  if (granting === undefined) {
    const paths = [...new Set(winners.map(({ rule }) => `'${rule.path}'`))].join(', ');
    return {
      allowed: false,
      reason: `the most specific rules for '${target}' (${paths}) do not grant '${needed}' for ${operation}`,
    };
  }
  return {
    allowed: true,
    matchedRule: { policy: granting.policy, rule: granting.rule },
    reason: `${operation} on '${target}' is allowed by policy '${granting.policy}' (rule '${granting.rule.path}')`,
  };
}

// ---------------------------------------------------------------------------------------------
// Whose policies count

const ALL_KV: readonly Capability[] = ['read', 'list', 'create', 'update', 'delete', 'destroy'];

/** The most each role may do anywhere; group policies shape it per path but never exceed it. */
const ROLE_CAPABILITIES: Readonly<Record<Role, readonly Capability[]>> = {
  admin: ALL_KV,
  operator: ['read', 'list', 'create', 'update', 'delete'],
  // Metadata only: `list` gives listing and metadata reads, never values.
  auditor: ['list'],
  viewer: ['list'],
};

/** Each role's capabilities on every path. Frozen: they are shared by every evaluation. */
export const DEFAULT_ROLE_POLICIES: Readonly<Record<Role, Policy>> = Object.freeze(
  Object.fromEntries(ROLES.map((role) => [role, defaultPolicy(role)])) as Record<Role, Policy>,
);

function defaultPolicy(role: Role): Policy {
  const rule = Object.freeze({ path: '*', capabilities: Object.freeze([...ROLE_CAPABILITIES[role]]) });
  return Object.freeze({ name: `default-${role}`, rules: Object.freeze([rule]) }) as Policy;
}

/**
 * What each OAuth scope lets a machine client do at most. Mirrors `SCOPES` of
 * `lambdas/shared/scopes.ts`, which core may not import; a unit test keeps the two in step.
 * Scopes add up: `vaultpilot/admin` adds only `destroy`, so a client that should also read and
 * write carries those scopes too. `vaultpilot/audit` concerns the audit log, not secrets.
 */
export const SCOPE_CAPABILITIES: Readonly<Record<string, readonly Capability[]>> = {
  'vaultpilot/read': ['read', 'list'],
  'vaultpilot/write': ['create', 'update', 'delete'],
  'vaultpilot/admin': ['destroy'],
  'vaultpilot/audit': [],
};

export interface AttachedPolicies {
  /** By Cognito group; a user's groups are its roles. */
  readonly byGroup: Readonly<Record<string, readonly Policy[]>>;
  /** By OAuth client id of a machine client. */
  readonly byClient: Readonly<Record<string, readonly Policy[]>>;
}

/**
 * The policies to evaluate for `principal`.
 * - A user: the default policy of each of its roles, plus the policies attached to its groups,
 *   limited to what its roles allow (so a viewer never reads values, whatever is attached).
 * - A machine client: the policies attached to its client id, limited to what its scopes allow.
 *   A client with no attached policy gets nothing: least privilege, paths must be granted.
 * Limiting keeps every rule and its `deny`, so a rule that loses all its capabilities still
 * narrows broader rules on its paths instead of letting them through.
 */
export function effectivePolicies(principal: Principal, attached: AttachedPolicies): Policy[] {
  if (principal.kind === 'machine') {
    const ceiling = principal.scopes.flatMap((scope) => SCOPE_CAPABILITIES[scope] ?? []);
    return (attached.byClient[principal.clientId] ?? []).map((policy) => limitTo(policy, ceiling));
  }
  const ceiling = principal.roles.flatMap((role) => ROLE_CAPABILITIES[role]);
  const defaults = principal.roles.map((role) => DEFAULT_ROLE_POLICIES[role]);
  const groups = principal.roles.flatMap((role) => attached.byGroup[role] ?? []);
  return [...defaults, ...groups.map((policy) => limitTo(policy, ceiling))];
}

function limitTo(policy: Policy, ceiling: readonly Capability[]): Policy {
  return {
    name: policy.name,
    rules: policy.rules.map((rule) => ({
      path: rule.path,
      capabilities: rule.capabilities.filter(
        (capability) => capability === 'deny' || ceiling.includes(capability),
      ),
    })),
  };
}
