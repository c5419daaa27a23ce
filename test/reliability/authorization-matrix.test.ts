/**
 * The authorization matrix, generated from the route table: every route × every caller (each
 * role, machine clients with each scope and with all, no token and six kinds of bad token) on
 * an object of the caller's own tenant, and every route that names an object × every caller on
 * an object of a foreign tenant. The expected outcome comes from the route's declared scopes
 * (machine clients) and the roles the README gives each kind of access (people); a foreign
 * tenant's object answers 404 to anyone the route admits.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { ROUTES } from '../../lambdas/functions/index.js';
import type { RouteSpec } from '../../lambdas/shared/routes.js';
import { SCOPES } from '../../lambdas/shared/scopes.js';
import {
  answerProblems,
  assertCanaryContained,
  BAD_TOKENS,
  type Bed,
  type CallerName,
  describe as describeExchange,
  expectNone,
  MACHINES,
  type MachineName,
  startBed,
  type UserName,
} from './harness.js';
import { fixtureOf } from './route-fixtures.js';

/** What each role may do, in scopes (README: groups and what each may do). */
const ROLE_SCOPES: Readonly<Record<string, readonly string[]>> = {
  admin: Object.values(SCOPES),
  operator: [SCOPES.read, SCOPES.write],
  auditor: [SCOPES.read, SCOPES.audit],
  viewer: [SCOPES.read],
};
const HOME_USERS: readonly { name: UserName; role: string }[] = [
  { name: 'admin', role: 'admin' },
  { name: 'olga', role: 'operator' },
  { name: 'aude', role: 'auditor' },
  { name: 'vera', role: 'viewer' },
];
const MACHINE_NAMES = Object.keys(MACHINES) as MachineName[];

type Expectation = 'allowed' | 'forbidden' | 'unauthenticated';

/** Operations that answer a secret's value (or what only a value read may learn, its field names). */
const VALUE_READS: readonly string[] = [
  'readSecret',
  'readVaultSecret',
  'readVaultSecretSubkeys',
  'patchVaultSecret',
];

function expectation(route: RouteSpec, caller: CallerName): Expectation {
  if (route.auth === 'none') return 'allowed';
  if ((BAD_TOKENS as readonly string[]).includes(caller)) return 'unauthenticated';
  const user = HOME_USERS.find((candidate) => candidate.name === caller);
  const scopes =
    user === undefined ? (MACHINES[caller as MachineName] ?? []) : (ROLE_SCOPES[user.role] ?? []);
  if (!route.scopes.some((scope) => scopes.includes(scope))) return 'forbidden';
  // Vault's PATCH merges into what it reads first, the value or the metadata (docs/vault-api.md):
  // it needs read as well.
  if (
    (route.operationId === 'patchVaultSecret' || route.operationId === 'patchVaultSecretMetadata') &&
    !scopes.includes(SCOPES.read)
  )
    return 'forbidden';
  // Auditors and viewers see metadata and lists, never values (README, the secret store).
  if (VALUE_READS.includes(route.operationId) && (user?.role === 'auditor' || user?.role === 'viewer')) {
    return 'forbidden';
  }
  return 'allowed';
}

/** Where one scope alone is not the whole answer: secret routes also need the capability. */
function scopeDecidesAlone(route: RouteSpec, caller: CallerName): boolean {
  return !(
    (route.tag === 'secrets' || route.tag === 'vault') &&
    MACHINE_NAMES.includes(caller as MachineName) &&
    caller !== 'm-all'
  );
}

let bed: Bed;

beforeAll(async () => {
  bed = await startBed();
}, 120_000);

afterAll(async () => {
  await bed?.stop();
});

const CALLERS: readonly CallerName[] = [
  ...HOME_USERS.map((user) => user.name),
  ...MACHINE_NAMES,
  ...BAD_TOKENS,
];

describe('authorization matrix (route × caller, own tenant)', () => {
  it.each(ROUTES.map((route) => [`${route.method} ${route.path}`, route] as const))(
    '%s',
    async (_name, route) => {
      const fixture = fixtureOf(route);
      const mismatches: string[] = [];
      for (const caller of CALLERS) {
        // Prepare
        const request = await fixture.own(bed, 'admin');

        // Act
        const answer = await bed.call(caller, request.method, request.path, request.body);

        // Assess
        const expected = expectation(route, caller);
        const shown = `${caller}: ${describeExchange(request.method, request.path, answer)}`;
        mismatches.push(
          ...answerProblems(request.method, request.path, answer).map((p) => `${caller}: ${p}`),
        );
        // Vault's API answers a missing or bad token with its 403 `permission denied` (docs/vault-api.md).
        const unauthenticatedStatus = route.dialect === 'vault' ? 403 : 401;
        if (expected === 'unauthenticated' && answer.status !== unauthenticatedStatus)
          mismatches.push(`expected ${unauthenticatedStatus}, ${shown}`);
        if (expected === 'forbidden' && answer.status !== 403) mismatches.push(`expected 403, ${shown}`);
        if (expected === 'allowed' && scopeDecidesAlone(route, caller)) {
          // A route served only to refuse (Vault's renew-self, its KV config write) refuses whoever it admits.
          if (route.refusedWith !== undefined && answer.status !== route.refusedWith)
            mismatches.push(`expected ${route.refusedWith}, ${shown}`);
          if (route.refusedWith === undefined && (answer.status < 200 || answer.status >= 300))
            mismatches.push(`expected 2xx, ${shown}`);
        }
        if (expected === 'allowed' && answer.status === 401) mismatches.push(`expected no 401, ${shown}`);
      }
      expectNone(mismatches, route.operationId);
    },
    120_000,
  );
});

const FOREIGN_ROUTES = ROUTES.filter((route) => fixtureOf(route).foreign !== undefined);

describe('authorization matrix (route × caller, foreign tenant object)', () => {
  it.each(FOREIGN_ROUTES.map((route) => [`${route.method} ${route.path}`, route] as const))(
    '%s answers 404 to every caller of another tenant',
    async (_name, route) => {
      const foreign = fixtureOf(route).foreign;
      if (foreign === undefined) throw new Error('filtered above');
      const mismatches: string[] = [];
      for (const caller of [...HOME_USERS.map((user) => user.name), ...MACHINE_NAMES] as CallerName[]) {
        // Prepare
        const request = await foreign(bed);

        // Act
        const answer = await bed.call(caller, request.method, request.path, request.body);

        // Assess
        const shown = `${caller}: ${describeExchange(request.method, request.path, answer)}`;
        mismatches.push(
          ...answerProblems(request.method, request.path, answer).map((p) => `${caller}: ${p}`),
        );
        const expected = expectation(route, caller);
        // A caller the route refuses may hear 403 or 404; one it admits must not learn the object exists.
        if (expected === 'allowed' && answer.status !== 404) mismatches.push(`expected 404, ${shown}`);
        if (expected === 'forbidden' && ![403, 404].includes(answer.status)) {
          mismatches.push(`expected 403 or 404, ${shown}`);
        }
      }
      expectNone(mismatches, route.operationId);
    },
    120_000,
  );
});

describe('the canary', () => {
  it('appears only in authorized reads of values, never in a log line', () => {
    assertCanaryContained(bed);
  });
});
