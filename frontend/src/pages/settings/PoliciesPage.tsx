/**
 * Access policies for the secret store: a rule editor (path glob + capabilities) that checks
 * what it can before saving; the API's domain rules check everything again and name problems.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useId, useState } from 'react';

import {
  AttachmentsResponse,
  PolicyListResponse,
  PolicyResponse,
  PutPolicyRequest,
} from '../../../../lambdas/shared/contracts/policies.js';
import { useApi, useIdentity } from '../../app/context.js';
import { NamedPolicyList } from '../../components/NamedPolicyList.js';
import { ErrorAlert, FormButtons, PageHeader, TextField } from '../../components/ui.js';

export const CAPABILITIES = ['read', 'list', 'create', 'update', 'delete', 'destroy', 'deny'] as const;
const POLICY_NAME = /^[A-Za-z0-9._-]{1,128}$/;

export interface RuleDraft {
  readonly key: number;
  readonly path: string;
  readonly capabilities: readonly string[];
}

/** The problems a rule has that can be seen without the server (globs, capabilities). */
export function ruleProblems(rule: Pick<RuleDraft, 'path' | 'capabilities'>): string[] {
  const problems: string[] = [];
  const path = rule.path.trim();
  if (path === '') problems.push('The path is empty.');
  if (path.startsWith('/')) problems.push('The path must not start with “/”.');
  if (path.includes('*') && path.indexOf('*') !== path.length - 1)
    problems.push('“*” may appear only at the end.');
  const segments = path.replace(/\*$/, '').split('/');
  segments.forEach((segment, index) => {
    if (segment.includes('+') && segment !== '+')
      problems.push(`Segment ${index + 1}: “+” must be a whole segment.`);
    if (segment === '' && index < segments.length - 1) problems.push(`Segment ${index + 1} is empty.`);
  });
  if (rule.capabilities.length === 0) problems.push('Choose at least one capability.');
  if (rule.capabilities.includes('deny') && rule.capabilities.length > 1) {
    problems.push('“deny” denies everything on the path; combine it with no other capability.');
  }
  return problems;
}

