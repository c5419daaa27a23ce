/**
 * Webhook URLs may not reach the worker's own network: private, link-local, metadata and (outside
 * the local runtime) loopback addresses are refused when the URL is registered (IP literals,
 * `localhost`) and again when the connection is made, for every address a name resolves to, with
 * the socket connecting to the address that was checked (DNS rebinding). A local HTTP server
 * stands in for the receiver; a resolver stub plays the DNS that changes its answer.
 */
import type { LookupAddress, lookup } from 'node:dns';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '../../lambdas/core/errors.js';
import {
  ForbiddenAddressError,
  forbiddenAddress,
  forbiddenAddressCause,
  guardedFetch,
} from '../../lambdas/rotators/egress-guard.js';
import { createWebhookTokenRotator } from '../../lambdas/rotators/webhook-token.js';

let server: Server;
let port = 0;
const seen: string[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    seen.push(request.headers.host ?? '');
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A resolver that answers each lookup of any name with the next address of `answers`. */
function resolver(answers: string[]) {
  return ((
    _hostname: string,
    _options: unknown,
    callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
  ) => {
    const address = answers.shift() ?? '203.0.113.9';
    callback(null, [{ address, family: address.includes(':') ? 6 : 4 }]);
  }) as unknown as typeof lookup;
}

describe('which addresses a webhook may reach', () => {
  it('refuses private, link-local, metadata, unique-local and loopback ranges; allows public ones', () => {
    const cases: [string, string | undefined][] = [
      ['169.254.169.254', 'link-local or instance metadata'],
      ['10.20.30.40', 'private'],
      ['172.16.0.1', 'private'],
      ['172.31.255.255', 'private'],
      ['192.168.1.10', 'private'],
      ['fc00::1', 'unique local (private)'],
      ['fd00:ec2::254', 'unique local (private)'],
      ['fe80::1', 'link-local'],
      ['127.0.0.1', 'loopback'],
      ['127.8.9.10', 'loopback'],
      ['::1', 'loopback'],
      ['::ffff:10.0.0.1', 'private'],
      ['0.0.0.0', 'unspecified'],
      ['172.32.0.1', undefined],
      ['8.8.8.8', undefined],
      ['2606:4700:4700::1111', undefined],
    ];
    for (const [address, why] of cases) expect(forbiddenAddress(address, false), address).toBe(why);
    expect(forbiddenAddress('127.0.0.1', true)).toBeUndefined();
    expect(forbiddenAddress('::1', true)).toBeUndefined();
    expect(forbiddenAddress('10.0.0.1', true)).toBe('private');
  });

  it('refuses such URLs at registration, naming the field', () => {
    const strict = createWebhookTokenRotator();
    const local = createWebhookTokenRotator({ allowHttpLoopback: true });
    const issues = (rotator: typeof strict, url: string) => {
      try {
        rotator.parseSettings({ webhook: { url, signingSecretPath: 'hooks/key' } });
        return [];
      } catch (error: unknown) {
        if (!(error instanceof ValidationError)) throw error;
        return (error.details as { issues: { path: string; message: string }[] }).issues;
      }
    };
    for (const url of [
      'https://169.254.169.254/latest/meta-data',
      'https://10.0.0.5/hook',
      'https://[fd00:ec2::254]/hook',
      'https://localhost/hook',
      'https://127.0.0.1/hook',
      'https://[::1]/hook',
    ]) {
      expect(
        issues(strict, url).map((issue) => issue.path),
        url,
      ).toEqual(['webhook.url']);
    }
    expect(issues(strict, 'https://rotate.example.com/hook')).toEqual([]);
    // Locally, loopback receivers are fine; private ranges are not.
    expect(issues(local, 'http://127.0.0.1:9/hook')).toEqual([]);
    expect(issues(local, 'https://192.168.0.2/hook')[0]?.message).toMatch(/private/);
  });
});

describe('at connect time', () => {
  it('refuses a name that resolves to a forbidden address, before connecting', async () => {
    // Prepare
    const send = guardedFetch({ allowLoopback: false, resolve: resolver(['169.254.169.254']) });
    seen.length = 0;
    // Act
    const error = await send(`http://metadata.example:${port}/`).catch((caught: unknown) => caught);
    // Assess
    expect(forbiddenAddressCause(error)).toBeInstanceOf(ForbiddenAddressError);
    expect(seen).toEqual([]);
  });

  it('connects to the checked address, and refuses the name once its answer rebinds to loopback', async () => {
    // Prepare: the first answer is loopback, allowed here (as in the local runtime) and reachable.
    const allowed = guardedFetch({ allowLoopback: true, resolve: resolver(['127.0.0.1']) });
    const strict = guardedFetch({ allowLoopback: false, resolve: resolver(['127.0.0.1']) });
    seen.length = 0;
    // Act
    const answer = await allowed(`http://receiver.example:${port}/hook`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    const rebound = await strict(`http://receiver.example:${port}/hook`).catch((caught: unknown) => caught);
    // Assess
    expect(answer.status).toBe(200);
    expect(await answer.text()).toBe('{"ok":true}');
    expect(seen).toEqual([`receiver.example:${port}`]);
    expect(forbiddenAddressCause(rebound)?.message).toMatch(/loopback/);
    expect(seen).toHaveLength(1);
  });

  it('refuses an IP literal without resolving it', async () => {
    const send = guardedFetch({ allowLoopback: false, resolve: resolver([]) });
    const error = await send(`http://127.0.0.1:${port}/`).catch((caught: unknown) => caught);
    expect(forbiddenAddressCause(error)).toBeInstanceOf(ForbiddenAddressError);
  });
});
