/** Discovery settings: accounts (roles to assume), regions, finding thresholds, switched-off rules. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import type { z } from 'zod';

import {
  DiscoverySettingsResponse,
  FindingRulesResponse,
  PutDiscoverySettingsRequest,
} from '../../../../lambdas/shared/contracts/discovery.js';
import { useApi, useIdentity } from '../../app/context.js';
import { ErrorAlert, Loading, PageHeader, TextField } from '../../components/ui.js';

type Settings = z.infer<typeof DiscoverySettingsResponse>['data'];
type Rule = z.infer<typeof FindingRulesResponse>['data']['rules'][number];

export function DiscoverySettingsPage() {
  const api = useApi();
  const { can } = useIdentity();
  const settings = useQuery({
    queryKey: ['discovery', 'settings'],
    queryFn: ({ signal }) =>
      api.request({
        path: '/discovery/settings',
        schema: DiscoverySettingsResponse,
        action: 'read the discovery settings',
        signal,
      }),
    enabled: can.readConfiguration,
  });
  const rules = useQuery({
    queryKey: ['discovery-rules'],
    queryFn: ({ signal }) =>
      api.request({
        path: '/discovery/rules',
        schema: FindingRulesResponse,
        action: 'read the finding rules',
        signal,
      }),
  });
  return (
    <>
      <PageHeader title="Discovery settings" />
      {!can.readConfiguration ? (
        <p className="text-sm">Discovery settings are shown to operators, auditors and admins.</p>
      ) : settings.isPending || rules.isPending ? (
        <Loading what="discovery settings" />
      ) : settings.isError || rules.isError ? (
        <ErrorAlert error={settings.error ?? rules.error} />
      ) : (
        // Not keyed by revision: after a save the drafts stay (they are what was saved) and the
        // next save sends the new revision from the refetched settings.
        <SettingsForm settings={settings.data.data} rules={rules.data.data.rules} editable={can.configure} />
      )}
    </>
  );
}

interface AccountDraft {
  readonly key: number;
  readonly roleArn: string;
  readonly externalId: string;
  readonly name: string;
  readonly regions: string;
}

const list = (text: string) =>
  text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');

function SettingsForm({
  settings,
  rules,
  editable,
}: {
  settings: Settings;
  rules: Rule[];
  editable: boolean;
}) {
  const api = useApi();
  const queryClient = useQueryClient();
  const [accounts, setAccounts] = useState<AccountDraft[]>(
    settings.accounts.map((account, index) => ({
      key: index + 1,
      roleArn: account.roleArn,
      externalId: account.externalId ?? '',
      name: account.name ?? '',
      regions: (account.regions ?? []).join(', '),
    })),
  );
  const [regions, setRegions] = useState((settings.regions ?? []).join(', '));
  const thresholdRules = rules.filter((rule) => rule.threshold !== undefined);
  const [thresholds, setThresholds] = useState<Record<string, string>>(() =>
    Object.fromEntries(
      thresholdRules.map((rule) => [rule.threshold ?? '', String(rule.thresholdDays ?? '')]),
    ),
  );
  const [disabled, setDisabled] = useState<string[]>(settings.disabledRules);
  const [problems, setProblems] = useState<string[]>([]);
  const save = useMutation({
    mutationFn: (body: z.infer<typeof PutDiscoverySettingsRequest>) =>
      api.request({
        method: 'PUT',
        path: '/discovery/settings',
        body,
        schema: DiscoverySettingsResponse,
        action: 'change the discovery settings',
      }),
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: ['discovery'] });
      await queryClient.invalidateQueries({ queryKey: ['discovery-rules'] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const found: string[] = [];
    accounts.forEach((account, index) => {
      if (!/^arn:aws[a-z-]*:iam::\d{12}:role\/.+/.test(account.roleArn.trim())) {
        found.push(`Account ${index + 1}: the role ARN must look like arn:aws:iam::123456789012:role/Name.`);
      }
    });
    const days: Record<string, number> = {};
    for (const [name, value] of Object.entries(thresholds)) {
      const number = Number(value);
      if (value.trim() === '' || !Number.isInteger(number) || number < 0) {
        found.push(`Threshold ${name}: a whole number of days.`);
      } else days[name] = number;
    }
    const body = PutDiscoverySettingsRequest.safeParse({
      accounts: accounts.map((account) => ({
        roleArn: account.roleArn.trim(),
        ...(account.externalId.trim() !== '' && { externalId: account.externalId.trim() }),
        ...(account.name.trim() !== '' && { name: account.name.trim() }),
        ...(list(account.regions).length > 0 && { regions: list(account.regions) }),
      })),
      // The API takes no empty list: no regions means "keep the default regions".
      ...(list(regions).length > 0 && { regions: list(regions) }),
      thresholds: days,
      disabledRules: disabled,
      revision: settings.revision,
    });
    if (!body.success)
      found.push(...body.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
    setProblems(found);
    if (found.length === 0 && body.success) save.mutate(body.data);
  };
  const updateAccount = (key: number, change: Partial<AccountDraft>) =>
    setAccounts((current) =>
      current.map((account) => (account.key === key ? { ...account, ...change } : account)),
    );

  return (
    <form onSubmit={submit} noValidate className="space-y-4">
      <fieldset className="panel space-y-2" disabled={!editable}>
        <legend className="px-1 font-semibold">Accounts</legend>
        <p className="muted text-xs">
          Roles discovery assumes in member accounts (deploy docs/discovery-member-role.yaml there).
        </p>
        {accounts.length === 0 && (
          <p className="muted text-sm">No member account; only the deployment’s own.</p>
        )}
        {accounts.map((account, index) => (
          <fieldset
            key={account.key}
            className="grid gap-2 border-t border-slate-200 pt-2 sm:grid-cols-5 dark:border-slate-800"
          >
            <legend className="sr-only">Account {index + 1}</legend>
            <TextField
              label="Role ARN"
              value={account.roleArn}
              onChange={(roleArn) => updateAccount(account.key, { roleArn })}
              className="sm:col-span-2"
            />
            <TextField
              label="External id"
              value={account.externalId}
              onChange={(externalId) => updateAccount(account.key, { externalId })}
            />
            <TextField
              label="Name"
              value={account.name}
              onChange={(name) => updateAccount(account.key, { name })}
            />
            <TextField
              label="Regions"
              value={account.regions}
              onChange={(value) => updateAccount(account.key, { regions: value })}
              hint="comma-separated"
            />
            {editable && (
              <button
                type="button"
                className="btn justify-self-start"
                onClick={() =>
                  setAccounts((current) => current.filter((candidate) => candidate.key !== account.key))
                }
              >
                Remove account {index + 1}
              </button>
            )}
          </fieldset>
        ))}
        {editable && (
          <button
            type="button"
            className="btn"
            onClick={() =>
              setAccounts((current) => [
                ...current,
                {
                  key: Math.max(0, ...current.map((account) => account.key)) + 1,
                  roleArn: '',
                  externalId: '',
                  name: '',
                  regions: '',
                },
              ])
            }
          >
            Add account
          </button>
        )}
        <TextField
          label="Default regions"
          value={regions}
          onChange={setRegions}
          hint="comma-separated, e.g. eu-west-1, us-east-1"
        />
      </fieldset>

      <fieldset className="panel" disabled={!editable}>
        <legend className="px-1 font-semibold">Finding rules and thresholds</legend>
        <table className="table">
          <caption className="sr-only">Finding rules</caption>
          <thead>
            <tr>
              <th scope="col">Enabled</th>
              <th scope="col">Rule</th>
              <th scope="col">Severity</th>
              <th scope="col">Threshold (days)</th>
            </tr>
          </thead>
          <tbody>
            {rules.map((rule) => {
              const checkboxId = `rule-enabled-${rule.id}`;
              return (
                <tr key={rule.id}>
                  <td>
                    <input
                      id={checkboxId}
                      type="checkbox"
                      checked={!disabled.includes(rule.id)}
                      onChange={(event) =>
                        setDisabled((current) =>
                          event.target.checked
                            ? current.filter((id) => id !== rule.id)
                            : [...current, rule.id],
                        )
                      }
                    />
                  </td>
                  <td>
                    <label htmlFor={checkboxId}>{rule.title}</label>
                    <span className="muted block text-xs">
                      <code>{rule.id}</code>
                    </span>
                  </td>
                  <td>{rule.severity}</td>
                  <td>
                    {rule.threshold === undefined ? (
                      <span className="muted">—</span>
                    ) : (
                      <TextField
                        label={`${rule.threshold} (default ${rule.defaultThresholdDays ?? '—'})`}
                        type="number"
                        value={thresholds[rule.threshold] ?? ''}
                        onChange={(value) =>
                          setThresholds((current) => ({ ...current, [rule.threshold ?? '']: value }))
                        }
                        className="w-40"
                      />
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </fieldset>
      {problems.length > 0 && (
        <div role="alert" className="text-sm text-red-800 dark:text-red-200">
          <ul className="ml-4 list-disc">
            {problems.map((problem) => (
              <li key={problem}>{problem}</li>
            ))}
          </ul>
        </div>
      )}
      <ErrorAlert error={save.error} />
      {save.isSuccess && (
        <p role="status" className="text-sm">
          Saved.
        </p>
      )}
      {editable ? (
        <button type="submit" className="btn btn-primary" disabled={save.isPending}>
          Save discovery settings
        </button>
      ) : (
        <p className="muted text-sm">Admins change these settings.</p>
      )}
    </form>
  );
}
