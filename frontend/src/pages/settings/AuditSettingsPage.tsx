import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { z } from 'zod';

import { AuditSettingsBody } from '../../../../lambdas/shared/contracts/audit.js';
import { useApi, useIdentity } from '../../app/context.js';
import { ErrorAlert, Loading, PageHeader, TextField } from '../../components/ui.js';

const AuditSettingsAnswer = z.object({ retentionDays: z.number().int() }).loose();

export function AuditSettingsPage() {
  const api = useApi();
  const { can } = useIdentity();
  const settings = useQuery({
    queryKey: ['audit', 'settings'],
    queryFn: ({ signal }) =>
      api.request({
        path: '/audit/settings',
        schema: AuditSettingsAnswer,
        action: 'read the audit settings',
        signal,
      }),
    enabled: can.readAudit,
  });
  return (
    <>
      <PageHeader title="Audit retention" />
      {!can.readAudit ? (
        <p className="text-sm">Audit settings are shown to auditors and admins.</p>
      ) : settings.isPending ? (
        <Loading what="audit settings" />
      ) : settings.isError ? (
        <ErrorAlert error={settings.error} />
      ) : (
        <RetentionForm retentionDays={settings.data.retentionDays} editable={can.manageAudit} />
      )}
    </>
  );
}

function RetentionForm({ retentionDays, editable }: { retentionDays: number; editable: boolean }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const [days, setDays] = useState(String(retentionDays));
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const save = useMutation({
    mutationFn: (body: { retentionDays: number }) =>
      api.request({
        method: 'PUT',
        path: '/audit/settings',
        body,
        schema: AuditSettingsAnswer,
        action: 'change the audit retention',
      }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['audit', 'settings'] }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const checked = AuditSettingsBody.safeParse({ retentionDays: Number(days) });
    if (!checked.success) {
      setProblem('Enter a whole number of days from 1 to 3650.');
      return;
    }
    setProblem(undefined);
    save.mutate(checked.data);
  };
  return (
    <form onSubmit={submit} className="panel max-w-md space-y-3">
      <p className="text-sm">
        Audit events, chain entries and digests expire after this many days, oldest first; the verifier tells
        expiry from deletion.
      </p>
      {editable ? (
        <>
          <TextField
            label="Retention (days)"
            type="number"
            value={days}
            onChange={setDays}
            error={problem}
            required
          />
          <ErrorAlert error={save.error} />
          {save.isSuccess && (
            <p role="status" className="text-sm">
              Saved.
            </p>
          )}
          <button type="submit" className="btn btn-primary" disabled={save.isPending}>
            Save retention
          </button>
        </>
      ) : (
        <p className="text-sm">
          Retention: <strong>{retentionDays} days</strong> (admins change it).
        </p>
      )}
    </form>
  );
}
