/**
 * `vaultpilot login | logout | whoami | profiles`: a profile is an API address plus how to sign
 * in there, discovered from the deployment's `/config.json` (the dashboard's runtime settings).
 */
import type { DashboardConfig } from '../shared/contracts/dashboard-config.js';
import { MeResponse } from '../shared/contracts/identity.js';
import {
  OAuthErrorAnswer,
  OpenIdConfigurationAnswer,
  parseAnswer,
  parseJsonAnswer,
  refusalBody,
} from './answers.js';
import { stringValue } from './args.js';
import { clientCredentialsSignIn, passwordSignIn } from './auth.js';
import { browserSignIn } from './browser-sign-in.js';
import { EXIT_FAILURE, EXIT_OK, type ClientCommand, type CommandContext } from './command.js';
import { CliUsageError, MalformedAnswerError, printable, ProfileError } from './errors.js';
import { exchange, type HttpAnswer } from './http.js';
import { readStdin, type ClientIo } from './io.js';
import { printJson, printPairs, printTable } from './output.js';
import type { AuthSettings, Profile, StoredTokens } from './profiles.js';

const MAX_SECRET_BYTES = 4096;
const BROWSER_TIMEOUT_MS = 5 * 60_000;

/** A JSON document (not the API's: no token); the caller checks its shape. */
async function getJson(url: URL): Promise<{ status: number; body: unknown; what: string }> {
  const answer = await exchange({ method: 'GET', url, headers: { accept: 'application/json' } });
  const what = `the answer to GET ${url.origin}${url.pathname} (HTTP ${answer.status})`;
  if (answer.status !== 200) return { status: answer.status, body: undefined, what };
  return {
    status: answer.status,
    body: parseJsonAnswer(answer.text, answer.headers['content-type'], what),
    what,
  };
}

