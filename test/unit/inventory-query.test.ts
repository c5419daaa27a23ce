/**
 * Listing the inventory: every filter, sort orders with missing values last, and cursor pages
 * that together return each matching credential exactly once; bad parameters are 400s.
 */
import { describe, expect, it } from 'vitest';
import type { Credential } from '../../lambdas/core/credentials/credential.js';
import { parseCredentialQuery, queryCredentials } from '../../lambdas/core/credentials/inventory-query.js';
import { ValidationError } from '../../lambdas/core/errors.js';
import { accessKey, credential, daysAgo, NOW } from '../support/credentials.js';

const id = (n: number): string => `cr_${n.toString(16).padStart(24, '0')}`;

const inventory: Credential[] = [
  accessKey({
    id: id(1),
    name: 'AKIA1 (alice)',
    owner: 'Team-Payments',
    reference: { account: '111122223333', keyId: 'AKIAEXAMPLE00000001', userName: 'alice' },
    findings: [{ ruleId: 'iam-access-key-too-old', severity: 'medium', since: NOW.toISOString() }],
    status: 'overdue',
    lastUsedAt: daysAgo(2),
  }),
  accessKey({
    id: id(2),
    name: 'AKIA2 (bob)',
    reference: { account: '444455556666', keyId: 'AKIAEXAMPLE00000002', userName: 'bob' },
    findings: [{ ruleId: 'iam-root-access-key', severity: 'critical', since: NOW.toISOString() }],
    lastUsedAt: daysAgo(40),
  }),
  credential({
    id: id(3),
    name: 'stripe api key',
    type: 'api-token',
    owner: 'team-payments',
    tags: { env: 'prod' },
    expiresAt: daysAgo(-5),
    status: 'expiring',
    findings: [{ ruleId: 'credential-expiring-soon', severity: 'medium', since: NOW.toISOString() }],
  }),
  credential({
    id: id(4),
    name: 'github deploy token',
    type: 'github-token',
    sourceTags: { env: 'staging' },
    description: 'Used by the release pipeline',
  }),
  credential({
    id: id(5),
    name: 'old secret',
    type: 'vault-secret',
    source: 'discovered',
    status: 'gone',
    goneAt: daysAgo(1),
  }),
];

const list = (raw: Record<string, string>) => queryCredentials(inventory, parseCredentialQuery(raw));
const ids = (raw: Record<string, string>) => list(raw).items.map((item) => item.id);

function refusal(raw: Record<string, string>): ValidationError {
  try {
    parseCredentialQuery(raw);
  } catch (error: unknown) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected a ValidationError');
}

describe('credential listing', () => {
  it('lists everything, gone credentials included, by name by default', () => {
    expect(list({}).items.map((c) => c.name)).toEqual([
      'AKIA1 (alice)',
      'AKIA2 (bob)',
      'github deploy token',
      'old secret',
      'stripe api key',
    ]);
    expect(list({}).total).toBe(5);
  });

  it.each([
    [{ type: 'aws-iam-access-key' }, [1, 2]],
    [{ type: 'api-token,github-token' }, [4, 3]],
    [{ status: 'gone' }, [5]],
    [{ status: 'overdue,expiring' }, [1, 3]],
    [{ severity: 'critical' }, [2]],
    [{ severity: 'medium' }, [1, 3]],
    [{ finding: 'iam-access-key-too-old' }, [1]],
    [{ finding: 'credential-expiring-soon,iam-root-access-key' }, [2, 3]],
    [{ source: 'discovered' }, [1, 2, 5]],
    [{ owner: 'team-payments' }, [1, 3]],
    [{ tag: 'env' }, [4, 3]],
    [{ tag: 'env=prod' }, [3]],
    [{ account: '444455556666' }, [2]],
    [{ q: 'PIPELINE' }, [4]],
    [{ q: 'bob' }, [2]],
    [{ type: 'aws-iam-access-key', severity: 'critical' }, [2]],
  ])('filters by %j', (raw, expected) => {
    expect(ids(raw)).toEqual(expected.map(id));
  });

  it('sorts by any field either way, with missing values last', () => {
    expect(ids({ sort: 'lastUsedAt' })).toEqual([id(2), id(1), id(3), id(4), id(5)]);
    expect(ids({ sort: '-lastUsedAt' })).toEqual([id(1), id(2), id(3), id(4), id(5)]);
    expect(ids({ sort: '-severity' }).slice(0, 3)).toEqual([id(2), id(1), id(3)]);
    expect(ids({ sort: 'expiresAt' })[0]).toBe(id(3));
  });

  it('pages through with a cursor, each credential exactly once', () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = list({ limit: '2', sort: '-severity', ...(cursor === undefined ? {} : { cursor }) });
      seen.push(...page.items.map((item) => item.id));
      cursor = page.cursor;
      pages += 1;
    } while (cursor !== undefined);
    expect(pages).toBe(3);
    expect(seen).toEqual(ids({ sort: '-severity' }));
  });

  it('refuses a cursor of another listing or one it did not issue', () => {
    const first = list({ limit: '1', sort: 'name' });
    expect(first.cursor).toBeDefined();
    expect(() => list({ limit: '1', sort: 'type', cursor: first.cursor ?? '' })).toThrow(ValidationError);
    expect(() => list({ cursor: 'not-a-cursor' })).toThrow(ValidationError);
    expect(() => list({ cursor: Buffer.from('{"f":"x","k":[0,"a"]}').toString('base64url') })).toThrow(
      ValidationError,
    );
  });

  it.each([
    [{ type: 'aws-iam-key' }, 'type'],
    [{ status: 'healthy,broken' }, 'status'],
    [{ severity: 'urgent' }, 'severity'],
    [{ finding: 'no-such-rule' }, 'finding'],
    [{ source: 'imported' }, 'source'],
    [{ sort: 'colour' }, 'sort'],
    [{ limit: '0' }, 'limit'],
    [{ limit: '501' }, 'limit'],
    [{ limit: 'ten' }, 'limit'],
    [{ account: '12' }, 'account'],
    [{ type: ',' }, 'type'],
    [{ q: '   ' }, 'q'],
  ])('refuses %j with a 400 naming %s', (raw, parameter) => {
    expect(refusal(raw).details).toMatchObject({ parameter });
  });
});
