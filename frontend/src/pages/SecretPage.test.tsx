import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { FakeApi } from '../test/fake-api.js';
import { renderApp } from '../test/render-app.js';

const SECRET_VALUE = 'pa55-VERY-secret-Value-9f3c';

function version(overrides: Record<string, unknown> = {}) {
  return {
    created_time: '2026-11-20T10:00:00.000Z',
    created_by: 'alice',
    deletion_time: '',
    destroyed: false,
    ...overrides,
  };
}

function secretApi() {
  return new FakeApi()
    .on('GET', '/secrets/metadata/prod/db/password', {
      body: {
        data: {
          cas_required: false,
          created_time: '2026-11-01T10:00:00.000Z',
          updated_time: '2026-11-20T10:00:00.000Z',
          current_version: 2,
          oldest_version: 1,
          max_versions: 10,
          custom_metadata: null,
          versions: { '1': version({ deletion_time: '2026-11-21T10:00:00.000Z' }), '2': version() },
        },
      },
    })
    .on('GET', '/secrets/data/prod/db/password', {
      body: {
        data: {
          data: { password: SECRET_VALUE },
          metadata: { version: 2, ...version(), custom_metadata: null },
        },
      },
    })
    .on('GET', '/audit', {
      body: {
        events: [
          {
            eventId: 'e-1',
            tenant: 'default',
            time: '2026-11-30T09:00:00.000Z',
            actor: { kind: 'user', id: 'bob', sourceIp: '10.0.0.7' },
            action: 'secret.read',
            target: { path: 'prod/db/password', version: 2 },
            outcome: 'allowed',
          },
        ],
        nextCursor: null,
      },
    });
}

const CONSOLE_METHODS = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;

