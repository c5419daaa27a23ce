/** Query the audit log, see an event's detail, verify the chain, export it. */
import { useInfiniteQuery, useMutation } from '@tanstack/react-query';
import { getRouteApi, Link } from '@tanstack/react-router';
import { type FormEvent, useState } from 'react';

import {
  AUDIT_OUTCOME_VALUES,
  AuditEventsResponse,
  AuditVerifyResponse,
} from '../../../lambdas/shared/contracts/audit.js';
import type { AuditEvent } from '../api/resources.js';
import { useApi, useIdentity } from '../app/context.js';
import { AUDIT_FILTERS, type AuditSearch } from '../app/search.js';
import {
  Badge,
  ErrorAlert,
  Facts,
  Loading,
  PageHeader,
  SelectField,
  TextField,
  Time,
  toneOf,
} from '../components/ui.js';

const route = getRouteApi('/app/audit');

/** `datetime-local` values are local times; the API takes ISO-8601 with a zone. */
export function toInstant(local: string | undefined): string | undefined {
  if (local === undefined || local === '') return undefined;
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export function AuditPage() {
  const { can } = useIdentity();
  return (
    <>
      <PageHeader title="Audit" />
      {can.readAudit ? (
        <AuditLog />
      ) : (
        <p className="text-sm">
          The audit log is shown to auditors and admins. Your role does not include it.
        </p>
      )}
    </>
  );
}

function AuditLog() {
  const api = useApi();
  const search = route.useSearch();
  const navigate = route.useNavigate();
  const query = {
    actor: search.actor,
    action: search.action,
    target: search.target,
    outcome: search.outcome,
    from: toInstant(search.from),
    to: toInstant(search.to),
    limit: 50,
  };
  const events = useInfiniteQuery({
    queryKey: ['audit', 'events', query],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam, signal }) =>
      api.request({
        path: '/audit',
        query: { ...query, cursor: pageParam },
        schema: AuditEventsResponse,
        action: 'query the audit log',
        signal,
      }),
    getNextPageParam: (page) => page.nextCursor ?? undefined,
  });
  const [selected, setSelected] = useState<AuditEvent | null>(null);
  const list = events.data?.pages.flatMap((page) => page.events) ?? [];

  return (
    <>
      <div className="mb-4 grid gap-4 lg:grid-cols-2">
        <VerifyChain />
        <Export />
      </div>
      <AuditFilters
        key={AUDIT_FILTERS.map((key) => search[key] ?? '').join('\u0000')}
        search={search}
        onApply={(next) => void navigate({ search: next })}
      />
      <ErrorAlert error={events.error} />
      {events.isPending && <Loading what="audit events" />}
      <div className="grid gap-4 lg:grid-cols-[2fr_1fr]">
        <div className="overflow-x-auto">
          <table className="table">
            <caption className="sr-only">Audit events, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Outcome</th>
                <th scope="col">
                  <span className="sr-only">Detail</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {events.data !== undefined && list.length === 0 && (
                <tr>
                  <td colSpan={6} className="muted">
                    No event matches.
                  </td>
                </tr>
              )}
              {list.map((event) => (
                <tr
                  key={event.eventId}
                  aria-selected={selected?.eventId === event.eventId ? true : undefined}
                >
                  <td className="whitespace-nowrap">
                    <Time value={event.time} />
                  </td>
                  <td className="break-all" title={event.actor.id}>
                    {event.actor.name ?? event.actor.id}
                  </td>
                  <td>
                    <code>{event.action}</code>
                  </td>
                  <td className="break-all">{targetText(event)}</td>
                  <td>
                    <Badge tone={toneOf(event.outcome)}>{event.outcome}</Badge>
                  </td>
                  <td>
                    <button type="button" className="btn" onClick={() => setSelected(event)}>
                      Details
                      <span className="sr-only">
                        {' '}
                        of {event.action} at {event.time}
                      </span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {events.hasNextPage && (
            <button
              type="button"
              className="btn mt-2"
              disabled={events.isFetchingNextPage}
              onClick={() => void events.fetchNextPage()}
            >
              Load older events
            </button>
          )}
        </div>
        <EventDetail event={selected} />
      </div>
    </>
  );
}

function targetText(event: AuditEvent): string {
  const { target } = event;
  const parts = [
    target.path,
    target.version !== undefined ? `v${target.version}` : undefined,
    target.credentialId,
    target.policy,
  ].filter((part) => part !== undefined);
  return parts.join(' ') || '—';
}

function EventDetail({ event }: { event: AuditEvent | null }) {
  return (
    <section
      aria-labelledby="event-detail"
      className="panel self-start lg:sticky lg:top-4"
      aria-live="polite"
    >
      <h2 id="event-detail" className="mb-2">
        Event detail
      </h2>
      {event === null ? (
        <p className="muted text-sm">Choose an event's “Details”.</p>
      ) : (
        <Facts
          items={[
            ['Event id', <code key="id">{event.eventId}</code>],
            ['Time', <Time key="t" value={event.time} />],
            [
              'Actor',
              event.actor.name === undefined
                ? `${event.actor.id} (${event.actor.kind})`
                : `${event.actor.name} (${event.actor.kind} ${event.actor.id})`,
            ],
            ['Source IP', event.actor.sourceIp ?? '—'],
            ['User agent', event.actor.userAgent ?? '—'],
            ['Action', <code key="a">{event.action}</code>],
            ['Target', <code key="tg">{JSON.stringify(event.target)}</code>],
            ['Outcome', event.outcome],
            ['Reason', event.reason ?? '—'],
            ['Request id', event.requestId ?? '—'],
            ['Correlation id', event.correlationId ?? '—'],
            ['Tenant', event.tenant],
          ]}
        />
      )}
      {event !== null && (
        <p className="mt-2 text-sm">
          <Link to="/audit" search={{ actor: event.actor.id }}>
            Only this actor’s events
          </Link>
        </p>
      )}
    </section>
  );
}

function AuditFilters({ search, onApply }: { search: AuditSearch; onApply: (next: AuditSearch) => void }) {
  const [draft, setDraft] = useState<AuditSearch>(search);
  const set = (key: keyof AuditSearch) => (value: string) =>
    setDraft((current) => ({ ...current, [key]: value }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const next: AuditSearch = {};
    for (const key of AUDIT_FILTERS) {
      const value = draft[key]?.trim();
      if (value !== undefined && value !== '') next[key] = value;
    }
    onApply(next);
  };
  return (
    <form role="search" aria-label="Filter audit events" onSubmit={submit} className="panel mb-4">
      <div className="grid gap-2 sm:grid-cols-3 lg:grid-cols-6">
        <TextField
          label="Actor"
          value={draft.actor ?? ''}
          onChange={set('actor')}
          hint="subject or client id"
        />
        <TextField
          label="Action"
          value={draft.action ?? ''}
          onChange={set('action')}
          hint="e.g. secret.read"
        />
        <TextField
          label="Target"
          value={draft.target ?? ''}
          onChange={set('target')}
          hint="path, id or policy"
        />
        <SelectField
          label="Outcome"
          value={draft.outcome ?? ''}
          onChange={set('outcome')}
          options={[{ value: '', label: 'Any' }, ...AUDIT_OUTCOME_VALUES]}
        />
        <TextField label="From" type="datetime-local" value={draft.from ?? ''} onChange={set('from')} />
        <TextField label="To" type="datetime-local" value={draft.to ?? ''} onChange={set('to')} />
      </div>
      <div className="mt-2 flex gap-2">
        <button type="submit" className="btn btn-primary">
          Search
        </button>
        <button
          type="button"
          className="btn"
          onClick={() => {
            setDraft({});
            onApply({});
          }}
        >
          Clear
        </button>
      </div>
    </form>
  );
}

function VerifyChain() {
  const api = useApi();
  const verify = useMutation({
    mutationFn: () =>
      api.request({ path: '/audit/verify', schema: AuditVerifyResponse, action: 'verify the audit chain' }),
  });
  const result = verify.data;
  return (
    <section aria-labelledby="verify" className="panel">
      <h2 id="verify" className="mb-2">
        Chain integrity
      </h2>
      <button
        type="button"
        className="btn btn-primary"
        disabled={verify.isPending}
        onClick={() => verify.mutate()}
      >
        Verify chain
      </button>
      <div role="status" className="mt-2 text-sm">
        {verify.isPending && 'Verifying…'}
        {result !== undefined &&
          (result.ok ? (
            <p>
              <Badge tone="good">intact</Badge> {result.checked} entries
              {result.firstSeq === null ? '' : ` (seq ${result.firstSeq}–${result.lastSeq})`},{' '}
              {result.digestsVerified === 1 ? '1 signed digest' : `${result.digestsVerified} signed digests`}{' '}
              verified.
              {result.digestsVerified === 0 &&
                result.checked > 0 &&
                ' No signed digest covers them yet: the chain links them, and the next digest (hourly) signs them.'}
            </p>
          ) : (
            <p>
              <Badge tone="bad">not intact</Badge> first bad seq{' '}
              <strong>{result.firstBad?.seq ?? '?'}</strong>: {result.firstBad?.reason ?? 'unknown'} (
              {result.checked} entries verified before it)
            </p>
          ))}
      </div>
      <ErrorAlert error={verify.error} />
    </section>
  );
}

function Export() {
  const api = useApi();
  const [status, setStatus] = useState<string | null>(null);
  const download = useMutation({
    mutationFn: async (format: 'ndjson' | 'csv') => {
      const blob = await api.text(
        { path: '/audit/export', query: { format }, action: 'export the audit log' },
        format === 'csv' ? 'text/csv' : 'application/x-ndjson',
      );
      const url = URL.createObjectURL(blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = `vaultpilot-audit.${format}`;
      link.click();
      // Give the browser the download before the object URL goes.
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      return format;
    },
    onSuccess: (format) => setStatus(`The ${format.toUpperCase()} export has been downloaded.`),
  });
  return (
    <section aria-labelledby="export" className="panel">
      <h2 id="export" className="mb-2">
        Export
      </h2>
      <p className="muted mb-2 text-xs">
        NDJSON carries the chain, digests and public key: <code>npx vaultpilot audit verify --file</code>{' '}
        checks it offline.
      </p>
      <div className="flex gap-2">
        <button
          type="button"
          className="btn"
          disabled={download.isPending}
          onClick={() => download.mutate('ndjson')}
        >
          Export NDJSON
        </button>
        <button
          type="button"
          className="btn"
          disabled={download.isPending}
          onClick={() => download.mutate('csv')}
        >
          Export CSV
        </button>
      </div>
      <p role="status" className="mt-2 text-sm">
        {download.isPending ? 'Preparing the export…' : status}
      </p>
      <ErrorAlert error={download.error} />
    </section>
  );
}
