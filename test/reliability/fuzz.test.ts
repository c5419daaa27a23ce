/**
 * A fuzzer generated from the OpenAPI document: for every operation, hostile path parameters,
 * query parameters and bodies (wrong types, huge strings, deep nesting, prototype-pollution
 * keys, invalid UTF-8 and lone surrogates, empty and garbage JSON), sent byte for byte as an
 * authorized admin so they reach validation and storage. Every answer must stay below 500 unless
 * it is a 503 with Retry-After, carry the documented error shape, and name nothing internal.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiDocument, pathItemKey } from '../../lambdas/shared/openapi.js';
import { ROUTES } from '../../lambdas/functions/index.js';
import type { RouteSpec } from '../../lambdas/shared/routes.js';
import {
  answerProblems,
  assertCanaryContained,
  type Bed,
  expectNone,
  random,
  randomHex,
  replay,
  startBed,
} from './harness.js';
import { type FixtureRequest, fixtureOf } from './route-fixtures.js';

interface Operation {
  readonly parameters?: readonly { name: string; in: string }[];
  readonly requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
}
type JsonSchema = { $ref?: string; properties?: Record<string, JsonSchema>; type?: string | string[] };

const document = openApiDocument(ROUTES) as unknown as {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, JsonSchema> };
};

function resolveSchema(schema: JsonSchema | undefined): JsonSchema | undefined {
  if (schema?.$ref === undefined) return schema;
  return document.components.schemas[schema.$ref.replace('#/components/schemas/', '')];
}

/** Path parameter values an attacker tries: traversal, encodings, control characters, globs, size. */
const HOSTILE_SEGMENTS: readonly string[] = [
  'a'.repeat(5000),
  'b'.repeat(1100),
  '..',
  '%2e%2e',
  '%2E%2E%2F%2E%2E',
  '..%2f..%2fsecrets',
  '%00',
  'x%00y',
  '%0d%0aSet-Cookie:%20x=1',
  '%1b%5b31m',
  '*',
  '%2A%2A',
  '+',
  '%3F%23',
  '%C3%28',
  '%FF%FE',
  '%ED%A0%80',
  '%ZZ',
  '%F0%9F%92%A3',
  '__proto__',
  'constructor',
  '%20',
];
/** Multi-segment parameters (`{path+}`) also get traversal across segments. */
const HOSTILE_PATHS: readonly string[] = [
  '../../admin/rewrap',
  'rel/../../x',
  'rel/./x',
  'rel//x',
  'rel/x/',
  `${'seg/'.repeat(300)}end`,
  'prod/*',
  'prod/+/x',
];

const HOSTILE_QUERY_VALUES: readonly string[] = [
  'a'.repeat(5000),
  '-1',
  '0',
  '1e309',
  'NaN',
  '99999999999999999999999',
  '%00',
  '..',
  '*',
  '%C3%28',
  '[]',
  '{}',
  'true',
  '',
];
const HOSTILE_QUERY_EXTRAS: readonly string[] = [
  '__proto__[polluted]=1',
  'constructor[prototype][polluted]=1',
  '__proto__=x',
  'tenant=..%2Fother',
  'limit=1&limit=2',
  'list=true&list=false',
  `${'k'.repeat(2000)}=v`,
];

