import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { FakeApi } from '../../test/fake-api.js';
import { renderApp } from '../../test/render-app.js';
import { ruleProblems } from './PoliciesPage.js';

function policyApi() {
  return new FakeApi()
    .on('GET', '/policies', { body: { data: { policies: [] } } })
    .on('GET', '/policies/attachments', { body: { data: { groups: {}, clients: {} } } })
    .on('PUT', '/policies/ops', (request) => ({
      body: {
        data: {
          name: 'ops',
          ...(JSON.parse(request.body ?? '{}') as object),
          revision: 1,
          updated_at: '2026-12-01T00:00:00Z',
        },
      },
    }));
}

describe('Access policy rule editor', () => {
  it.each([
    [{ path: 'prod/*', capabilities: ['read'] }, []],
    [{ path: 'prod/+/db', capabilities: ['deny'] }, []],
    [{ path: '', capabilities: ['read'] }, ['The path is empty.']],
    [{ path: 'pro*d/x', capabilities: ['read'] }, ['“*” may appear only at the end.']],
    [{ path: 'a/b+/c', capabilities: ['read'] }, ['Segment 2: “+” must be a whole segment.']],
    [{ path: 'a//c', capabilities: ['list'] }, ['Segment 2 is empty.']],
    [{ path: 'a', capabilities: [] }, ['Choose at least one capability.']],
  ])('checks %j', (rule, problems) => {
    expect(ruleProblems(rule)).toEqual(problems);
  });

  it('names problems next to the rule and saves nothing until they are fixed', async () => {
    const user = userEvent.setup();
    const api = policyApi();
    await renderApp('/settings/policies', api, ['admin']);
    expect(await screen.findByRole('heading', { level: 1, name: 'Access policies' })).toBeTruthy();

    await user.click(screen.getByRole('button', { name: 'New policy' }));
    await user.type(screen.getByLabelText(/Policy name/), 'ops');
    await user.type(screen.getByLabelText('Path glob'), 'prod/x*y');
    await user.click(screen.getByRole('button', { name: 'Save policy' }));

    const rule = screen.getByRole('group', { name: 'Rule 1' });
    expect(within(rule).getByText('“*” may appear only at the end.')).toBeTruthy();
    expect(api.requestsTo('/policies/ops')).toHaveLength(0);

    await user.clear(screen.getByLabelText('Path glob'));
    await user.type(screen.getByLabelText('Path glob'), 'prod/*');
    await user.click(within(rule).getByLabelText('deny'));
    await user.click(within(rule).getByLabelText('read'));
    await user.click(within(rule).getByLabelText('list'));
    await user.click(screen.getByRole('button', { name: 'Save policy' }));

    await waitFor(() => expect(api.requestsTo('/policies/ops')).toHaveLength(1));
    expect(JSON.parse(api.requestsTo('/policies/ops')[0]?.body ?? '{}')).toEqual({
      rules: [{ path: 'prod/*', capabilities: ['deny'] }],
      revision: 0,
    });
  });

  it('shows auditors the policies without editing', async () => {
    await renderApp('/settings/policies', policyApi(), ['auditor']);

    expect(await screen.findByText('No policy yet: the roles’ defaults apply.')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'New policy' })).toBeNull();
  });
});
