/**
 * A credential's alerts (docs/notifications.md, "Acknowledge and snooze"): whether they are held,
 * and for operators and admins the way to hold them — acknowledged until the credential's
 * condition changes, or snoozed for a week — or to send them again. Audit integrity failures are
 * never held; the API audits every change of a hold.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';

import { AlertHoldResponse } from '../../../lambdas/shared/contracts/notifications.js';
import { ApiError } from '../api/errors.js';
import { useApi, useIdentity } from '../app/context.js';
import { ErrorAlert, Loading, Time } from './ui.js';

const SNOOZE_DAYS = 7;
const DAY_MS = 86_400_000;

export function AlertHoldPanel({ credentialId }: { credentialId: string }) {
  const api = useApi();
  const { can } = useIdentity();
  const queryClient = useQueryClient();
  const path = `/notifications/holds/${encodeURIComponent(credentialId)}`;
  const queryKey = ['notifications', 'holds', credentialId];
  const hold = useQuery({
    queryKey,
    queryFn: async ({ signal }) => {
      try {
        return (
          await api.request({
            path,
            schema: AlertHoldResponse,
            action: 'read whether its alerts are held',
            signal,
          })
        ).data;
      } catch (error: unknown) {
        // No hold is a 404: the alerts are sent as they come.
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      }
    },
    enabled: can.readAlertHolds,
  });
  const change = useMutation({
    mutationFn: (body: { kind: 'acknowledged' } | { kind: 'snoozed'; until: string }) =>
      api.request({
        method: 'PUT',
        path,
        body,
        schema: AlertHoldResponse,
        action: body.kind === 'acknowledged' ? 'acknowledge its alerts' : 'snooze its alerts',
      }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey }),
  });
  const lift = useMutation({
    mutationFn: () => api.request({ method: 'DELETE', path, schema: null, action: 'send its alerts again' }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey }),
  });
  if (!can.readAlertHolds) return null;
  const current = hold.data;
  const busy = change.isPending || lift.isPending;
  return (
    <section aria-labelledby="alerts" className="panel mt-4">
      <h2 id="alerts">Alerts</h2>
      {hold.isPending ? (
        <Loading what="whether its alerts are held" />
      ) : current === undefined ? null : current === null ? (
        <p className="text-sm">Alerts about this credential are sent as they come.</p>
      ) : current.kind === 'acknowledged' ? (
        <p className="text-sm">
          Acknowledged by {current.by} on <Time value={current.at} />: its alerts are held until its condition
          changes.
          {current.note !== undefined && <> Note: {current.note}</>}
        </p>
      ) : (
        <p className="text-sm">
          Snoozed by {current.by} until <Time value={current.until} />.
          {current.note !== undefined && <> Note: {current.note}</>}
        </p>
      )}
      <ErrorAlert error={hold.error ?? change.error ?? lift.error} />
      {can.holdAlerts && hold.isSuccess && (
        <div className="mt-2 flex flex-wrap gap-2">
          <button
            type="button"
            className="btn"
            disabled={busy}
            onClick={() => change.mutate({ kind: 'acknowledged' })}
          >
            Acknowledge
          </button>
          <button
            type="button"
            className="btn"
            disabled={busy}
            onClick={() =>
              change.mutate({
                kind: 'snoozed',
                until: new Date(Date.now() + SNOOZE_DAYS * DAY_MS).toISOString(),
              })
            }
          >
            Snooze {SNOOZE_DAYS} days
          </button>
          {current !== null && (
            <button type="button" className="btn" disabled={busy} onClick={() => lift.mutate()}>
              Send alerts again
            </button>
          )}
        </div>
      )}
    </section>
  );
}