function deep(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** Bodies that are not what any operation takes, sent to every operation. */
const GARBAGE_BODIES: readonly { label: string; body: string | Uint8Array; type: string }[] = [
  { label: 'empty', body: '', type: 'application/json' },
  { label: 'truncated', body: '{"data":', type: 'application/json' },
  { label: 'garbage', body: 'not json at all', type: 'application/json' },
  { label: 'null', body: 'null', type: 'application/json' },
  { label: 'array', body: '[]', type: 'application/json' },
  { label: 'string', body: '"x"', type: 'application/json' },
  { label: 'number', body: '1e400', type: 'application/json' },
  {
    label: 'invalid UTF-8',
    body: Uint8Array.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
    type: 'application/json',
  },
  { label: 'lone surrogate', body: '{"value":"\\ud800"}', type: 'application/json' },
  { label: 'BOM', body: '\ufeff{}', type: 'application/json' },
  { label: 'deep object', body: deep(20_000), type: 'application/json' },
  { label: 'deep array', body: `${'['.repeat(50_000)}${']'.repeat(50_000)}`, type: 'application/json' },
  { label: 'proto', body: '{"__proto__":{"polluted":true}}', type: 'application/json' },
  { label: 'constructor', body: '{"constructor":{"prototype":{"polluted":true}}}', type: 'application/json' },
  { label: 'text/plain', body: '{}', type: 'text/plain' },
  { label: 'form', body: 'a=1&__proto__[polluted]=1', type: 'application/x-www-form-urlencoded' },
];

const WRONG_VALUES: readonly unknown[] = [null, 123, -1, 1.5, 'str', true, [], {}, ['x'], { $gt: '' }];

function randomBytesSeeded(length: number): Uint8Array {
  return Uint8Array.from({ length }, () => Math.floor(random() * 256));
}

/** Substitutes each `{name}` / `{name+}` of the path with the base request's own value or `value`. */
function pathWith(route: RouteSpec, base: FixtureRequest, name: string, value: string): string {
  const basePath = base.path.split('?')[0] ?? base.path;
  const pattern = new RegExp(
    `^${route.path
      .split('/')
      .map((segment) =>
        /^\{.+\+\}$/.test(segment) ? '(.+)' : /^\{.+\}$/.test(segment) ? '([^/]+)' : segment,
      )
      .join('/')}$`,
  );
  const names = [...route.path.matchAll(/\{([A-Za-z0-9_]+)\+?\}/g)].map((match) => match[1]);
  const values = pattern.exec(basePath)?.slice(1) ?? [];
  let index = 0;
  return route.path.replace(/\{([A-Za-z0-9_]+)\+?\}/g, () => {
    const current = names[index];
    const kept = values[index] ?? 'x';
    index += 1;
    return current === name ? value : kept;
  });
}

let bed: Bed;

beforeAll(async () => {
  bed = await startBed({ minimal: true });
}, 120_000);

afterAll(async () => {
  await bed?.stop();
});

describe('fuzzing every operation of the OpenAPI document', () => {
  it('covers every route of the route table', () => {
    const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((key) => `${key} ${path}`),
    );
    expect(documented.sort()).toEqual(
      ROUTES.map((route) => `${pathItemKey(route.method)} ${route.path}`).sort(),
    );
  });

  it.each(ROUTES.map((route) => [`${route.method} ${route.path}`, route] as const))(
    '%s',
    async (_name, route) => {
      // Prepare
      const operation = document.paths[route.path]?.[pathItemKey(route.method)];
      if (operation === undefined) throw new Error(`${route.operationId} is not in the OpenAPI document`);
      const base = await fixtureOf(route).own(bed, 'admin');
      // An ANY route (Vault's /v1 catch-all) takes whatever method its fixture sends.
      const method = route.method === 'ANY' ? base.method : route.method;
      const basePath = base.path.split('?')[0] ?? base.path;
      const baseBody = base.body === undefined ? undefined : JSON.stringify(base.body);
      const problems: string[] = [];
      const probe = async (path: string, body?: string | Uint8Array, type?: string): Promise<void> => {
        const answer = await bed.send('admin', method, path, body, type);
        problems.push(...answerProblems(method, path, answer));
      };

      // Act and assess: path parameters
      for (const parameter of operation.parameters?.filter((p) => p.in === 'path') ?? []) {
        const greedy = route.path.includes(`{${parameter.name}+}`);
        for (const value of [...HOSTILE_SEGMENTS, ...(greedy ? HOSTILE_PATHS : [])]) {
          await probe(pathWith(route, base, parameter.name, value), baseBody, 'application/json');
        }
      }

      // Query parameters: the declared ones with hostile values, and ones nobody declared
      const declared = operation.parameters?.filter((p) => p.in === 'query').map((p) => p.name) ?? [];
      for (const name of declared) {
        for (const value of HOSTILE_QUERY_VALUES) {
          await probe(`${basePath}?${encodeURIComponent(name)}=${value}`, baseBody, 'application/json');
        }
      }
      for (const extra of HOSTILE_QUERY_EXTRAS)
        await probe(`${basePath}?${extra}`, baseBody, 'application/json');

      // Bodies: garbage for everyone, then the operation's own schema with each field wrong
      for (const garbage of GARBAGE_BODIES) await probe(basePath, garbage.body, garbage.type);
      for (let round = 0; round < 4; round += 1) {
        await probe(basePath, randomBytesSeeded(1 + Math.floor(random() * 512)), 'application/json');
      }
      const schema = resolveSchema(operation.requestBody?.content?.['application/json']?.schema);
      const baseObject = (base.body ?? {}) as Record<string, unknown>;
      const fields = new Set([...Object.keys(schema?.properties ?? {}), ...Object.keys(baseObject)]);
      // Size and depth once per operation (they cost the most), wrong types for every field
      const [firstField] = fields;
      if (firstField !== undefined) {
        await probe(
          basePath,
          JSON.stringify({ ...baseObject, [firstField]: 'z'.repeat(2 * 1024 * 1024) }),
          'application/json',
        );
        await probe(
          basePath,
          JSON.stringify({ ...baseObject, [firstField]: deepValue(2000) }),
          'application/json',
        );
      }
      for (const field of fields) {
        for (const wrong of WRONG_VALUES) {
          await probe(basePath, JSON.stringify({ ...baseObject, [field]: wrong }), 'application/json');
        }
        await probe(
          basePath,
          JSON.stringify({ ...baseObject, [field]: 'y'.repeat(20_000) }),
          'application/json',
        );
        await probe(
          basePath,
          JSON.stringify({ ...baseObject, [field]: `\u0000\u001b[31m\u202e${randomHex(4)}` }),
          'application/json',
        );
      }
      if (schema !== undefined) {
        await probe(
          basePath,
          JSON.stringify({ ...baseObject, [`unknown_${randomHex(4)}`]: 1 }),
          'application/json',
        );
        await probe(
          basePath,
          `{"__proto__":{"polluted":1},${(baseBody ?? '{}').slice(1)}`,
          'application/json',
        );
      }

      // Assess
      expect(({} as Record<string, unknown>).polluted, replay('Object.prototype polluted')).toBeUndefined();
      expectNone(problems, route.operationId);
    },
    120_000,
  );

  it('leaks no secret value into any response or log line', () => {
    assertCanaryContained(bed);
  });
});

function deepValue(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let level = 0; level < depth; level += 1) value = { a: value };
  return value;
}
