/**
 * The REST API, built from the route table (lambdas/shared/routes.ts): one function per handler
 * id, one resource per path segment, one method per route named by its operationId (which the
 * handler's middleware uses to find its route). API Gateway's Cognito authorizer is the first
 * gate; the handlers verify the token again themselves (ADR 0001).
 */
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import {
  AccessLogField,
  AccessLogFormat,
  AuthorizationType,
  CognitoUserPoolsAuthorizer,
  EndpointType,
  type IResource,
  LambdaIntegration,
  LogGroupLogDestination,
  type Method,
  MethodLoggingLevel,
  RequestValidator,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { IUserPool, IUserPoolClient } from 'aws-cdk-lib/aws-cognito';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { CORS_ALLOWED_HEADERS, CORS_ALLOWED_METHODS } from '../lambdas/shared/http-headers.js';
import { type ApiHandlerId, ROUTES, routePathParameters, type RouteSpec } from '../lambdas/shared/routes.js';
import { COGNITO_USER_SCOPE } from '../lambdas/shared/scopes.js';
import type { TableId } from '../lambdas/shared/tables.js';
import { addErrorResponses } from './api-error-responses.js';
import { ApiWebAcl } from './api-web-acl.js';
import { constructId } from './construct-id.js';
import { grantSecretsManagerStore } from './secrets-manager-access.js';
import { grantRollbackInvoke, grantRotationQueueSend } from './rotation-access.js';
import type { SecretBackendSetting } from './stage-settings.js';
import { grantAuditHmacKeys, grantAuditSigning } from './audit-access.js';
import { type DataStores, grantEventPublishing } from './table-access.js';
import { VaultPilotFunction } from './vaultpilot-function.js';

/**
 * Tables each API handler may read. Typed over the handler ids, so a new handler cannot be
 * added without saying what it may touch; `health`, `me` and `openapi` touch none.
 */
export const API_HANDLER_TABLES: Readonly<Record<ApiHandlerId, readonly TableId[]>> = {
  health: [],
  me: [],
  openapi: [],
  // Policies and attachments are read from settings on every secret operation.
  secrets: ['secrets', 'settings'],
  policies: ['settings'],
  // Re-wrap reads secret version items through the table and its list index.
  admin: ['secrets'],
  // The chain, digests and events (through the query indexes); audit settings and HMAC keys.
  audit: ['audit', 'settings'],
  // The inventory, and the tenant's finding thresholds (settings) for evaluating changes.
  credentials: ['credentials', 'settings'],
  // Run records (credentials table) and discovery settings.
  discoveryApi: ['credentials', 'settings'],
  // Rotation records; credentials (targets, due times); policies and thresholds. No secret versions:
  // rotations and rollbacks run in the rotation worker.
  rotations: ['rotations', 'credentials', 'settings'],
};

/**
 * Writes each API handler makes, per table. The audit table gets PutItem (append) and GetItem
 * (the sink's idempotency check) only: no function may update or delete audit items.
 */
export const API_HANDLER_WRITES: Readonly<Record<ApiHandlerId, Partial<Record<TableId, readonly string[]>>>> =
  {
    health: {},
    me: {},
    openapi: {},
    secrets: {
      secrets: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      audit: ['dynamodb:PutItem', 'dynamodb:GetItem'],
    },
    policies: {
      settings: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      audit: ['dynamodb:PutItem', 'dynamodb:GetItem'],
    },
    // Re-wrap replaces the envelope of existing version items (a conditional UpdateItem), nothing else.
    admin: {
      secrets: ['dynamodb:UpdateItem'],
      audit: ['dynamodb:PutItem', 'dynamodb:GetItem'],
    },
    // Digests on demand append to the chain and put digests: conditional PutItem only. Settings:
    // the retention item and each tenant's wrapped HMAC key.
    audit: {
      audit: ['dynamodb:PutItem', 'dynamodb:GetItem'],
      settings: ['dynamodb:PutItem'],
    },
    // Conditional puts of credentials and their history; unregistering deletes a credential item.
    credentials: {
      credentials: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
      audit: ['dynamodb:PutItem', 'dynamodb:GetItem'],
    },
    // Queued runs and the tenant marker (credentials table); discovery settings (conditional put).
    discoveryApi: {
      credentials: ['dynamodb:PutItem'],
      settings: ['dynamodb:PutItem'],
      audit: ['dynamodb:PutItem', 'dynamodb:GetItem'],
    },
    // Rotation records, locks, pair slots and idempotency keys (conditional puts, lock release);
    // credentials' due times after a policy change; rotation policies.
    rotations: {
      rotations: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
      credentials: ['dynamodb:PutItem'],
      settings: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
      audit: ['dynamodb:PutItem', 'dynamodb:GetItem'],
    },
  };

/** API handlers that publish lifecycle events (findings of registered credentials, run requests). */
const PUBLISHES_EVENTS: ReadonlySet<ApiHandlerId> = new Set(['credentials', 'discoveryApi', 'rotations']);

/**
 * API handlers that use the secrets key, and what for: `seal` (GenerateDataKey, Decrypt) to seal
 * and open values, `rewrap` (ReEncrypt) to move data keys to the current key without them ever
 * leaving KMS. Neither use implies the other.
 */
const SECRETS_KEY_USE: Readonly<Partial<Record<ApiHandlerId, 'seal' | 'rewrap'>>> = {
  secrets: 'seal',
  admin: 'rewrap',
};
const SECRETS_KEY_ACTIONS = {
  seal: ['kms:GenerateDataKey', 'kms:Decrypt'],
  rewrap: ['kms:ReEncryptFrom', 'kms:ReEncryptTo'],
} as const;

/**
 * API handlers that keep secret versions through the SecretStore port, on either backend. Re-wrap
 * (`admin`) works on the secrets table only and refuses on the Secrets Manager backend.
 */
const USES_SECRET_STORE: ReadonlySet<ApiHandlerId> = new Set(['secrets']);

/**
 * Envelope encryption with the secrets key: data-key calls only for the VaultPilot encryption
 * context (`service = vaultpilot`, which the KMS keyring always sends), plus DescribeKey (which
 * takes no encryption context) to learn the current key ARN.
 */
function grantEnvelopeEncryption(fn: VaultPilotFunction, key: IKey, use: 'seal' | 'rewrap'): void {
  fn.function.addToRolePolicy(
    new PolicyStatement({
      actions: [...SECRETS_KEY_ACTIONS[use]],
      resources: [key.keyArn],
      conditions: { StringEquals: { 'kms:EncryptionContext:service': 'vaultpilot' } },
    }),
  );
  fn.function.addToRolePolicy(new PolicyStatement({ actions: ['kms:DescribeKey'], resources: [key.keyArn] }));
  fn.function.addEnvironment('VAULTPILOT_KEYRING', 'kms');
  fn.function.addEnvironment('VAULTPILOT_KMS_KEY_ID', key.keyArn);
}

export interface ApiStackProps extends StackProps {
  readonly stage: string;
  readonly stores: DataStores;
  readonly userPool: IUserPool;
  /** The dashboard's app client: tokens it issues are user tokens (VAULTPILOT_USER_CLIENT_IDS). */
  readonly dashboardClient: IUserPoolClient;
  /** Browser origins allowed to call the API; the first is the dashboard's. */
  readonly allowedOrigins: readonly string[];
  /** Where the secret-sealing handlers keep secret versions; default DynamoDB. */
  readonly secretBackend?: SecretBackendSetting;
  /** The rotation worker, which runs explicit rollbacks for the rotations API. */
  readonly rotationWorker: IFunction;
}

export class ApiStack extends Stack {
  public readonly api: RestApi;
  public readonly authorizer: CognitoUserPoolsAuthorizer;
  public readonly requestValidator: RequestValidator;
  public readonly accessLogGroup: LogGroup;
  public readonly webAcl: ApiWebAcl;
  /** One function per handler id the route table uses. */
  public readonly handlers: ReadonlyMap<ApiHandlerId, VaultPilotFunction>;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const [dashboardOrigin] = props.allowedOrigins;
    if (dashboardOrigin === undefined) throw new Error('ApiStack needs at least the dashboard origin');

    this.accessLogGroup = new LogGroup(this, 'AccessLogs', { retention: RetentionDays.THREE_MONTHS });
    this.api = new RestApi(this, 'Api', {
      restApiName: `vaultpilot-${props.stage}`,
      description: `VaultPilot ${props.stage} REST API`,
      endpointTypes: [EndpointType.REGIONAL],
      // Execution logging needs the account-level API Gateway logging role. It is an account
      // singleton other APIs may rely on, so it stays when this stack goes.
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: props.stage,
        accessLogDestination: new LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: accessLogFormat(),
        tracingEnabled: true,
        loggingLevel: MethodLoggingLevel.ERROR,
        // Never log request or response bodies: they can carry secret values.
        dataTraceEnabled: false,
        metricsEnabled: true,
        throttlingRateLimit: 100,
        throttlingBurstLimit: 200,
      },
      defaultCorsPreflightOptions: {
        allowOrigins: [...props.allowedOrigins],
        allowMethods: CORS_ALLOWED_METHODS.split(','),
        allowHeaders: CORS_ALLOWED_HEADERS.split(','),
        maxAge: Duration.hours(1),
      },
    });

    const loggingRole = this.api.node.tryFindChild('CloudWatchRole');
    if (loggingRole === undefined)
      throw new Error('RestApi CloudWatchRole not found; aws-cdk-lib changed its construct id');
    Validations.of(loggingRole).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        'The account-level API Gateway logging role serves every REST API in the account and region, so it cannot be scoped to this API; the AWS managed policy is the one AWS documents for it and grants only CloudWatch Logs writes.',
    });

    this.requestValidator = new RequestValidator(this, 'RequestValidator', {
      restApi: this.api,
      validateRequestBody: true,
      validateRequestParameters: true,
    });
    this.authorizer = new CognitoUserPoolsAuthorizer(this, 'Authorizer', {
      cognitoUserPools: [props.userPool],
      identitySource: 'method.request.header.Authorization',
    });
    addErrorResponses(this.api, dashboardOrigin);

    this.handlers = this.createHandlers(props);
    for (const route of ROUTES) this.addRoute(route);

    this.webAcl = new ApiWebAcl(this, 'WebAcl', {
      stageArn: this.api.deploymentStage.stageArn,
      metricPrefix: `vaultpilot-${props.stage}`,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the VaultPilot API' });
  }

  private createHandlers(props: ApiStackProps): Map<ApiHandlerId, VaultPilotFunction> {
    const handlers = new Map<ApiHandlerId, VaultPilotFunction>();
    const handlerIds = [...new Set(ROUTES.map((route) => route.handler))];
    for (const handlerId of handlerIds) {
      const operations = ROUTES.filter((route) => route.handler === handlerId).map(
        (route) => route.operationId,
      );
      const fn = new VaultPilotFunction(this, constructId(handlerId, 'Handler'), {
        handler: handlerId,
        description: `VaultPilot ${props.stage} API: ${operations.join(', ')}`,
        stage: props.stage,
        environment: {
          VAULTPILOT_AUTH_MODE: 'cognito',
          VAULTPILOT_USER_POOL_ID: props.userPool.userPoolId,
          VAULTPILOT_USER_CLIENT_IDS: props.dashboardClient.userPoolClientId,
          VAULTPILOT_CORS_ORIGINS: props.allowedOrigins.join(','),
        },
      });
      const keyUse = SECRETS_KEY_USE[handlerId];
      const seals = keyUse !== undefined;
      const backend: SecretBackendSetting = props.secretBackend ?? { kind: 'dynamodb' };
      // Secret versions live in the secrets table or in Secrets Manager, never both.
      const inSecretsManager = seals && backend.kind === 'secretsmanager';
      const usesStore = USES_SECRET_STORE.has(handlerId);
      const granted = (table: TableId): boolean => !(inSecretsManager && table === 'secrets');
      fn.grantTableReads(props.stores, API_HANDLER_TABLES[handlerId].filter(granted));
      for (const [table, actions] of Object.entries(API_HANDLER_WRITES[handlerId]) as [TableId, string[]][]) {
        if (granted(table)) fn.grantTableActions(props.stores, table, actions);
      }
      if (seals) fn.function.addEnvironment('VAULTPILOT_SECRET_BACKEND', backend.kind);
      // On Secrets Manager only the store's users seal anything; re-wrap has nothing to work on.
      if (keyUse !== undefined && (!inSecretsManager || usesStore)) {
        grantEnvelopeEncryption(fn, props.stores.secretsKey, keyUse);
      }
      if (backend.kind === 'secretsmanager' && usesStore) grantSecretsManagerStore(fn, backend.prefix);
      if (handlerId === 'audit') {
        // Signs digests on demand, serves the public key, hashes identifiers, publishes chain events.
        grantAuditSigning(fn, props.stores.auditSigningKey, { sign: true });
        grantAuditHmacKeys(fn, props.stores.secretsKey);
        for (const [name, value] of Object.entries(grantEventPublishing(fn.function, props.stores))) {
          fn.function.addEnvironment(name, value);
        }
      }
      if (handlerId === 'rotations') {
        // Requests are queued for the worker; a rollback is run by the worker, invoked directly.
        // The function itself holds no provider rights and no secrets key.
        grantRotationQueueSend(fn, props.stores);
        grantRollbackInvoke(fn, props.rotationWorker);
      }
      if (PUBLISHES_EVENTS.has(handlerId)) {
        for (const [name, value] of Object.entries(grantEventPublishing(fn.function, props.stores))) {
          fn.function.addEnvironment(name, value);
        }
      }
      handlers.set(handlerId, fn);
    }
    return handlers;
  }

  /** The resource of a path, created segment by segment (`{param}` and `{param+}` included). */
  private resourceFor(path: string): IResource {
    return path
      .split('/')
      .filter((segment) => segment.length > 0)
      .reduce<IResource>(
        (parent, segment) => parent.getResource(segment) ?? parent.addResource(segment),
        this.api.root,
      );
  }

  private addRoute(route: RouteSpec): Method {
    const handler = this.handlers.get(route.handler);
    if (handler === undefined) throw new Error(`No function for handler "${route.handler}"`);
    const pathParameters = routePathParameters(route.path);
    const method = this.resourceFor(route.path).addMethod(
      route.method,
      new LambdaIntegration(handler.function, { allowTestInvoke: false }),
      {
        operationName: route.operationId,
        requestValidator: this.requestValidator,
        ...(pathParameters.length > 0
          ? {
              requestParameters: Object.fromEntries(
                pathParameters.map((name) => [`method.request.path.${name}`, true]),
              ),
            }
          : {}),
        ...(route.auth === 'token'
          ? {
              authorizationType: AuthorizationType.COGNITO,
              authorizer: this.authorizer,
              // A machine token needs one of the route's scopes; a user's access token carries
              // COGNITO_USER_SCOPE, and the handler then authorizes the user by group.
              authorizationScopes: [...route.scopes, COGNITO_USER_SCOPE],
            }
          : { authorizationType: AuthorizationType.NONE }),
      },
    );
    if (route.auth === 'none') {
      const reason = `${route.method} ${route.path} (${route.operationId}) is public by design: the route table marks it auth "none" (${route.summary}).`;
      Validations.of(method).acknowledge({ id: 'AwsSolutions-APIG4', reason });
      Validations.of(method).acknowledge({ id: 'AwsSolutions-COG4', reason });
    }
    return method;
  }
}

