/**
 * A fake AWS for tests of the real SDK clients: one loopback HTTP server per service (IAM and
 * STS speak the query protocol with XML answers, Secrets Manager and SSM JSON 1.1), so each
 * service's endpoint variable (`AWS_ENDPOINT_URL_IAM`, `_STS`, `_SECRETS_MANAGER`, `_SSM`) can be
 * shown to reach its own server. Accounts are told apart by the access key id that signed the
 * request: the ambient key, or `ASIA<account id>` handed out by AssumeRole. Listings are paged
 * (small pages on purpose) with the markers and tokens the real services use.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeKey {
  readonly id: string;
  readonly status?: 'Active' | 'Inactive';
  readonly created: string;
  readonly lastUsed?: string;
  readonly service?: string;
}

export interface FakeAccount {
  rootKeys?: number;
  users: { name: string; keys: FakeKey[] }[];
  secrets: {
    name: string;
    created: string;
    rotationEnabled?: boolean;
    lastRotated?: string;
    lastAccessed?: string;
    tags?: Record<string, string>;
  }[];
  parameters: {
    name: string;
    lastModified: string;
    type?: 'SecureString' | 'String';
    tier?: string;
    expires?: string;
  }[];
  /** Services that answer AccessDenied in this account. */
  denied?: ('iam' | 'secretsmanager' | 'ssm')[];
}

export const AMBIENT_KEY_ID = 'AKIDFAKEAMBIENT0001';
const SERVICES = ['iam', 'sts', 'secretsmanager', 'ssm'] as const;
type Service = (typeof SERVICES)[number];

export interface RecordedRequest {
  /** Which server received it. */
  readonly server: Service;
  /** The service in the request's SigV4 credential scope. */
  readonly signedFor: string;
  readonly action: string;
  readonly account: string | undefined;
}

function xml(action: string, namespace: string, result: string): string {
  return `<${action}Response xmlns="${namespace}"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>11111111-2222-3333-4444-555555555555</RequestId></ResponseMetadata></${action}Response>`;
}