describe('Secret page', () => {
  let consoleSpies: ReturnType<typeof vi.spyOn>[] = [];

  beforeEach(() => {
    window.localStorage.clear();
    window.sessionStorage.clear();
    consoleSpies = CONSOLE_METHODS.map((method) => vi.spyOn(console, method));
  });

  afterEach(() => {
    window.localStorage.clear();
    window.sessionStorage.clear();
  });

  it('masks values until "Reveal", shows and copies it, and "Hide" removes it again', async () => {
    const user = userEvent.setup();
    const api = secretApi();
    await renderApp('/secrets/view?path=prod/db/password', api, ['operator']);
    const versions = await screen.findByRole('table', { name: /Versions of prod\/db\/password/ });
    expect(screen.queryByText(SECRET_VALUE)).toBeNull();
    // Only the readable version (2) offers Reveal; the deleted one (1) does not.
    expect(within(versions).getAllByRole('button', { name: 'Reveal' })).toHaveLength(1);
    expect(api.requestsTo('/secrets/data/prod/db/password')).toHaveLength(0);

    await user.click(screen.getByRole('button', { name: 'Reveal' }));
    expect(await screen.findByText(SECRET_VALUE)).toBeTruthy();
    await waitFor(() => expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Hide' })));
    expect(api.requestsTo('/secrets/data/prod/db/password')[0]?.url.searchParams.get('version')).toBe('2');
    await user.click(screen.getByRole('button', { name: 'Copy' }));
    expect(await navigator.clipboard.readText()).toBe(SECRET_VALUE);
    await user.click(screen.getByRole('button', { name: 'Hide' }));

    expect(screen.queryByText(SECRET_VALUE)).toBeNull();
    // The keyboard focus follows the toggle instead of falling back to the page.
    await waitFor(() => expect(document.activeElement).toBe(screen.getByRole('button', { name: 'Reveal' })));
  });

  it('never writes a revealed value to localStorage, sessionStorage, the URL or the console', async () => {
    const user = userEvent.setup();
    const setItem = vi.spyOn(Storage.prototype, 'setItem');
    const { router } = await renderApp('/secrets/view?path=prod/db/password', secretApi(), ['admin']);
    await screen.findByRole('table', { name: /Versions of/ });

    await user.click(screen.getByRole('button', { name: 'Reveal' }));
    await screen.findByText(SECRET_VALUE);
    await user.click(screen.getByRole('button', { name: 'Copy' }));

    const stored = [window.localStorage, window.sessionStorage].flatMap((storage) =>
      Array.from({ length: storage.length }, (_, index) => {
        const key = storage.key(index) ?? '';
        return `${key}=${storage.getItem(key) ?? ''}`;
      }),
    );
    expect(stored.join('\n')).not.toContain(SECRET_VALUE);
    expect(setItem.mock.calls.flat().join('\n')).not.toContain(SECRET_VALUE);
    expect(window.location.href).not.toContain(SECRET_VALUE);
    expect(router.state.location.href).not.toContain(SECRET_VALUE);
    expect(JSON.stringify(router.state.location.state ?? {})).not.toContain(SECRET_VALUE);
    for (const spy of consoleSpies) {
      expect(JSON.stringify(spy.mock.calls)).not.toContain(SECRET_VALUE);
    }
    // The assertions above can fail: the value really was on the page and in the clipboard.
    expect(document.body.textContent).toContain(SECRET_VALUE);
  });

  it('shows who read each version, from the audit log filtered by this path', async () => {
    const api = secretApi();
    await renderApp('/secrets/view?path=prod/db/password', api, ['admin']);

    const reads = await screen.findByRole('table', { name: /Reads of prod\/db\/password/ });

    expect(within(reads).getByText('bob')).toBeTruthy();
    const query = Object.fromEntries(api.requestsTo('/audit')[0]?.url.searchParams ?? []);
    expect(query).toEqual({ target: 'prod/db/password', action: 'secret.read', limit: '100' });
  });

  it('offers viewers metadata only: no Reveal, no write, no destroy', async () => {
    const api = secretApi();
    await renderApp('/secrets/view?path=prod/db/password', api, ['viewer']);
    await screen.findByRole('table', { name: /Versions of/ });

    expect(screen.queryByRole('button', { name: 'Reveal' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Write new version' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Destroy' })).toBeNull();
    expect(api.requestsTo('/audit')).toHaveLength(0);
  });

  it('writes a new version with check-and-set on the version it read, then forgets the typed value', async () => {
    const user = userEvent.setup();
    const api = secretApi().on('POST', '/secrets/data/prod/db/password', {
      body: { data: { version: 3, ...version(), custom_metadata: null } },
    });
    await renderApp('/secrets/view?path=prod/db/password', api, ['operator']);
    await screen.findByRole('table', { name: /Versions of/ });

    await user.type(screen.getByLabelText('Field name'), 'password');
    await user.type(screen.getByLabelText('Field value'), 'new-value-1');
    await user.click(screen.getByRole('button', { name: 'Write new version' }));

    await screen.findByText('Version 3 written.');
    expect(JSON.parse(api.requestsTo('/secrets/data/prod/db/password').at(-1)?.body ?? '{}')).toEqual({
      data: { password: 'new-value-1' },
      options: { cas: 2 },
    });
    await waitFor(() => expect(screen.getByLabelText<HTMLInputElement>('Field value').value).toBe(''));
  });

  it('soft-deletes, undeletes and, after a confirmation, destroys a version', async () => {
    const user = userEvent.setup();
    const api = secretApi()
      .on('POST', '/secrets/delete/prod/db/password', { status: 204 })
      .on('POST', '/secrets/undelete/prod/db/password', { status: 204 })
      .on('POST', '/secrets/destroy/prod/db/password', { status: 204 });
    await renderApp('/secrets/view?path=prod/db/password', api, ['admin']);
    const versions = await screen.findByRole('table', { name: /Versions of/ });
    const [, current, deleted] = within(versions).getAllByRole('row');

    await user.click(within(deleted as HTMLElement).getByRole('button', { name: 'Undelete' }));
    await user.click(within(current as HTMLElement).getByRole('button', { name: 'Delete' }));
    await user.click(within(current as HTMLElement).getByRole('button', { name: 'Delete version 2' }));
    await user.click(within(current as HTMLElement).getByRole('button', { name: 'Destroy' }));
    // The confirmation takes the focus, and nothing is destroyed before it is pressed.
    const confirm = within(current as HTMLElement).getByRole('button', {
      name: 'Destroy version 2 for good',
    });
    expect(document.activeElement).toBe(confirm);
    expect(api.requestsTo('/secrets/destroy/prod/db/password')).toHaveLength(0);
    await user.click(confirm);

    await waitFor(() => expect(api.requestsTo('/secrets/destroy/prod/db/password')).toHaveLength(1));
    const body = (path: string) => JSON.parse(api.requestsTo(path)[0]?.body ?? '{}') as unknown;
    expect(body('/secrets/undelete/prod/db/password')).toEqual({ versions: [1] });
    expect(body('/secrets/delete/prod/db/password')).toEqual({ versions: [2] });
    expect(body('/secrets/destroy/prod/db/password')).toEqual({ versions: [2] });
  });

  it('hides Destroy from operators, who may delete but not destroy', async () => {
    await renderApp('/secrets/view?path=prod/db/password', secretApi(), ['operator']);
    await screen.findByRole('table', { name: /Versions of/ });

    expect(screen.getByRole('button', { name: 'Delete' })).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Destroy' })).toBeNull();
  });
});
