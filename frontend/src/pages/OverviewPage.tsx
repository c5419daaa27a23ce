/**
 * "Needs attention": every number comes from a server-side filter with a small page size, so the
 * overview costs the same with 10 or 10,000 credentials.
 */
import { useQuery } from '@tanstack/react-query';
import { Link } from '@tanstack/react-router';

import { AuditDigestsResponse, AuditEventsResponse } from '../../../lambdas/shared/contracts/audit.js';
import { CredentialListResponse, SEVERITY_VALUES } from '../../../lambdas/shared/contracts/credentials.js';
import { FindingRulesResponse } from '../../../lambdas/shared/contracts/discovery.js';
import type { ApiClient } from '../api/client.js';
import type { Credential } from '../api/resources.js';
import { useApi, useIdentity } from '../app/context.js';
import { Badge, ErrorAlert, Loading, PageHeader, Time, toneOf } from '../components/ui.js';

const EXPIRY_RULES = {
  imminent: 'credential-expiring-imminent',
  soon: 'credential-expiring-soon',
  notice: 'credential-expiring-notice',
} as const;

/**
 * The calendar reads one bounded page of each kind (expiries by date, managed credentials for
 * scheduled rotations), so the overview costs the same with 10 or 10,000 credentials; it says so
 * when there are more.
 */
const CALENDAR_LIMIT = 200;

function listCredentials(api: ApiClient, query: Record<string, string | number>, signal: AbortSignal) {
  return api.request({
    path: '/credentials',
    query,
    schema: CredentialListResponse,
    action: 'list credentials',
    signal,
  });
}

/**
 * One page of the inventory for a filter. The 30-day panel and the calendar ask the same
 * question with the same limit, so they share one request (the query key is the request).
 */
function useCredentialPage(query: Record<string, string>, limit: number) {
  const api = useApi();
  return useQuery({
    queryKey: ['credentials', 'overview', query, limit],
    queryFn: ({ signal }) => listCredentials(api, { ...query, limit }, signal),
  });
}

export function OverviewPage() {
  const api = useApi();
  const { can } = useIdentity();

  const rules = useQuery({
    queryKey: ['discovery-rules'],
    queryFn: ({ signal }) =>
      api.request({
        path: '/discovery/rules',
        schema: FindingRulesResponse,
        action: 'read the finding rules',
        signal,
      }),
    staleTime: 10 * 60_000,
  });
  const days = (ruleId: string, fallback: number) =>
    rules.data?.data.rules.find((rule) => rule.id === ruleId)?.thresholdDays ?? fallback;
  const warningDays = days(EXPIRY_RULES.soon, 7);
  const noticeDays = days(EXPIRY_RULES.notice, 30);

  return (
    <>
      <PageHeader title="Overview" />
      <p className="muted -mt-2 mb-4 text-sm">What needs attention now, across every kind of credential.</p>
      <div className="grid gap-4 lg:grid-cols-2">
        <CredentialPanel
          title={`Expiring within ${warningDays} days`}
          query={{ finding: `${EXPIRY_RULES.imminent},${EXPIRY_RULES.soon}`, sort: 'expiresAt' }}
          linkSearch={{ status: 'expiring', sort: 'expiresAt' }}
          show="expiresAt"
        />
        <CredentialPanel
          title={`Expiring within ${noticeDays} days`}
          query={{ finding: Object.values(EXPIRY_RULES).join(','), sort: 'expiresAt' }}
          limit={CALENDAR_LIMIT}
          linkSearch={{ status: 'expiring', sort: 'expiresAt' }}
          show="expiresAt"
        />
        <CredentialPanel
          title="Overdue"
          query={{ status: 'overdue', sort: 'expiresAt' }}
          linkSearch={{ status: 'overdue', sort: 'expiresAt' }}
          show="status"
        />
        <CredentialPanel
          title="Failed rotations"
          query={{ status: 'failed', sort: '-updatedAt' }}
          linkSearch={{ status: 'failed', sort: '-updatedAt' }}
          show="updatedAt"
        />
        <FindingsBySeverity />
        {can.readAudit ? <AuditChainStatus /> : <AuditChainHidden />}
      </div>
      <ExpiryCalendar noticeRule={Object.values(EXPIRY_RULES).join(',')} />
    </>
  );
}

