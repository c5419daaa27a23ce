/**
 * The inventory: server-side filters, sorting and cursor paging, all kept in the URL so a view
 * can be shared. Only one page (50 rows) is ever loaded.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link, getRouteApi } from '@tanstack/react-router';
import { type FormEvent, useState } from 'react';

import {
  CREDENTIAL_STATUS_VALUES,
  CREDENTIAL_TYPE_VALUES,
  CredentialListResponse,
  SEVERITY_VALUES,
} from '../../../lambdas/shared/contracts/credentials.js';
import { type Credential, TYPE_LABELS } from '../api/resources.js';
import { useApi, useIdentity } from '../app/context.js';
import { CREDENTIAL_FILTERS, type CredentialFilter, type CredentialsSearch } from '../app/search.js';
import { RegisterCredentialForm } from '../components/RegisterCredentialForm.js';
import { type Column, SortableTable, formatSort, parseSort } from '../components/SortableTable.js';
import {
  Badge,
  ErrorAlert,
  Loading,
  PageHeader,
  SelectField,
  TextField,
  Time,
  toneOf,
} from '../components/ui.js';

const route = getRouteApi('/app/credentials');
export const PAGE_SIZE = 50;
const DEFAULT_SORT = { key: 'name', direction: 'ascending' } as const;

const COLUMNS: readonly Column<Credential>[] = [
  {
    id: 'name',
    header: 'Name',
    sortKey: 'name',
    cell: (credential) => (
      <Link to="/credentials/$id" params={{ id: credential.id }}>
        {credential.name}
      </Link>
    ),
  },
  { id: 'type', header: 'Type', sortKey: 'type', cell: (credential) => TYPE_LABELS[credential.type] },
  {
    id: 'status',
    header: 'Status',
    sortKey: 'status',
    cell: (credential) => <Badge tone={toneOf(credential.status)}>{credential.status}</Badge>,
  },
  {
    id: 'severity',
    header: 'Findings',
    sortKey: 'severity',
    cell: (credential) =>
      credential.findings.length === 0 ? (
        <span className="muted">none</span>
      ) : (
        <span className="flex flex-wrap gap-1">
          {credential.findings.map((finding) => (
            <Badge key={finding.ruleId} tone={toneOf(finding.severity)}>
              {finding.severity}
            </Badge>
          ))}
        </span>
      ),
  },
  {
    id: 'owner',
    header: 'Owner',
    cell: (credential) => credential.owner ?? <span className="muted">—</span>,
  },
  { id: 'source', header: 'Source', cell: (credential) => credential.source },
  {
    id: 'lastUsedAt',
    header: 'Last used',
    sortKey: 'lastUsedAt',
    cell: (credential) => <Time value={credential.lastUsedAt} date />,
  },
  {
    id: 'lastRotatedAt',
    header: 'Last rotated',
    sortKey: 'lastRotatedAt',
    cell: (credential) => <Time value={credential.lastRotatedAt} date />,
  },
  {
    id: 'expiresAt',
    header: 'Expires',
    sortKey: 'expiresAt',
    cell: (credential) => <Time value={credential.expiresAt} date />,
  },
];

/** The API query of a page's URL: filters as they are, sort, one page from the cursor. */
export function listQueryOf(search: CredentialsSearch): Record<string, string> {
  const query: Record<string, string> = { limit: String(PAGE_SIZE) };
  for (const key of [...CREDENTIAL_FILTERS, 'sort', 'cursor'] as const) {
    const value = search[key];
    if (value !== undefined) query[key] = value;
  }
  return query;
}

