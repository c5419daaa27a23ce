/** Discovery runs with status, per-source progress and errors; start a run. */
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';

import {
  DiscoveryRunListResponse,
  DiscoveryRunResponse,
} from '../../../lambdas/shared/contracts/discovery.js';
import type { DiscoveryRun } from '../api/resources.js';
import { useApi, useIdentity } from '../app/context.js';
import { Badge, ErrorAlert, Loading, PageHeader, Time, toneOf } from '../components/ui.js';

function isRunning(run: Pick<DiscoveryRun, 'status'>): boolean {
  return run.status === 'queued' || run.status === 'running';
}

export function DiscoveryPage() {
  const api = useApi();
  const { can } = useIdentity();
  const queryClient = useQueryClient();
  const runs = useInfiniteQuery({
    queryKey: ['discovery', 'runs'],
    initialPageParam: undefined as string | undefined,
    queryFn: ({ pageParam, signal }) =>
      api.request({
        path: '/discovery/runs',
        query: { limit: 20, cursor: pageParam },
        schema: DiscoveryRunListResponse,
        action: 'list discovery runs',
        signal,
      }),
    getNextPageParam: (page) => page.data.nextCursor,
    // Follow runs in flight until they finish.
    refetchInterval: (query) =>
      query.state.data?.pages[0]?.data.runs.some(isRunning) === true ? 2_000 : false,
  });
  const start = useMutation({
    mutationFn: () =>
      api.request({
        method: 'POST',
        path: '/discovery/runs',
        schema: DiscoveryRunResponse,
        action: 'start a discovery run',
      }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['discovery', 'runs'] }),
  });
  const list = runs.data?.pages.flatMap((page) => page.data.runs) ?? [];
  // The run this page started, as the list shows it now (the answer to the start said `queued`).
  const startedRun =
    start.data === undefined
      ? undefined
      : (list.find((run) => run.id === start.data.data.id) ?? start.data.data);

  return (
    <>
      <PageHeader title="Discovery">
        {can.changeInventory && (
          <button
            type="button"
            className="btn btn-primary"
            disabled={start.isPending}
            onClick={() => start.mutate()}
          >
            Start discovery run
          </button>
        )}
      </PageHeader>
      <p className="muted -mt-2 mb-4 text-sm">
        Discovery lists IAM access keys, Secrets Manager secrets, SSM SecureString parameters and the stored
        secrets, metadata only, hourly and on request.
      </p>
      <ErrorAlert error={start.error ?? runs.error} />
      {startedRun !== undefined && (
        <p role="status" className="mb-2 text-sm">
          Run {startedRun.id} {startedRun.status}.
        </p>
      )}
      {runs.isPending && <Loading what="discovery runs" />}
      {runs.data !== undefined && list.length === 0 && <p className="muted text-sm">No run yet.</p>}
      <ul className="space-y-3">
        {list.map((run) => (
          <li key={run.id}>
            <RunCard run={run} />
          </li>
        ))}
      </ul>
      {runs.hasNextPage && (
        <button type="button" className="btn mt-3" onClick={() => void runs.fetchNextPage()}>
          Load older runs
        </button>
      )}
    </>
  );
}

function RunCard({ run }: { run: DiscoveryRun }) {
  const headingId = `run-${run.id}`;
  return (
    <article aria-labelledby={headingId} className="panel">
      <div className="flex flex-wrap items-center gap-2">
        <h2 id={headingId} className="text-sm">
          Run <Time value={run.queuedAt} />
        </h2>
        <Badge tone={toneOf(run.status)}>{run.status}</Badge>
        <span className="muted text-xs">
          {run.trigger === 'request' ? `requested by ${run.requestedBy ?? 'someone'}` : 'scheduled'}
          {run.finishedAt !== undefined && (
            <>
              , finished <Time value={run.finishedAt} />
            </>
          )}
        </span>
      </div>
      {run.notice !== undefined && <p className="mt-1 text-sm">{run.notice}</p>}
      <p className="muted mt-1 text-xs">
        seen {run.counts.seen}, new {run.counts.created}, changed {run.counts.updated}, gone {run.counts.gone}
        , findings opened {run.counts.findingsOpened}, resolved {run.counts.findingsResolved}, errors{' '}
        {run.counts.errors}
        {/* Shown only when it happened: the changes stand, but their history has gaps to know of. */}
        {run.counts.historyLost > 0 && <>, history entries lost {run.counts.historyLost}</>}
      </p>
      {run.sources.length > 0 && (
        <table className="table mt-2">
          <caption className="sr-only">Sources of this run</caption>
          <thead>
            <tr>
              <th scope="col">Source</th>
              <th scope="col">Status</th>
              <th scope="col">Seen</th>
              <th scope="col">API calls</th>
              <th scope="col">Errors</th>
            </tr>
          </thead>
          <tbody>
            {run.sources.map((source) => (
              <tr key={`${source.kind}-${source.label}`}>
                <td>
                  {source.label}
                  {source.account !== undefined && <span className="muted text-xs"> ({source.account})</span>}
                </td>
                <td>
                  <Badge tone={toneOf(source.status)}>{source.status}</Badge>
                </td>
                <td className="tabular-nums">{source.seen}</td>
                <td className="tabular-nums">{source.calls}</td>
                <td className="tabular-nums">{source.errors}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {run.errors.length > 0 && (
        <details className="mt-2 text-sm">
          <summary>{run.errors.length} error(s)</summary>
          <ul className="ml-4 list-disc">
            {run.errors.map((error, index) => (
              <li key={index}>
                <code>{error.code}</code> in {error.source}
                {error.operation !== undefined && ` (${error.service ?? ''} ${error.operation})`}:{' '}
                {error.message}
              </li>
            ))}
          </ul>
        </details>
      )}
    </article>
  );
}
