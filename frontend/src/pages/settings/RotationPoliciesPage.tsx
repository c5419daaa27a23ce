/** Named rotation policies: list, edit as JSON (checked by the API's domain rules), delete. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';

import {
  PutRotationPolicyRequest,
  RotationPolicyListResponse,
  RotationPolicyResponse,
} from '../../../../lambdas/shared/contracts/rotations.js';
import { useApi, useIdentity } from '../../app/context.js';
import { NamedPolicyList } from '../../components/NamedPolicyList.js';
import { ErrorAlert, FormButtons, PageHeader, TextField } from '../../components/ui.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const EXAMPLE = '{\n  "intervalDays": 90,\n  "deactivateAfterDays": 10,\n  "deleteAfterDays": 10\n}';

interface Editing {
  readonly name: string;
  readonly text: string;
  readonly revision: number;
}

export function RotationPoliciesPage() {
  const api = useApi();
  const { can } = useIdentity();
  const [editing, setEditing] = useState<Editing | null>(null);
  const policies = useQuery({
    queryKey: ['rotation-policies'],
    queryFn: ({ signal }) =>
      api.request({
        path: '/rotation-policies',
        schema: RotationPolicyListResponse,
        action: 'list rotation policies',
        signal,
      }),
    enabled: can.readConfiguration,
  });
  return (
    <>
      <PageHeader title="Rotation policies">
        {can.configure && editing === null && (
          <button
            type="button"
            className="btn btn-primary"
            onClick={() => setEditing({ name: '', text: EXAMPLE, revision: 0 })}
          >
            New rotation policy
          </button>
        )}
      </PageHeader>
      <p className="muted -mt-2 mb-3 text-sm">
        Fields: intervalDays, window {'{schedule, duration}'}, deactivateAfterDays, deleteAfterDays,
        nonUseGateHours, dryRun, exemptionTag, pairTag, pairSpacingMinutes, rotator, appliesTo{' '}
        {'{types, tags}'}.
      </p>
      {!can.readConfiguration && (
        <p className="text-sm">Rotation policies are shown to operators, auditors and admins.</p>
      )}
      {editing !== null && <PolicyEditor editing={editing} onDone={() => setEditing(null)} />}
      <NamedPolicyList
        noun="rotation policy"
        path="/rotation-policies"
        queryKey={['rotation-policies']}
        query={{
          data: policies.data?.data.policies,
          isPending: policies.isPending && can.readConfiguration,
          error: policies.error,
        }}
        columns={[
          {
            header: 'Settings',
            cell: (policy) => <code className="break-all">{JSON.stringify(policy.policy)}</code>,
          },
        ]}
        updatedAt={(policy) => policy.updatedAt}
        emptyText="No named policy; credentials use the tenant defaults."
        canManage={can.configure}
        onEdit={(policy) =>
          setEditing({
            name: policy.name,
            text: JSON.stringify(policy.policy, null, 2),
            revision: policy.revision,
          })
        }
      />
    </>
  );
}

function PolicyEditor({ editing, onDone }: { editing: Editing; onDone: () => void }) {
  const api = useApi();
  const queryClient = useQueryClient();
  const [name, setName] = useState(editing.name);
  const [text, setText] = useState(editing.text);
  const [problem, setProblem] = useState<{ name?: string; text?: string }>({});
  const save = useMutation({
    mutationFn: (body: unknown) =>
      api.request({
        method: 'PUT',
        path: `/rotation-policies/${encodeURIComponent(name)}`,
        body,
        schema: RotationPolicyResponse,
        action: `save the rotation policy ${name}`,
      }),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ['rotation-policies'] });
      onDone();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const problems: { name?: string; text?: string } = {};
    if (!NAME.test(name)) problems.name = 'Letters, digits, dot, dash or underscore; up to 128 characters.';
    let policy: unknown;
    try {
      policy = JSON.parse(text);
    } catch (_error: unknown) {
      problems.text = 'The settings must be valid JSON.';
    }
    const checked = PutRotationPolicyRequest.safeParse({ policy, revision: editing.revision });
    if (problems.text === undefined && !checked.success)
      problems.text = 'The settings must be a JSON object.';
    setProblem(problems);
    if (Object.keys(problems).length > 0 || !checked.success) return;
    save.mutate(checked.data);
  };
  const textId = 'rotation-policy-settings';
  return (
    <form onSubmit={submit} className="panel mb-4 space-y-2" aria-label="Rotation policy editor">
      {editing.name === '' ? (
        <TextField label="Name" value={name} onChange={setName} error={problem.name} required />
      ) : (
        <p className="text-sm">
          Editing <strong>{editing.name}</strong> (revision {editing.revision})
        </p>
      )}
      <div>
        <label htmlFor={textId} className="label">
          Settings (JSON)
        </label>
        <textarea
          id={textId}
          className="input font-mono"
          rows={8}
          spellCheck={false}
          value={text}
          aria-invalid={problem.text !== undefined ? true : undefined}
          aria-describedby={problem.text !== undefined ? `${textId}-error` : undefined}
          onChange={(event) => setText(event.target.value)}
        />
        {problem.text !== undefined && (
          <p id={`${textId}-error`} className="text-xs text-red-700 dark:text-red-300">
            {problem.text}
          </p>
        )}
      </div>
      <ErrorAlert error={save.error} />
      <FormButtons submitLabel="Save rotation policy" pending={save.isPending} onCancel={onDone} />
    </form>
  );
}