export function CredentialsPage() {
  const api = useApi();
  const { can } = useIdentity();
  const search = route.useSearch();
  const navigate = route.useNavigate();
  // Cursors of the pages before this one, for "Previous"; a shared link starts a fresh trail.
  const [trail, setTrail] = useState<(string | undefined)[]>([]);
  const query = listQueryOf(search);
  const result = useQuery({
    queryKey: ['credentials', 'list', query],
    queryFn: ({ signal }) =>
      api.request({
        path: '/credentials',
        query,
        schema: CredentialListResponse,
        action: 'list credentials',
        signal,
      }),
    placeholderData: keepPreviousData,
  });
  const sort = parseSort(search.sort, DEFAULT_SORT);
  const registering = search.register !== undefined;

  const setSearch = (next: CredentialsSearch) => {
    setTrail([]);
    void navigate({ search: next });
  };

  return (
    <>
      <PageHeader title="Credentials">
        {can.changeInventory && !registering && (
          <button
            type="button"
            className="btn btn-primary"
            onClick={() => void navigate({ search: (previous) => ({ ...previous, register: 'api-token' }) })}
          >
            Register credential
          </button>
        )}
      </PageHeader>
      {registering && can.changeInventory && (
        <RegisterCredentialForm
          defaults={{ type: search.register }}
          onCancel={() => void navigate({ search: ({ register: _register, ...rest }) => rest })}
        />
      )}
      {/* Remounted when the URL's filters change (back button, shared link), so the form shows them. */}
      <Filters
        key={CREDENTIAL_FILTERS.map((key) => search[key] ?? '').join('\u0000')}
        search={search}
        onApply={setSearch}
      />
      <div className="mb-2 flex items-center justify-between text-sm" aria-live="polite">
        {result.data !== undefined && (
          <p>
            {result.data.data.total} credential{result.data.data.total === 1 ? '' : 's'} match
            {result.isPlaceholderData && <span className="muted"> (updating…)</span>}
          </p>
        )}
      </div>
      <ErrorAlert error={result.error} />
      {result.isPending ? (
        <Loading what="credentials" />
      ) : (
        result.data !== undefined && (
          <SortableTable
            caption="Credentials, sortable by column"
            columns={COLUMNS}
            rows={result.data.data.credentials}
            rowKey={(credential) => credential.id}
            sort={sort}
            onSort={(next) => setSearch({ ...search, sort: formatSort(next), cursor: undefined })}
            empty="No credential matches these filters."
          />
        )
      )}
      <nav aria-label="Pages" className="mt-3 flex gap-2">
        <button
          type="button"
          className="btn"
          disabled={search.cursor === undefined}
          onClick={() => {
            const previous = trail.at(-1);
            setTrail(trail.slice(0, -1));
            void navigate({ search: { ...search, cursor: previous } });
          }}
        >
          Previous page
        </button>
        <button
          type="button"
          className="btn"
          disabled={result.data?.data.nextCursor === undefined}
          onClick={() => {
            setTrail([...trail, search.cursor]);
            void navigate({ search: { ...search, cursor: result.data?.data.nextCursor } });
          }}
        >
          Next page
        </button>
      </nav>
    </>
  );
}

const SELECTS: Partial<Record<CredentialFilter, readonly (string | { value: string; label: string })[]>> = {
  type: CREDENTIAL_TYPE_VALUES.map((value) => ({ value, label: TYPE_LABELS[value] })),
  status: CREDENTIAL_STATUS_VALUES,
  severity: SEVERITY_VALUES,
  source: ['discovered', 'managed'],
};

const LABELS: Record<CredentialFilter, string> = {
  type: 'Type',
  status: 'Status',
  severity: 'Finding severity',
  source: 'Source',
  owner: 'Owner',
  tag: 'Tag',
  account: 'AWS account',
  q: 'Text',
};

/** The filter form: edits stay local until "Apply", then they become the URL. */
export function Filters({
  search,
  onApply,
}: {
  search: CredentialsSearch;
  onApply: (next: CredentialsSearch) => void;
}) {
  const [draft, setDraft] = useState<Partial<Record<CredentialFilter, string>>>(() =>
    Object.fromEntries(CREDENTIAL_FILTERS.map((key) => [key, search[key] ?? ''])),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const next: CredentialsSearch = { sort: search.sort };
    for (const key of CREDENTIAL_FILTERS) {
      const value = draft[key]?.trim();
      if (value !== undefined && value !== '') next[key] = value;
    }
    onApply(next);
  };
  const clear = () => {
    setDraft({});
    onApply({ sort: search.sort });
  };
  return (
    <form role="search" aria-label="Filter credentials" onSubmit={submit} className="panel mb-4">
      <div className="grid gap-2 sm:grid-cols-4 lg:grid-cols-8">
        {CREDENTIAL_FILTERS.map((key) => {
          const options = SELECTS[key];
          const value = draft[key] ?? '';
          const onChange = (next: string) => setDraft((current) => ({ ...current, [key]: next }));
          return options === undefined ? (
            <TextField key={key} label={LABELS[key]} value={value} onChange={onChange} />
          ) : (
            <SelectField
              key={key}
              label={LABELS[key]}
              value={value}
              onChange={onChange}
              options={[{ value: '', label: 'Any' }, ...options]}
            />
          );
        })}
      </div>
      <div className="mt-2 flex gap-2">
        <button type="submit" className="btn btn-primary">
          Apply filters
        </button>
        <button type="button" className="btn" onClick={clear}>
          Clear
        </button>
      </div>
    </form>
  );
}
