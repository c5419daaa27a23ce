import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { FakeApi } from '../test/fake-api.js';
import { renderApp } from '../test/render-app.js';

/** Both policy pages list through NamedPolicyList: a delete is confirmed and checks the revision. */
describe('Named policy list', () => {
  it.each([
    [
      '/settings/rotation-policies',
      '/rotation-policies',
      {
        policies: [
          { name: 'nightly', policy: { intervalDays: 1 }, revision: 3, updatedAt: '2026-12-01T00:00:00Z' },
        ],
      },
      'nightly',
      'rotation policy',
    ],
    [
      '/settings/policies',
      '/policies',
      {
        policies: [
          {
            name: 'ops',
            rules: [{ path: 'prod/*', capabilities: ['read'] }],
            revision: 3,
            updated_at: '2026-12-01T00:00:00Z',
          },
        ],
      },
      'ops',
      'access policy',
    ],
  ])(
    'deletes from %s only after confirmation, with the revision it showed',
    async (page, path, list, name, noun) => {
      // Prepare
      const user = userEvent.setup();
      let listed = list;
      const api = new FakeApi()
        .on('GET', path, () => ({ body: { data: listed } }))
        .on('GET', '/policies/attachments', { body: { data: { groups: {}, clients: {} } } })
        .on('DELETE', `${path}/${name}`, () => {
          listed = { policies: [] };
          return { status: 204 };
        });
      await renderApp(page, api, ['admin']);
      await screen.findByRole('cell', { name });

      // Act: ask, cancel, ask again and confirm.
      await user.click(screen.getByRole('button', { name: 'Delete' }));
      await user.click(screen.getByRole('button', { name: 'Cancel' }));
      const afterCancel = api.requestsTo(`${path}/${name}`).length;
      await user.click(screen.getByRole('button', { name: 'Delete' }));
      expect(screen.getByRole('group', { name: `Delete the ${noun} ${name}?` })).toBeTruthy();
      await user.click(screen.getByRole('button', { name: `Delete ${name}` }));

      // Assess
      await waitFor(() => expect(api.requestsTo(`${path}/${name}`)).toHaveLength(1));
      expect(afterCancel).toBe(0);
      const [request] = api.requestsTo(`${path}/${name}`);
      expect(request?.method).toBe('DELETE');
      expect(request?.url.searchParams.get('revision')).toBe('3');
      await waitFor(() => expect(screen.queryByRole('cell', { name })).toBeNull());
    },
  );
});
