import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';

import { FakeApi } from '../test/fake-api.js';
import { ApiClient } from './client.js';
import { Connectivity } from './connectivity.js';
import {
  ApiError,
  NetworkError,
  SignInRequiredError,
  UnexpectedResponseError,
  isTransient,
  validationIssuesOf,
} from './errors.js';

const Answer = z.object({ data: z.object({ ok: z.boolean() }) });

function setup(options: { refreshes?: boolean } = {}) {
  const api = new FakeApi();
  const connectivity = new Connectivity();
  let token = 'token-1';
  const session = {
    accessToken: () => token,
    refresh: vi.fn(async () => {
      if (options.refreshes !== true) return false;
      token = 'token-2';
      return true;
    }),
    signIn: vi.fn(async () => undefined),
  };
  const client = new ApiClient({
    baseUrl: 'https://api.example.test',
    session,
    connectivity,
    fetch: api.fetch,
  });
  return { api, client, session, connectivity };
}

function errorBody(code: string, message: string, details?: unknown) {
  return { error: { code, message, requestId: 'req-123', ...(details !== undefined && { details }) } };
}

describe('ApiClient', () => {
  it('sends the bearer token and parses the answer with the contract', async () => {
    const { api, client } = setup();
    api.on('GET', '/thing', { body: { data: { ok: true } } });

    const answer = await client.request({
      path: '/thing',
      query: { a: 'x y', b: undefined },
      schema: Answer,
      action: 'read it',
    });

    expect(answer).toEqual({ data: { ok: true } });
    expect(api.requests[0]?.headers.get('authorization')).toBe('Bearer token-1');
    expect(api.requests[0]?.url.search).toBe('?a=x+y');
  });

  it('names the field issues of a 400 and keeps the request id', async () => {
    const { api, client } = setup();
    api.on('POST', '/thing', {
      status: 400,
      body: errorBody('ValidationError', 'Invalid request body', [{ path: ['name'], message: 'Required' }]),
    });

    const error = await client
      .request({ method: 'POST', path: '/thing', body: {}, schema: Answer, action: 'save it' })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toBe(
      'The request to save it was not accepted: Invalid request body.',
    );
    expect((error as ApiError).requestId).toBe('req-123');
    expect((error as ApiError).details).toEqual([{ path: ['name'], message: 'Required' }]);
    expect(validationIssuesOf(error)).toEqual([{ path: 'name', message: 'Required' }]);
  });

  it("reads the issues of the API's 400 shape, details: {issues}", async () => {
    const { api, client } = setup();
    api.on('PUT', '/discovery/settings', {
      status: 400,
      body: errorBody('ValidationError', 'Invalid discovery settings', {
        issues: [
          { code: 'too_small', path: ['regions'], message: 'Too small: expected array to have >=1 items' },
        ],
      }),
    });

    const error = await client
      .request({ method: 'PUT', path: '/discovery/settings', body: {}, schema: Answer, action: 'save' })
      .catch((e: unknown) => e);

    expect(validationIssuesOf(error)).toEqual([
      { path: 'regions', message: 'Too small: expected array to have >=1 items' },
    ]);
  });

  it('says what is not allowed on a 403 without repeating what the server said about the object', async () => {
    const { api, client } = setup();
    api.on('GET', '/secrets/data/prod/db', {
      status: 403,
      body: errorBody('Forbidden', "readValue on 'prod/db' is denied by policy 'ops' (rule 'prod/*')"),
    });

    const error = (await client
      .request({ path: '/secrets/data/prod/db', schema: Answer, action: 'read this secret’s value' })
      .catch((e: unknown) => e)) as ApiError;

    expect(error.status).toBe(403);
    expect(error.message).toBe('You are not allowed to read this secret’s value.');
    expect(error.message).not.toContain('prod/db');
    expect(error.requestId).toBe('req-123');
  });

  it('turns a 500 into a generic message with the request id', async () => {
    const { api, client } = setup();
    api.on('GET', '/thing', { status: 500, body: errorBody('InternalError', 'Internal error') });

    const error = (await client
      .request({ path: '/thing', schema: Answer, action: 'load it' })
      .catch((e: unknown) => e)) as ApiError;

    expect(error.message).toBe('Something went wrong on the server while trying to load it.');
    expect(error.requestId).toBe('req-123');
    expect(isTransient(error)).toBe(false);
  });

  it('takes the request id from the header when the body is not the error shape', async () => {
    const { api, client } = setup();
    api.on('GET', '/thing', {
      status: 503,
      body: 'upstream',
      headers: { 'x-request-id': 'req-from-header' },
    });

    const error = (await client
      .request({ path: '/thing', schema: Answer, action: 'load it' })
      .catch((e: unknown) => e)) as ApiError;

    expect(error.requestId).toBe('req-from-header');
    expect(isTransient(error)).toBe(true);
  });

  it('marks the network lost on a failed fetch and reached again on the next answer', async () => {
    const { api, client, connectivity } = setup();
    let down = true;
    api.on('GET', '/thing', () => (down ? 'network-error' : { body: { data: { ok: true } } }));

    const error = await client
      .request({ path: '/thing', schema: Answer, action: 'load it' })
      .catch((e: unknown) => e);
    const lostAfterFailure = connectivity.isLost();
    down = false;
    await client.request({ path: '/thing', schema: Answer, action: 'load it' });

    expect(error).toBeInstanceOf(NetworkError);
    expect(isTransient(error)).toBe(true);
    expect(lostAfterFailure).toBe(true);
    expect(connectivity.isLost()).toBe(false);
  });

  it('answers a 401 with one refresh and a retry carrying the new token', async () => {
    const { api, client, session } = setup({ refreshes: true });
    api.on('GET', '/thing', (request) =>
      request.headers.get('authorization') === 'Bearer token-2'
        ? { body: { data: { ok: true } } }
        : { status: 401, body: errorBody('Unauthorized', 'expired') },
    );

    const answer = await client.request({ path: '/thing', schema: Answer, action: 'load it' });

    expect(answer.data.ok).toBe(true);
    expect(session.refresh).toHaveBeenCalledTimes(1);
    expect(session.signIn).not.toHaveBeenCalled();
  });

  it('sends the person to sign in when the 401 cannot be refreshed', async () => {
    const { api, client, session } = setup({ refreshes: false });
    api.on('GET', '/thing', { status: 401, body: errorBody('Unauthorized', 'expired') });

    const error = await client
      .request({ path: '/thing', schema: Answer, action: 'load it' })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(SignInRequiredError);
    // No argument: the session returns to the page the person is on.
    expect(session.signIn).toHaveBeenCalledWith();
  });

  it('refuses an answer that does not match the contract', async () => {
    const { api, client } = setup();
    api.on('GET', '/thing', { body: { data: { ok: 'yes' } }, headers: { 'x-request-id': 'req-shape' } });

    const error = await client
      .request({ path: '/thing', schema: Answer, action: 'load it' })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect((error as UnexpectedResponseError).requestId).toBe('req-shape');
  });
});