function CredentialPanel({
  title,
  query,
  limit = 5,
  linkSearch,
  show,
}: {
  title: string;
  query: Record<string, string>;
  limit?: number;
  linkSearch: Record<string, string>;
  show: 'expiresAt' | 'status' | 'updatedAt';
}) {
  const result = useCredentialPage(query, limit);
  const headingId = `panel-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <section aria-labelledby={headingId} className="panel">
      <div className="mb-2 flex items-baseline justify-between gap-2">
        <h2 id={headingId}>{title}</h2>
        {result.data !== undefined && (
          <span className="text-2xl font-semibold tabular-nums">{result.data.data.total}</span>
        )}
      </div>
      {result.isPending && <Loading what={title.toLowerCase()} />}
      <ErrorAlert error={result.error} />
      {result.data !== undefined &&
        (result.data.data.credentials.length === 0 ? (
          <p className="muted text-sm">Nothing here.</p>
        ) : (
          <ul className="divide-y divide-slate-200 text-sm dark:divide-slate-800">
            {result.data.data.credentials.slice(0, 5).map((credential) => (
              <li key={credential.id} className="flex items-center justify-between gap-2 py-1">
                <Link to="/credentials/$id" params={{ id: credential.id }} className="truncate">
                  {credential.name}
                </Link>
                <span className="shrink-0 text-xs">
                  {show === 'status' ? (
                    <Badge tone={toneOf(credential.status)}>{credential.status}</Badge>
                  ) : (
                    <Time value={credential[show]} date={show === 'expiresAt'} />
                  )}
                </span>
              </li>
            ))}
          </ul>
        ))}
      <p className="mt-2 text-sm">
        <Link to="/credentials" search={linkSearch}>
          Show in the inventory
          <span className="sr-only">: {title.toLowerCase()}</span>
        </Link>
      </p>
    </section>
  );
}

function FindingsBySeverity() {
  const api = useApi();
  const counts = useQuery({
    queryKey: ['credentials', 'overview', 'severity-counts'],
    queryFn: async ({ signal }) =>
      Promise.all(
        SEVERITY_VALUES.map(async (severity) => {
          const page = await listCredentials(api, { severity, limit: 1 }, signal);
          return [severity, page.data.total] as const;
        }),
      ),
  });
  return (
    <section aria-labelledby="findings-by-severity" className="panel">
      <h2 id="findings-by-severity" className="mb-2">
        Open findings by severity
      </h2>
      <p className="muted mb-2 text-xs">Credentials with at least one open finding of each severity.</p>
      {counts.isPending && <Loading what="finding counts" />}
      <ErrorAlert error={counts.error} />
      {counts.data !== undefined && (
        <ul className="grid grid-cols-4 gap-2 text-center">
          {counts.data.map(([severity, total]) => (
            <li key={severity}>
              <Link
                to="/credentials"
                search={{ severity }}
                className="block rounded border border-slate-200 p-2 no-underline dark:border-slate-700"
              >
                <span className="block text-2xl font-semibold tabular-nums">{total}</span>
                <Badge tone={toneOf(severity)}>{severity}</Badge>
              </Link>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function AuditChainStatus() {
  const api = useApi();
  const lastVerification = useQuery({
    queryKey: ['audit', 'last-verification'],
    queryFn: ({ signal }) =>
      api.request({
        path: '/audit',
        query: { action: 'audit.verify', limit: 1 },
        schema: AuditEventsResponse,
        action: 'read the audit log',
        signal,
      }),
  });
  const digests = useQuery({
    queryKey: ['audit', 'digests'],
    queryFn: ({ signal }) =>
      api.request({
        path: '/audit/digests',
        schema: AuditDigestsResponse,
        action: 'read the signed digests',
        signal,
      }),
  });
  const verification = lastVerification.data?.events[0];
  const digest = digests.data?.digests.at(-1);
  return (
    <section aria-labelledby="audit-chain-status" className="panel">
      <h2 id="audit-chain-status" className="mb-2">
        Audit chain
      </h2>
      <ErrorAlert error={lastVerification.error ?? digests.error} />
      <dl className="grid grid-cols-[max-content_1fr] gap-x-4 gap-y-1 text-sm">
        <dt className="muted">Last verification</dt>
        <dd>
          {lastVerification.isPending ? (
            'Loading…'
          ) : verification === undefined ? (
            'Never verified'
          ) : (
            <>
              <Time value={verification.time} /> by {verification.actor.id}{' '}
              <Badge tone={toneOf(verification.outcome)}>{verification.outcome}</Badge>
            </>
          )}
        </dd>
        <dt className="muted">Last signed digest</dt>
        <dd>
          {digests.isPending ? (
            'Loading…'
          ) : digest === undefined ? (
            'No digest signed yet'
          ) : (
            <>
              <Time value={digest.createdAt} />, seq {digest.fromSeq}–{digest.toSeq}{' '}
              <code className="break-all">{digest.headHash.slice(0, 16)}…</code>
            </>
          )}
        </dd>
      </dl>
      <p className="mt-2 text-sm">
        <Link to="/audit">Verify the chain on the Audit page</Link>
      </p>
    </section>
  );
}

function AuditChainHidden() {
  return (
    <section aria-labelledby="audit-chain-status" className="panel">
      <h2 id="audit-chain-status" className="mb-2">
        Audit chain
      </h2>
      <p className="muted text-sm">The audit chain status is shown to auditors and admins.</p>
    </section>
  );
}

interface CalendarEntry {
  readonly credential: Credential;
  readonly kind: 'expires' | 'rotation';
}

function dayKey(date: Date): string {
  return date.toISOString().slice(0, 10);
}

function ExpiryCalendar({ noticeRule }: { noticeRule: string }) {
  const api = useApi();
  const expiring = useCredentialPage({ finding: noticeRule, sort: 'expiresAt' }, CALENDAR_LIMIT);
  // The API has no due-before filter for rotations; the calendar reads one bounded page of
  // managed credentials and says so when there are more.
  const managed = useQuery({
    queryKey: ['credentials', 'overview', 'calendar-rotations'],
    queryFn: ({ signal }) => listCredentials(api, { source: 'managed', limit: CALENDAR_LIMIT }, signal),
  });

  const today = new Date();
  today.setUTCHours(0, 0, 0, 0);
  const days = Array.from({ length: 30 }, (_, index) => new Date(today.getTime() + index * 86_400_000));
  const byDay = new Map<string, CalendarEntry[]>();
  const add = (at: string | undefined, entry: CalendarEntry) => {
    if (at === undefined) return;
    const key = dayKey(new Date(at));
    byDay.set(key, [...(byDay.get(key) ?? []), entry]);
  };
  for (const credential of expiring.data?.data.credentials ?? [])
    add(credential.expiresAt, { credential, kind: 'expires' });
  for (const credential of managed.data?.data.credentials ?? []) {
    add(credential.rotation?.dueAt, { credential, kind: 'rotation' });
  }
  const weeks: Date[][] = [];
  for (let index = 0; index < days.length; index += 7) weeks.push(days.slice(index, index + 7));
  const format = new Intl.DateTimeFormat(undefined, {
    weekday: 'short',
    month: 'short',
    day: 'numeric',
    timeZone: 'UTC',
  });

  return (
    <section aria-labelledby="calendar-heading" className="panel mt-4">
      <h2 id="calendar-heading" className="mb-1">
        Next 30 days: expiries and scheduled rotations
      </h2>
      <p className="muted mb-2 text-xs">
        Days in UTC. <Badge tone="warn">expires</Badge> <Badge tone="info">rotation</Badge>
        {expiring.data?.data.nextCursor !== undefined &&
          ` Expiries shown for the ${CALENDAR_LIMIT} soonest of ${expiring.data.data.total}.`}
        {managed.data?.data.nextCursor !== undefined &&
          ` Rotations shown for the first ${CALENDAR_LIMIT} of ${managed.data.data.total} managed credentials.`}
      </p>
      <ErrorAlert error={expiring.error ?? managed.error} />
      {(expiring.isPending || managed.isPending) && <Loading what="the calendar" />}
      <ol className="grid grid-cols-2 gap-1 sm:grid-cols-4 lg:grid-cols-7">
        {weeks.flat().map((day) => {
          const entries = byDay.get(dayKey(day)) ?? [];
          return (
            <li
              key={dayKey(day)}
              className={`min-h-16 rounded border p-1 text-xs ${
                entries.length > 0
                  ? 'border-slate-400 dark:border-slate-500'
                  : 'border-slate-200 dark:border-slate-800'
              }`}
            >
              <p className="font-medium">{format.format(day)}</p>
              {entries.length > 0 && (
                <ul>
                  {entries.slice(0, 4).map((entry) => (
                    <li key={`${entry.kind}-${entry.credential.id}`} className="truncate">
                      <Badge tone={entry.kind === 'expires' ? 'warn' : 'info'}>
                        {entry.kind === 'expires' ? 'expires' : 'rotation'}
                      </Badge>{' '}
                      <Link to="/credentials/$id" params={{ id: entry.credential.id }}>
                        {entry.credential.name}
                      </Link>
                    </li>
                  ))}
                  {entries.length > 4 && <li className="muted">and {entries.length - 4} more</li>}
                </ul>
              )}
            </li>
          );
        })}
      </ol>
    </section>
  );
}