/** JSON access log lines: who called what, how it went and how long it took; never a body. */
function accessLogFormat(): AccessLogFormat {
  return AccessLogFormat.custom(
    JSON.stringify({
      requestId: AccessLogField.contextRequestId(),
      extendedRequestId: AccessLogField.contextExtendedRequestId(),
      requestTime: AccessLogField.contextRequestTime(),
      ip: AccessLogField.contextIdentitySourceIp(),
      userAgent: AccessLogField.contextIdentityUserAgent(),
      httpMethod: AccessLogField.contextHttpMethod(),
      resourcePath: AccessLogField.contextResourcePath(),
      status: AccessLogField.contextStatus(),
      protocol: AccessLogField.contextProtocol(),
      responseLength: AccessLogField.contextResponseLength(),
      responseLatency: AccessLogField.contextResponseLatency(),
      integrationLatency: AccessLogField.contextIntegrationLatency(),
      integrationStatus: AccessLogField.contextIntegrationStatus(),
      errorMessage: AccessLogField.contextErrorMessage(),
      authorizerError: AccessLogField.contextAuthorizerError(),
      wafResponseCode: AccessLogField.contextWafResponseCode(),
      subject: AccessLogField.contextAuthorizerClaims('sub'),
      clientId: AccessLogField.contextAuthorizerClaims('client_id'),
      xrayTraceId: AccessLogField.contextXrayTraceId(),
    }),
  );
}
