/**
 * The query-string state of the pages (filters, paths), validated on every navigation so a shared
 * or hand-edited URL can never put an unexpected value into an API call.
 */
function text(value: unknown, max = 400): string | undefined {
  if (typeof value === 'number') value = String(value);
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed.slice(0, max);
}

export const CREDENTIAL_FILTERS = [
  'type',
  'status',
  'severity',
  'source',
  'owner',
  'tag',
  'account',
  'q',
] as const;
export type CredentialFilter = (typeof CREDENTIAL_FILTERS)[number];

export type CredentialsSearch = Partial<Record<CredentialFilter | 'sort' | 'cursor', string>> & {
  register?: string;
};

export function validateCredentialsSearch(search: Record<string, unknown>): CredentialsSearch {
  const result: CredentialsSearch = {};
  for (const key of [...CREDENTIAL_FILTERS, 'sort', 'cursor', 'register'] as const) {
    const value = text(search[key], key === 'cursor' ? 2000 : 400);
    if (value !== undefined) result[key] = value;
  }
  return result;
}

export interface SecretsSearch {
  path?: string;
}

export function validateSecretsSearch(search: Record<string, unknown>): SecretsSearch {
  const path = text(search.path, 1024);
  return path === undefined ? {} : { path };
}

export const AUDIT_FILTERS = ['actor', 'action', 'target', 'outcome', 'from', 'to'] as const;
export type AuditSearch = Partial<Record<(typeof AUDIT_FILTERS)[number], string>>;

export function validateAuditSearch(search: Record<string, unknown>): AuditSearch {
  const result: AuditSearch = {};
  for (const key of AUDIT_FILTERS) {
    const value = text(search[key], 1024);
    if (value !== undefined) result[key] = value;
  }
  return result;
}