export function PoliciesPage() {
  const api = useApi();
  const { can } = useIdentity();
  const [editing, setEditing] = useState<{ name: string; rules: RuleDraft[]; revision: number } | null>(null);
  const policies = useQuery({
    queryKey: ['policies'],
    queryFn: ({ signal }) =>
      api.request({ path: '/policies', schema: PolicyListResponse, action: 'list access policies', signal }),
    enabled: can.readPolicies,
  });
  const attachments = useQuery({
    queryKey: ['policies', 'attachments'],
    queryFn: ({ signal }) =>
      api.request({
        path: '/policies/attachments',
        schema: AttachmentsResponse,
        action: 'list policy attachments',
        signal,
      }),
    enabled: can.readPolicies,
  });
  return (
    <>
      <PageHeader title="Access policies">
        {can.managePolicies && editing === null && (
          <button
            type="button"
            className="btn btn-primary"
            onClick={() =>
              setEditing({
                name: '',
                rules: [{ key: 1, path: '', capabilities: ['read', 'list'] }],
                revision: 0,
              })
            }
          >
            New policy
          </button>
        )}
      </PageHeader>
      <p className="muted -mt-2 mb-3 text-sm">
        Path globs: <code>prod/*</code> (prefix), <code>+</code> (one segment). An explicit deny anywhere
        wins; a group policy narrows its role, never widens it.
      </p>
      {!can.readPolicies && <p className="text-sm">Access policies are shown to auditors and admins.</p>}
      {editing !== null && (
        <PolicyEditor key={editing.name} initial={editing} onDone={() => setEditing(null)} />
      )}
      <NamedPolicyList
        noun="access policy"
        path="/policies"
        queryKey={['policies']}
        query={{
          data: policies.data?.data.policies,
          isPending: policies.isPending && can.readPolicies,
          error: policies.error,
        }}
        columns={[
          {
            header: 'Rules',
            cell: (policy) => (
              <ul>
                {policy.rules.map((rule, index) => (
                  <li key={index}>
                    <code>{rule.path}</code>: {rule.capabilities.join(', ')}
                  </li>
                ))}
              </ul>
            ),
          },
          {
            header: 'Attached to',
            className: 'text-xs',
            cell: (policy) => attachedTo(policy.name, attachments.data?.data),
          },
        ]}
        updatedAt={(policy) => policy.updated_at}
        emptyText="No policy yet: the roles’ defaults apply."
        canManage={can.managePolicies}
        onEdit={(policy) =>
          setEditing({
            name: policy.name,
            revision: policy.revision,
            rules: policy.rules.map((rule, index) => ({ key: index + 1, ...rule })),
          })
        }
      />
    </>
  );
}

function attachedTo(
  name: string,
  attachments: { groups: Record<string, string[]>; clients: Record<string, string[]> } | undefined,
): string {
  if (attachments === undefined) return '…';
  const holders = [
    ...Object.entries(attachments.groups)
      .filter(([, names]) => names.includes(name))
      .map(([group]) => `group ${group}`),
    ...Object.entries(attachments.clients)
      .filter(([, names]) => names.includes(name))
      .map(([client]) => `client ${client}`),
  ];
  return holders.join(', ') || 'nobody';
}

export function PolicyEditor({
  initial,
  onDone,
}: {
  initial: { name: string; rules: RuleDraft[]; revision: number };
  onDone: () => void;
}) {
  const api = useApi();
  const queryClient = useQueryClient();
  const formId = useId();
  const [name, setName] = useState(initial.name);
  const [rules, setRules] = useState<RuleDraft[]>(initial.rules);
  const [submitted, setSubmitted] = useState(false);
  const save = useMutation({
    mutationFn: (body: unknown) =>
      api.request({
        method: 'PUT',
        path: `/policies/${encodeURIComponent(name)}`,
        body,
        schema: PolicyResponse,
        action: `save the policy ${name}`,
      }),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ['policies'] });
      onDone();
    },
  });
  const nameProblem = POLICY_NAME.test(name) ? undefined : "1 to 128 letters, digits, '.', '_' or '-'.";
  const problems = rules.map(ruleProblems);
  const valid = nameProblem === undefined && problems.every((list) => list.length === 0) && rules.length > 0;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setSubmitted(true);
    if (!valid) return;
    const body = PutPolicyRequest.safeParse({
      rules: rules.map((rule) => ({ path: rule.path.trim(), capabilities: [...rule.capabilities] })),
      revision: initial.revision,
    });
    if (body.success) save.mutate(body.data);
  };
  const update = (key: number, change: Partial<RuleDraft>) =>
    setRules((current) => current.map((rule) => (rule.key === key ? { ...rule, ...change } : rule)));

  return (
    <form onSubmit={submit} noValidate className="panel mb-4 space-y-3" aria-labelledby={`${formId}-title`}>
      <h2 id={`${formId}-title`}>{initial.name === '' ? 'New policy' : `Edit policy ${initial.name}`}</h2>
      {initial.name === '' && (
        <TextField
          label="Policy name"
          value={name}
          onChange={setName}
          error={submitted ? nameProblem : undefined}
          required
          className="max-w-sm"
        />
      )}
      {rules.map((rule, index) => {
        const ruleErrors = submitted ? (problems[index] ?? []) : [];
        const errorId = `${formId}-rule-${rule.key}-errors`;
        return (
          <fieldset
            key={rule.key}
            className="rounded border border-slate-200 p-2 dark:border-slate-700"
            aria-describedby={ruleErrors.length > 0 ? errorId : undefined}
          >
            <legend className="px-1 text-xs font-semibold">Rule {index + 1}</legend>
            <div className="flex flex-wrap items-end gap-3">
              <TextField
                label="Path glob"
                value={rule.path}
                onChange={(path) => update(rule.key, { path })}
                className="min-w-64 flex-1"
              />
              <fieldset className="flex flex-wrap gap-2 text-sm">
                <legend className="label">Capabilities</legend>
                {CAPABILITIES.map((capability) => {
                  const id = `${formId}-${rule.key}-${capability}`;
                  return (
                    <span key={capability} className="inline-flex items-center gap-1">
                      <input
                        id={id}
                        type="checkbox"
                        checked={rule.capabilities.includes(capability)}
                        onChange={(event) =>
                          update(rule.key, {
                            capabilities: event.target.checked
                              ? [...rule.capabilities, capability]
                              : rule.capabilities.filter((candidate) => candidate !== capability),
                          })
                        }
                      />
                      <label htmlFor={id}>{capability}</label>
                    </span>
                  );
                })}
              </fieldset>
              {rules.length > 1 && (
                <button
                  type="button"
                  className="btn"
                  onClick={() =>
                    setRules((current) => current.filter((candidate) => candidate.key !== rule.key))
                  }
                >
                  Remove rule {index + 1}
                </button>
              )}
            </div>
            {ruleErrors.length > 0 && (
              <ul id={errorId} className="mt-1 ml-4 list-disc text-xs text-red-700 dark:text-red-300">
                {ruleErrors.map((problem) => (
                  <li key={problem}>{problem}</li>
                ))}
              </ul>
            )}
          </fieldset>
        );
      })}
      <button
        type="button"
        className="btn"
        onClick={() =>
          setRules((current) => [
            ...current,
            {
              key: Math.max(0, ...current.map((rule) => rule.key)) + 1,
              path: '',
              capabilities: ['read', 'list'],
            },
          ])
        }
      >
        Add rule
      </button>
      {submitted && !valid && (
        <p role="alert" className="text-sm text-red-800 dark:text-red-200">
          The policy has problems; they are listed next to each rule.
        </p>
      )}
      <ErrorAlert error={save.error} />
      <FormButtons submitLabel="Save policy" pending={save.isPending} onCancel={onDone} />
    </form>
  );
}