/** The deployment's `/config.json`: where its API and its sign-in live. */
export async function discoverDeployment(address: string): Promise<DashboardConfig> {
  let base: URL;
  try {
    base = new URL(address.endsWith('/') ? address : `${address}/`);
  } catch {
    throw new CliUsageError(`-address must be an http(s) URL, not '${address}'`);
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:')
    throw new CliUsageError(`-address must be an http(s) URL, not '${address}'`);
  let status: number;
  let body: unknown;
  try {
    ({ status, body } = await getJson(new URL('config.json', base)));
  } catch (error: unknown) {
    if (!(error instanceof MalformedAnswerError)) throw error;
    // An HTML page there (a dashboard without /config.json, another site) is a wrong address.
    status = 200;
    body = undefined;
  }
  // Loaded here only: the contract pulls in all of zod, which no other command needs at start-up.
  const { DashboardConfig: schema } = await import('../shared/contracts/dashboard-config.js');
  const parsed = schema.safeParse(body);
  if (status !== 200 || !parsed.success)
    throw new ProfileError(
      `${base.origin} serves no VaultPilot /config.json (HTTP ${status}): give the address of the dashboard or of the local runtime`,
    );
  return parsed.data;
}

/** The local runtime names its JSON password sign-in in its OpenID discovery document. */
async function signInEndpoint(issuer: string): Promise<string> {
  const { status, body, what } = await getJson(new URL(`${issuer}/.well-known/openid-configuration`));
  if (status !== 200)
    throw new MalformedAnswerError(`${what}: the identity provider serves no OpenID discovery document`);
  const endpoint = parseAnswer(OpenIdConfigurationAnswer(), body, what)['x-vaultpilot-sign-in-endpoint'];
  if (endpoint === undefined)
    throw new CliUsageError(
      "this deployment signs users in through its hosted sign-in page: run 'vaultpilot login' without -username",
    );
  return endpoint;
}

/** A password typed at a terminal, not echoed; or all of stdin when it is a pipe. */
async function readSecret(io: ClientIo, prompt: string): Promise<string> {
  if (io.stdin.isTTY === true && io.stdin === process.stdin) {
    const stdin = process.stdin;
    io.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.setEncoding('utf8');
    stdin.resume();
    try {
      return await new Promise<string>((resolve, reject) => {
        let value = '';
        stdin.on('data', (chunk: string) => {
          for (const character of chunk) {
            if (character === '\r' || character === '\n' || character === '\u0004') {
              io.stderr.write('\n');
              resolve(value);
              return;
            }
            if (character === '\u0003') {
              reject(new CliUsageError('cancelled'));
              return;
            }
            value = character === '\u007f' ? value.slice(0, -1) : value + character;
          }
        });
      });
    } finally {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.removeAllListeners('data');
    }
  }
  try {
    return (await readStdin(io, MAX_SECRET_BYTES, 'one secret')).replace(/\r?\n$/, '');
  } catch (error: unknown) {
    throw new CliUsageError(error instanceof Error ? error.message : String(error));
  }
}

function scopesOption(context: CommandContext): string[] | undefined {
  const text = stringValue(context.args.values, 'scopes');
  return text === undefined ? undefined : text.split(/[,\s]+/).filter((scope) => scope.length > 0);
}

function describeCaller(context: CommandContext): Promise<MeResponse> {
  return context.api().then((api) => api.call('GET', '/me', MeResponse));
}

export const SESSION_COMMANDS: readonly ClientCommand[] = [
  {
    words: ['login'],
    summary: 'sign in to a deployment and save it as a profile',
    help: `Usage: vaultpilot login [-address URL] [-profile NAME]                     (browser, PKCE)
       vaultpilot login [-address URL] -username NAME                         (local runtime)
       vaultpilot login [-address URL] -client-id ID [-scopes S1,S2]         (machine client)

Signs in and saves the profile (default 'default') in the config directory
($VAULTPILOT_CONFIG_DIR, else $XDG_CONFIG_HOME/vaultpilot, else ~/.config/vaultpilot):
the API address and sign-in settings in profiles.json, the tokens in tokens.json (both 0600).
URL is the dashboard's address (or the local runtime's); its /config.json names the API and
the identity provider.

Without -username or -client-id, the sign-in runs in a browser: authorization code with PKCE
(S256) and a loopback redirect to http://127.0.0.1:PORT/callback. The address is printed, and
opened with xdg-open/open unless CI is set or -no-browser is given. Against Cognito the
deployment's /config.json names the CLI's app client and its redirect
(http://localhost:8976/callback, the only plain-http redirect Cognito accepts), and the CLI
listens there; -port is for the local runtime.

-username signs in with a password (local runtime only), read from the terminal without echo
or from stdin. It has no refresh token: sign in again when it expires (1 hour).

-client-id signs in a machine client with client credentials; the secret comes from
VAULTPILOT_CLIENT_SECRET or stdin, never from an argument. It is kept in tokens.json to
renew the token when it expires.

  -address URL       the deployment (default: the profile's, or VAULTPILOT_ADDR)
  -username NAME     password sign-in as NAME (local runtime)
  -client-id ID      client-credentials sign-in
  -scopes LIST       scopes to ask for (client credentials; default all the client has)
  -port N            loopback port of the browser sign-in (default: a free one)
  -no-browser        only print the sign-in address`,
    options: {
      address: { type: 'string' },
      username: { type: 'string' },
      'client-id': { type: 'string' },
      scopes: { type: 'string' },
      port: { type: 'string' },
      'no-browser': { type: 'boolean' },
    },
    async run(context) {
      const { io, args, profiles, profileName } = context;
      if (context.args.positionals.length > 0)
        throw new CliUsageError(`unexpected argument '${context.args.positionals[0] ?? ''}'`);
      const username = stringValue(args.values, 'username');
      const clientId = stringValue(args.values, 'client-id');
      if (username !== undefined && clientId !== undefined)
        throw new CliUsageError('give -username or -client-id, not both');
      const portText = stringValue(args.values, 'port');
      if (portText !== undefined && (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535))
        throw new CliUsageError('-port must be a port number');
      const existing = await profiles.profile(profileName);
      const address = stringValue(args.values, 'address') ?? io.env.VAULTPILOT_ADDR ?? existing?.apiUrl;
      if (address === undefined) throw new CliUsageError('-address is required for a new profile');
      const deployment = await discoverDeployment(address);
      let auth: AuthSettings;
      let tokens: StoredTokens;
      if (username !== undefined) {
        const endpoint = await signInEndpoint(deployment.auth.issuer);
        const password = await readSecret(io, `Password for ${username}: `);
        if (password.length === 0) throw new CliUsageError('no password given on stdin');
        auth = { kind: 'password', username, signInEndpoint: endpoint };
        tokens = await passwordSignIn(endpoint, username, password);
      } else if (clientId !== undefined) {
        const scopes = scopesOption(context);
        auth = {
          kind: 'client',
          clientId,
          tokenEndpoint: deployment.auth.tokenEndpoint,
          ...(scopes === undefined ? {} : { scopes }),
        };
        const secret =
          io.env.VAULTPILOT_CLIENT_SECRET ?? (await readSecret(io, `Client secret of ${clientId}: `));
        if (secret.length === 0)
          throw new CliUsageError('no client secret: set VAULTPILOT_CLIENT_SECRET or pipe it on stdin');
        tokens = await clientCredentialsSignIn(auth, secret);
      } else {
        // A deployment that names the CLI's own app client (Cognito) gets its fixed redirect.
        const cli = deployment.cli;
        if (cli !== undefined && portText !== undefined)
          throw new CliUsageError(
            `this deployment's sign-in returns to ${cli.redirectUri}; -port cannot change it`,
          );
        auth = {
          kind: 'browser',
          clientId: cli?.clientId ?? deployment.auth.clientId,
          authorizationEndpoint: deployment.auth.authorizationEndpoint,
          tokenEndpoint: deployment.auth.tokenEndpoint,
          scopes: deployment.auth.scopes,
        };
        tokens = await browserSignIn(auth, io, {
          port: portText === undefined ? 0 : Number(portText),
          redirectUri: cli?.redirectUri,
          openBrowser: args.values['no-browser'] !== true && (io.env.CI ?? '') === '',
          timeoutMs: BROWSER_TIMEOUT_MS,
        });
      }
      const profile: Profile = { apiUrl: deployment.apiUrl, auth };
      await profiles.saveProfile(profileName, profile);
      await profiles.saveTokens(profileName, tokens);
      const me = await describeCaller(context);
      io.stderr.write(
        `Signed in to ${deployment.apiUrl} as ${printable(me.username ?? me.clientId, 128)} ` +
          `(tenant ${printable(me.tenant, 64)}); saved as profile '${profileName}'.\n`,
      );
      return EXIT_OK;
    },
  },
  {
    words: ['logout'],
    summary: "forget the profile's tokens (and revoke its refresh token)",
    help: `Usage: vaultpilot logout [-profile NAME]

Deletes the profile's tokens from tokens.json (the profile's address stays) and revokes the
refresh token of a browser sign-in at the identity provider.`,
    options: {},
    async run({ io, profiles, profileName }) {
      const profile = await profiles.profile(profileName);
      const tokens = await profiles.storedTokens(profileName);
      let unrevoked: string | undefined;
      if (profile?.auth?.kind === 'browser' && tokens?.refreshToken !== undefined) {
        // RFC 7009 at the token endpoint's sibling (Cognito and the local issuer both use /oauth2/revoke).
        const revoke = new URL(profile.auth.tokenEndpoint.replace(/\/oauth2\/token$/, '/oauth2/revoke'));
        unrevoked = await exchange({
          method: 'POST',
          url: revoke,
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            token: tokens.refreshToken,
            client_id: profile.auth.clientId,
          }).toString(),
        }).then(
          // RFC 7009 §2.2: 200 means revoked (or already invalid); anything else is a refusal.
          (answer) => (answer.status === 200 ? undefined : `it answered ${refusal(answer)}`),
          () => 'it could not be reached',
        );
      }
      // The tokens go either way: keeping them would not make the refresh token less valid.
      const dropped = await profiles.dropTokens(profileName);
      if (unrevoked !== undefined) {
        io.stderr.write(
          `vaultpilot logout: the identity provider did not revoke the refresh token (${unrevoked}). ` +
            `Signed out of profile '${profileName}' here, but the refresh token stays valid until it expires; ` +
            'run logout again once the provider is reachable to end the session there too.\n',
        );
        return EXIT_FAILURE;
      }
      io.stderr.write(
        dropped
          ? `Signed out of profile '${profileName}'.\n`
          : `Profile '${profileName}' was not signed in.\n`,
      );
      return EXIT_OK;
    },
  },
  {
    words: ['whoami'],
    summary: 'who the profile signs in as: subject, tenant, roles, scopes',
    help: `Usage: vaultpilot whoami [-profile NAME] [-format table|json]

Asks the API (GET /me) who the profile's token belongs to.`,
    options: {},
    async run(context) {
      const me = await describeCaller(context);
      if (context.format === 'json') printJson(context.io, me);
      else printPairs(context.io, [['profile', context.profileName], ...Object.entries(me)]);
      return EXIT_OK;
    },
  },
  {
    words: ['profiles'],
    summary: 'list the saved profiles',
    help: `Usage: vaultpilot profiles [-format table|json]

Lists the profiles of the config directory: name, API address, sign-in kind, and whether
tokens are stored (never the tokens).`,
    options: {},
    async run({ io, format, profiles }) {
      const all = await profiles.listProfiles();
      const rows = await Promise.all(
        Object.entries(all).map(async ([name, profile]) => ({
          name,
          apiUrl: profile.apiUrl,
          signIn: profile.auth?.kind ?? 'none',
          signedIn: (await profiles.storedTokens(name)) !== undefined,
        })),
      );
      if (format === 'json') printJson(io, rows);
      else
        printTable(
          io,
          ['Profile', 'API', 'Sign-in', 'Signed in'],
          rows.map((row) => [row.name, row.apiUrl, row.signIn, row.signedIn]),
        );
      return EXIT_OK;
    },
  },
];

/** A revocation endpoint's refusal in a few words: its status and OAuth error code, nothing else. */
function refusal(answer: HttpAnswer): string {
  const body = OAuthErrorAnswer().safeParse(refusalBody(answer.text));
  return body.success ? `HTTP ${answer.status}, ${printable(body.data.error, 64)}` : `HTTP ${answer.status}`;
}
