/**
 * Outbound HTTP to addresses a credential's owner chose (webhook receivers) must never reach the
 * worker's own network: private ranges (10/8, 172.16/12, 192.168/16, fc00::/7), link-local
 * (169.254/16 with the instance metadata service 169.254.169.254, fe80::/10), loopback (127/8,
 * ::1; allowed only by the local runtime) and unspecified or shared addresses. The URL is checked
 * when it is registered (an IP literal or `localhost`), and every address a host name resolves to
 * is checked again when the connection is made, with the connection pinned to the checked
 * address, so a DNS answer that changes in between (DNS rebinding) cannot slip through.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

const FORBIDDEN: readonly (readonly [string, number, 'ipv4' | 'ipv6', string])[] = [
  ['0.0.0.0', 8, 'ipv4', 'unspecified'],
  ['10.0.0.0', 8, 'ipv4', 'private'],
  ['100.64.0.0', 10, 'ipv4', 'shared (carrier-grade NAT)'],
  ['169.254.0.0', 16, 'ipv4', 'link-local or instance metadata'],
  ['172.16.0.0', 12, 'ipv4', 'private'],
  ['192.0.0.0', 24, 'ipv4', 'IETF protocol assignments'],
  ['192.168.0.0', 16, 'ipv4', 'private'],
  ['198.18.0.0', 15, 'ipv4', 'benchmarking'],
  ['224.0.0.0', 3, 'ipv4', 'multicast or reserved'],
  ['::', 128, 'ipv6', 'unspecified'],
  ['fc00::', 7, 'ipv6', 'unique local (private)'],
  ['fe80::', 10, 'ipv6', 'link-local'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];
const LOOPBACK: readonly (readonly [string, number, 'ipv4' | 'ipv6'])[] = [
  ['127.0.0.0', 8, 'ipv4'],
  ['::1', 128, 'ipv6'],
];

function blockList(ranges: readonly (readonly [string, number, 'ipv4' | 'ipv6', ...unknown[]])[]): BlockList {
  const list = new BlockList();
  for (const [network, prefix, family] of ranges) list.addSubnet(network, prefix, family);
  return list;
}
const LOOPBACK_LIST = blockList(LOOPBACK);
const FORBIDDEN_LISTS = FORBIDDEN.map(([network, prefix, family, why]) => ({
  list: blockList([[network, prefix, family]]),
  why,
}));

/** An address VaultPilot may not connect to; the message names the kind of range, never a value. */
export class ForbiddenAddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ForbiddenAddressError';
  }
}

/** The `ForbiddenAddressError` in `error` or its causes (a fetch wraps its connection errors). */
export function forbiddenAddressCause(error: unknown): ForbiddenAddressError | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth += 1) {
    if (current instanceof ForbiddenAddressError) return current;
    current = current.cause;
  }
  return undefined;
}

/** Why `address` is off limits (a kind of range), or undefined when it may be reached. */
export function forbiddenAddress(address: string, allowLoopback: boolean): string | undefined {
  let ip = address.replace(/^\[|\]$/g, '');
  // An IPv4-mapped IPv6 address is judged as the IPv4 address it carries.
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped !== null) ip = mapped[1] as string;
  const family = isIP(ip);
  if (family === 0) return 'not an IP address';
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (LOOPBACK_LIST.check(ip, type)) return allowLoopback ? undefined : 'loopback';
  return FORBIDDEN_LISTS.find((entry) => entry.list.check(ip, type))?.why;
}

/**
 * The registration-time check of a URL's host: an IP literal in a forbidden range, or a name that
 * always means this machine (`localhost`), is refused at once. Other names are checked when the
 * connection is made.
 */
export function forbiddenHost(url: URL, allowLoopback: boolean): string | undefined {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (isIP(host) !== 0) return forbiddenAddress(host, allowLoopback);
  if (host === 'localhost' || host.endsWith('.localhost')) return allowLoopback ? undefined : 'loopback';
  return undefined;
}

/** A `lookup` for node:http(s) that fails when any address of the name is off limits. */
export function guardedLookup(allowLoopback: boolean, resolve = dnsLookup): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error !== null) {
        callback(error, '', 0);
        return;
      }
      const list = Array.isArray(addresses) ? addresses : [];
      const bad = list.map((entry) => forbiddenAddress(entry.address, allowLoopback)).find(Boolean);
      if (bad !== undefined || list.length === 0) {
        callback(new ForbiddenAddressError(`The host resolves to a ${bad ?? 'missing'} address`), '', 0);
        return;
      }
      if (options.all === true) {
        (callback as unknown as (error: null, addresses: LookupAddress[]) => void)(null, list);
        return;
      }
      const first = list[0] as LookupAddress;
      callback(null, first.address, first.family);
    });
  };
}

export interface GuardedFetchOptions {
  readonly allowLoopback: boolean;
  /** Name resolution (tests answer rebinding names with it). */
  readonly resolve?: typeof dnsLookup;
}

/**
 * A `fetch` for owner-chosen URLs: node:http(s) with the guarded lookup (the socket connects to
 * the address that was checked), IP literals checked before connecting, no redirects followed.
 * Takes the subset of `fetch` the rotators use (method, headers, string body, signal).
 */
export function guardedFetch(options: GuardedFetchOptions): typeof fetch {
  const lookup = guardedLookup(options.allowLoopback, options.resolve);
  return async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    const literal = forbiddenHost(url, options.allowLoopback);
    if (literal !== undefined) throw new ForbiddenAddressError(`The host is a ${literal} address`);
    const headers = Object.fromEntries(new Headers(init.headers).entries());
    const body = typeof init.body === 'string' ? init.body : undefined;
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const requestOptions: RequestOptions = {
      method: init.method ?? 'GET',
      headers:
        body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      lookup,
      // A fresh connection every time: a pooled socket would skip the lookup and its check.
      agent: false,
      signal: init.signal ?? undefined,
    };
    const answer = await new Promise<IncomingMessage>((resolve, reject) => {
      const request = send(url, requestOptions, resolve);
      request.on('error', reject);
      request.end(body);
    });
    const chunks: Buffer[] = [];
    for await (const chunk of answer) chunks.push(chunk as Buffer);
    const status = answer.statusCode ?? 502;
    const responseHeaders = new Headers();
    for (const [name, value] of Object.entries(answer.headers)) {
      if (value !== undefined) responseHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const empty = status === 204 || status === 304 || status < 200;
    return new Response(empty ? null : Buffer.concat(chunks), {
      status: status < 200 ? 502 : status,
      headers: responseHeaders,
    });
  };
}
