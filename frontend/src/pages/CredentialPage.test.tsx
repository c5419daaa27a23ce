import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';

import { FakeApi, credential } from '../test/fake-api.js';
import { renderApp } from '../test/render-app.js';

function step(name: string, status: string) {
  return { step: name, status, startedAt: '2026-12-01T00:00:00.000Z', attempts: 1 };
}

function rotation(state: string, steps: ReturnType<typeof step>[]) {
  return {
    rotationId: 'rot-1',
    credentialId: 'cred-1',
    credentialType: 'vault-secret',
    state,
    trigger: 'manual',
    requestedBy: 'alice',
    dryRun: false,
    steps,
    createdAt: '2026-12-01T00:00:00.000Z',
    updatedAt: '2026-12-01T00:00:00.000Z',
  };
}

function credentialApi() {
  const progress = [
    rotation('in-progress', [step('create', 'succeeded'), step('set', 'running')]),
    rotation('in-progress', [step('create', 'succeeded'), step('set', 'succeeded'), step('test', 'running')]),
    rotation(
      'succeeded',
      ['create', 'set', 'test', 'finish'].map((name) => step(name, 'succeeded')),
    ),
  ];
  let polls = 0;
  let started = false;
  return new FakeApi()
    .on('GET', '/credentials/cred-1', {
      body: {
        data: credential({
          type: 'vault-secret',
          findings: [
            {
              ruleId: 'stored-secret-not-rotated',
              severity: 'medium',
              title: 'The current version is older than the threshold',
              remediation: 'Rotate it now.',
              since: '2026-11-01T00:00:00.000Z',
            },
          ],
          rotation: { secretPath: 'prod/app/token', settings: {} },
        }),
      },
    })
    .on('GET', '/discovery/rules', { body: { data: { rules: [] } } })
    .on('GET', '/rotation-policies', { body: { data: { policies: [] } } })
    .on('GET', '/credentials/cred-1/rotations', () => ({
      body: { data: { rotations: started ? [progress[2]] : [] } },
    }))
    .on('POST', '/credentials/cred-1/rotate', () => {
      started = true;
      return { status: 202, body: { data: { rotationId: 'rot-1', state: 'pending' } } };
    })
    .on('GET', '/rotations/rot-1', () => ({ body: { data: progress[Math.min(polls++, 2)] } }));
}

describe('Credential page', () => {
  it('shows facts and findings with their fix', async () => {
    await renderApp('/credentials/cred-1', credentialApi(), ['viewer']);

    expect(await screen.findByRole('heading', { level: 1, name: 'stripe key' })).toBeTruthy();
    const findings = screen.getByRole('region', { name: 'Findings' });
    expect(within(findings).getByText('The current version is older than the threshold')).toBeTruthy();
    expect(within(findings).getByText('Rotate it now.')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Rotate now' })).toBeNull();
  });

  it('"Rotate now" follows the steps live until the rotation settles', async () => {
    const user = userEvent.setup();
    const api = credentialApi();
    await renderApp('/credentials/cred-1', api, ['operator']);

    await user.click(await screen.findByRole('button', { name: 'Rotate now' }));

    const steps = await screen.findByRole('list', { name: 'Rotation steps' });
    await waitFor(
      () =>
        expect(
          within(steps)
            .getAllByRole('listitem')
            .map((item) => item.textContent),
        ).toEqual([
          expect.stringMatching(/^create\s*succeeded/),
          expect.stringMatching(/^set\s*succeeded/),
          expect.stringMatching(/^test\s*succeeded/),
          expect.stringMatching(/^finish\s*succeeded/),
        ]),
      { timeout: 5_000 },
    );
    // It polled through the intermediate states, then stopped.
    expect(api.requestsTo('/rotations/rot-1').length).toBeGreaterThanOrEqual(3);
    expect(api.requestsTo('/credentials/cred-1/rotate')).toHaveLength(1);
    // The history now lists it, with "Roll back" on the latest succeeded rotation.
    expect(await screen.findByRole('button', { name: 'Roll back' })).toBeTruthy();
  });
});
