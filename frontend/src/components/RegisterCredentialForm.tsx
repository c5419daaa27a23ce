/**
 * Registers a managed credential: its facts, never its value. The body is checked with the API's
 * own contract before it is sent, so most mistakes are named next to the form at once.
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from '@tanstack/react-router';
import { type FormEvent, useId, useState } from 'react';

import {
  CREDENTIAL_TYPE_VALUES,
  CredentialResponse,
  RegisterCredentialRequest,
} from '../../../lambdas/shared/contracts/credentials.js';
import { TYPE_LABELS } from '../api/resources.js';
import { useApi } from '../app/context.js';
import { ErrorAlert, SelectField, TextField } from './ui.js';

export interface RegisterDefaults {
  readonly type?: string;
  readonly name?: string;
}

/** `a=b, c` → `{ a: 'b', c: '' }`. */
export function parseTags(text: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const part of text.split(',')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const [key = '', ...rest] = trimmed.split('=');
    tags[key.trim()] = rest.join('=').trim();
  }
  return tags;
}

export function RegisterCredentialForm({
  defaults,
  onCancel,
}: {
  defaults?: RegisterDefaults;
  onCancel: () => void;
}) {
  const api = useApi();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const headingId = useId();
  const settingsId = useId();
  const initialType = CREDENTIAL_TYPE_VALUES.find((type) => type === defaults?.type) ?? 'api-token';
  const [type, setType] = useState<string>(initialType);
  const [name, setName] = useState(defaults?.name ?? '');
  const [description, setDescription] = useState('');
  const [owner, setOwner] = useState('');
  const [expiresAt, setExpiresAt] = useState('');
  const [tags, setTags] = useState('');
  const [secretPath, setSecretPath] = useState('');
  const [rotationPolicy, setRotationPolicy] = useState('');
  const [userName, setUserName] = useState('');
  const [settings, setSettings] = useState('');
  const [problems, setProblems] = useState<string[]>([]);

  const register = useMutation({
    mutationFn: (body: unknown) =>
      api.request({
        method: 'POST',
        path: '/credentials',
        body,
        schema: CredentialResponse,
        action: 'register this credential',
      }),
    onSuccess: async (response) => {
      await queryClient.invalidateQueries({ queryKey: ['credentials'] });
      await navigate({ to: '/credentials/$id', params: { id: response.data.id } });
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    let extra: Record<string, unknown> = {};
    if (settings.trim() !== '') {
      try {
        const parsed: unknown = JSON.parse(settings);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
          throw new TypeError('not an object');
        extra = parsed as Record<string, unknown>;
      } catch (_error: unknown) {
        setProblems(['Type settings must be a JSON object, e.g. {"generator":{"length":32}}.']);
        return;
      }
    }
    const body = {
      type,
      name: name.trim(),
      ...(description.trim() !== '' && { description: description.trim() }),
      ...(owner.trim() !== '' && { owner: owner.trim() }),
      ...(expiresAt !== '' && { expiresAt }),
      ...(tags.trim() !== '' && { tags: parseTags(tags) }),
      ...(secretPath.trim() !== '' && { secretPath: secretPath.trim() }),
      ...(rotationPolicy.trim() !== '' && { rotationPolicy: rotationPolicy.trim() }),
      ...(userName.trim() !== '' && { userName: userName.trim() }),
      ...extra,
    };
    const checked = RegisterCredentialRequest.safeParse(body);
    if (!checked.success) {
      setProblems(checked.error.issues.map((issue) => `${issue.path.join('.') || 'form'}: ${issue.message}`));
      return;
    }
    setProblems([]);
    register.mutate(checked.data);
  };

  return (
    <section aria-labelledby={headingId} className="panel my-4">
      <h2 id={headingId} className="mb-1">
        Register a managed credential
      </h2>
      <p className="muted mb-3 text-xs">
        Facts only: VaultPilot never asks for the value here. To rotate it, give the secret-store path of its
        current value and a rotation policy.
      </p>
      <form onSubmit={submit} noValidate className="grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
        <SelectField
          label="Type"
          value={type}
          onChange={setType}
          options={CREDENTIAL_TYPE_VALUES.map((value) => ({ value, label: TYPE_LABELS[value] }))}
        />
        <TextField label="Name" value={name} onChange={setName} required />
        <TextField label="Owner" value={owner} onChange={setOwner} hint="A team or person" />
        <TextField label="Description" value={description} onChange={setDescription} />
        <TextField label="Expires on" type="date" value={expiresAt} onChange={setExpiresAt} />
        <TextField label="Tags" value={tags} onChange={setTags} hint="key=value, comma-separated" />
        <TextField
          label="Secret path"
          value={secretPath}
          onChange={setSecretPath}
          hint="Where its current value is stored, for rotation"
        />
        <TextField
          label="Rotation policy"
          value={rotationPolicy}
          onChange={setRotationPolicy}
          hint="A policy name"
        />
        {type === 'aws-iam-access-key' && (
          <TextField label="IAM user name" value={userName} onChange={setUserName} />
        )}
        <div className="sm:col-span-2 lg:col-span-3">
          <label htmlFor={settingsId} className="label">
            Type settings (JSON, optional)
          </label>
          <textarea
            id={settingsId}
            className="input font-mono"
            rows={3}
            spellCheck={false}
            value={settings}
            onChange={(event) => setSettings(event.target.value)}
            placeholder='{"connection":{"host":"db.internal","port":5432,"database":"orders","username":"app"}}'
          />
        </div>
        {problems.length > 0 && (
          <div role="alert" className="text-sm text-red-800 sm:col-span-2 lg:col-span-3 dark:text-red-200">
            <p className="font-semibold">Please correct:</p>
            <ul className="ml-4 list-disc">
              {problems.map((problem) => (
                <li key={problem}>{problem}</li>
              ))}
            </ul>
          </div>
        )}
        <div className="sm:col-span-2 lg:col-span-3">
          <ErrorAlert error={register.error} />
          <div className="flex gap-2">
            <button type="submit" className="btn btn-primary" disabled={register.isPending}>
              {register.isPending ? 'Registering…' : 'Register'}
            </button>
            <button type="button" className="btn" onClick={onCancel}>
              Cancel
            </button>
          </div>
        </div>
      </form>
    </section>
  );
}