function escape(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const seconds = (iso: string): number => Date.parse(iso) / 1000;

export class FakeAws {
  readonly requests: RecordedRequest[] = [];
  private readonly servers = new Map<Service, Server>();
  private readonly urls = new Map<Service, string>();

  constructor(
    readonly accounts: Record<string, FakeAccount>,
    readonly options: { ambientAccount: string; deniedRoles?: string[]; pageSize?: number },
  ) {}

  async start(): Promise<void> {
    for (const service of SERVICES) {
      const server = createServer((request, response) => {
        void this.handle(service, request, response);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      this.servers.set(service, server);
      this.urls.set(service, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    }
  }

  url(service: Service): string {
    const url = this.urls.get(service);
    if (url === undefined) throw new Error('FakeAws is not started');
    return url;
  }

  /** The environment of a machine whose AWS credentials and endpoints are this fake's. */
  environment(): Record<string, string> {
    return {
      AWS_ACCESS_KEY_ID: AMBIENT_KEY_ID,
      AWS_SECRET_ACCESS_KEY: 'fake-secret-access-key',
      AWS_ENDPOINT_URL_IAM: this.url('iam'),
      AWS_ENDPOINT_URL_STS: this.url('sts'),
      AWS_ENDPOINT_URL_SECRETS_MANAGER: this.url('secretsmanager'),
      AWS_ENDPOINT_URL_SSM: this.url('ssm'),
    };
  }

  async close(): Promise<void> {
    for (const server of this.servers.values()) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  private get pageSize(): number {
    return this.options.pageSize ?? 2;
  }

  private async handle(server: Service, request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const authorization = request.headers.authorization ?? '';
    const scope = /Credential=([^/]+)\/\d{8}\/[^/]+\/([^/]+)\//.exec(authorization);
    const keyId = scope?.[1];
    const account =
      keyId === AMBIENT_KEY_ID
        ? this.options.ambientAccount
        : keyId?.startsWith('ASIA')
          ? keyId.slice(4)
          : undefined;
    const target = request.headers['x-amz-target'];
    const json = typeof target === 'string';
    const params = json ? new URLSearchParams() : new URLSearchParams(body);
    const input = json ? (JSON.parse(body || '{}') as Record<string, unknown>) : {};
    const action = json ? (String(target).split('.')[1] ?? '') : (params.get('Action') ?? '');
    this.requests.push({ server, signedFor: scope?.[2] ?? '', action, account });

    const model = account === undefined ? undefined : this.accounts[account];
    const send = (status: number, text: string, type: string) => {
      response.writeHead(status, {
        'content-type': type,
        'x-amzn-requestid': '11111111-2222-3333-4444-555555555555',
      });
      response.end(text);
    };
    const queryError = (status: number, code: string, message: string) =>
      send(
        status,
        `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${escape(message)}</Message></Error><RequestId>1</RequestId></ErrorResponse>`,
        'text/xml',
      );
    const jsonError = (code: string, message: string) =>
      send(400, JSON.stringify({ __type: code, message }), 'application/x-amz-json-1.1');

    if (server === 'sts') {
      if (action === 'GetCallerIdentity') {
        if (model === undefined)
          return queryError(403, 'InvalidClientTokenId', 'The security token is invalid');
        return send(
          200,
          xml(
            'GetCallerIdentity',
            'https://sts.amazonaws.com/doc/2011-06-15/',
            `<Arn>arn:aws:iam::${account}:user/developer</Arn><UserId>AIDAFAKE</UserId><Account>${account}</Account>`,
          ),
          'text/xml',
        );
      }
      if (action === 'AssumeRole') {
        const roleArn = params.get('RoleArn') ?? '';
        const target = /^arn:aws:iam::(\d{12}):role\//.exec(roleArn)?.[1];
        if (
          target === undefined ||
          this.options.deniedRoles?.includes(roleArn) ||
          this.accounts[target] === undefined
        ) {
          return queryError(
            403,
            'AccessDenied',
            `User is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
          );
        }
        const expires = new Date(Date.now() + 3_600_000).toISOString();
        return send(
          200,
          xml(
            'AssumeRole',
            'https://sts.amazonaws.com/doc/2011-06-15/',
            `<Credentials><AccessKeyId>ASIA${target}</AccessKeyId><SecretAccessKey>fake</SecretAccessKey><SessionToken>fake-session</SessionToken><Expiration>${expires}</Expiration></Credentials><AssumedRoleUser><Arn>${escape(roleArn)}/session</Arn><AssumedRoleId>AROAFAKE:session</AssumedRoleId></AssumedRoleUser>`,
          ),
          'text/xml',
        );
      }
      return queryError(400, 'InvalidAction', action);
    }

    if (model === undefined) {
      return json
        ? jsonError('UnrecognizedClientException', 'The security token included in the request is invalid')
        : queryError(403, 'InvalidClientTokenId', 'The security token is invalid');
    }
    if (model.denied?.includes(server) === true) {
      return json
        ? jsonError('AccessDeniedException', `not authorized to perform: ${server}:${action}`)
        : queryError(403, 'AccessDenied', `not authorized to perform: iam:${action}`);
    }

    const ns = 'https://iam.amazonaws.com/doc/2010-05-08/';
    if (server === 'iam') {
      const start = Number(params.get('Marker') ?? '0');
      const page = <T>(items: readonly T[]) => ({
        items: items.slice(start, start + this.pageSize),
        more:
          start + this.pageSize < items.length
            ? `<IsTruncated>true</IsTruncated><Marker>${start + this.pageSize}</Marker>`
            : '<IsTruncated>false</IsTruncated>',
      });
      switch (action) {
        case 'GetAccountSummary':
          return send(
            200,
            xml(
              action,
              ns,
              `<SummaryMap><entry><key>Users</key><value>${model.users.length}</value></entry><entry><key>AccountAccessKeysPresent</key><value>${model.rootKeys ?? 0}</value></entry></SummaryMap>`,
            ),
            'text/xml',
          );
        case 'ListUsers': {
          const { items, more } = page(model.users);
          const members = items
            .map(
              (user) =>
                `<member><Path>/</Path><UserName>${user.name}</UserName><UserId>AIDA${user.name.toUpperCase()}</UserId><Arn>arn:aws:iam::${account}:user/${user.name}</Arn><CreateDate>2023-01-01T00:00:00Z</CreateDate></member>`,
            )
            .join('');
          return send(200, xml(action, ns, `<Users>${members}</Users>${more}`), 'text/xml');
        }
        case 'ListAccessKeys': {
          const user = model.users.find((candidate) => candidate.name === params.get('UserName'));
          if (user === undefined) return queryError(404, 'NoSuchEntity', 'The user cannot be found.');
          const { items, more } = page(user.keys);
          const members = items
            .map(
              (key) =>
                `<member><UserName>${user.name}</UserName><AccessKeyId>${key.id}</AccessKeyId><Status>${key.status ?? 'Active'}</Status><CreateDate>${key.created}</CreateDate></member>`,
            )
            .join('');
          return send(
            200,
            xml(action, ns, `<AccessKeyMetadata>${members}</AccessKeyMetadata>${more}`),
            'text/xml',
          );
        }
        case 'GetAccessKeyLastUsed': {
          const id = params.get('AccessKeyId');
          const owner = model.users.find((user) => user.keys.some((key) => key.id === id));
          const key = owner?.keys.find((candidate) => candidate.id === id);
          if (owner === undefined || key === undefined) {
            return queryError(404, 'NoSuchEntity', `The Access Key with id ${id} cannot be found`);
          }
          const used =
            key.lastUsed === undefined
              ? '<ServiceName>N/A</ServiceName><Region>N/A</Region>'
              : `<LastUsedDate>${key.lastUsed}</LastUsedDate><ServiceName>${key.service ?? 's3'}</ServiceName><Region>us-east-1</Region>`;
          return send(
            200,
            xml(
              action,
              ns,
              `<UserName>${owner.name}</UserName><AccessKeyLastUsed>${used}</AccessKeyLastUsed>`,
            ),
            'text/xml',
          );
        }
        default:
          return queryError(400, 'InvalidAction', action);
      }
    }

    const region = /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(authorization)?.[1] ?? 'us-east-1';
    const start = Number(input.NextToken ?? '0');
    if (server === 'secretsmanager' && action === 'ListSecrets') {
      const items = model.secrets.slice(start, start + this.pageSize);
      return send(
        200,
        JSON.stringify({
          SecretList: items.map((secret) => ({
            ARN: `arn:aws:secretsmanager:${region}:${account}:secret:${secret.name}-AbCdEf`,
            Name: secret.name,
            RotationEnabled: secret.rotationEnabled ?? false,
            ...(secret.lastRotated === undefined ? {} : { LastRotatedDate: seconds(secret.lastRotated) }),
            ...(secret.lastAccessed === undefined ? {} : { LastAccessedDate: seconds(secret.lastAccessed) }),
            CreatedDate: seconds(secret.created),
            Tags: Object.entries(secret.tags ?? {}).map(([Key, Value]) => ({ Key, Value })),
          })),
          ...(start + this.pageSize < model.secrets.length
            ? { NextToken: String(start + this.pageSize) }
            : {}),
        }),
        'application/x-amz-json-1.1',
      );
    }
    if (server === 'ssm' && action === 'DescribeParameters') {
      const filters = (input.ParameterFilters ?? []) as { Key: string; Values: string[] }[];
      const types = filters.find((filter) => filter.Key === 'Type')?.Values;
      const all = model.parameters.filter(
        (parameter) => types === undefined || types.includes(parameter.type ?? 'SecureString'),
      );
      const items = all.slice(start, start + this.pageSize);
      return send(
        200,
        JSON.stringify({
          Parameters: items.map((parameter) => ({
            Name: parameter.name,
            ARN: `arn:aws:ssm:${region}:${account}:parameter${parameter.name}`,
            Type: parameter.type ?? 'SecureString',
            LastModifiedDate: seconds(parameter.lastModified),
            Version: 1,
            Tier: parameter.tier ?? 'Standard',
            DataType: 'text',
            Policies:
              parameter.expires === undefined
                ? []
                : [
                    {
                      PolicyText: JSON.stringify({
                        Type: 'Expiration',
                        Version: '1.0',
                        Attributes: { Timestamp: parameter.expires },
                      }),
                      PolicyType: 'Expiration',
                      PolicyStatus: 'Pending',
                    },
                  ],
          })),
          ...(start + this.pageSize < all.length ? { NextToken: String(start + this.pageSize) } : {}),
        }),
        'application/x-amz-json-1.1',
      );
    }
    return jsonError('InvalidAction', action);
  }
}
