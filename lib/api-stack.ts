/**
 * The REST API, built from the route table (lambdas/shared/routes.ts): one function per handler
 * id, one resource per path segment, one method per route named by its operationId (which the
 * handler's middleware uses to find its route). API Gateway's Cognito authorizer is the first
 * gate; the handlers verify the token again themselves (ADR 0001).
 *
 * Vault's `/v1/{mount}/…` routes are built under the literal mount named at deploy time
 * (`/v1/<vaultMount>/…`): API Gateway refuses a greedy `/v1/{proxy+}` next to a sibling variable,
 * and that catch-all (`ANY`, the route `vaultUnknownPath`) is what answers every other `/v1` path
 * and method in Vault's shape instead of API Gateway's 403 "Missing Authentication Token"
 * (docs/vault-api.md). API Gateway resolves a request on the resource and method pair and falls
 * through to the catch-all when the specific resource lacks the method.
 */
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Aws, CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  AccessLogField,
  AccessLogFormat,
  AuthorizationType,
  CognitoUserPoolsAuthorizer,
  EndpointType,
  type IResource,
  Integration,
  IntegrationType,
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
import { MANIFESTS, ROUTES } from '../lambdas/functions/index.js';
import { type FunctionManifest, timeoutSecondsOf } from '../lambdas/shared/function-manifest.js';
import { type ApiHandlerId, routePathParameters, type RouteSpec } from '../lambdas/shared/routes.js';
import { COGNITO_USER_SCOPE } from '../lambdas/shared/scopes.js';
import { DEFAULT_VAULT_MOUNT, VaultMountSchema } from '../lambdas/shared/config.js';
import { addErrorResponses } from './api-error-responses.js';
import { ApiWebAcl } from './api-web-acl.js';
import { constructId } from './construct-id.js';
import { grantManifest } from './function-grants.js';
import type { SecretBackendSetting } from './stage-settings.js';
import type { DataStores } from './table-access.js';
import { VaultPilotFunction } from './vaultpilot-function.js';

export interface ApiStackProps extends StackProps {
  readonly stage: string;
  readonly stores: DataStores;
  readonly userPool: IUserPool;
  /** The dashboard's app client: tokens it issues are user tokens (VAULTPILOT_USER_CLIENT_IDS). */
  readonly dashboardClient: IUserPoolClient;
  /** The CLI's app client: its tokens are user tokens as well. */
  readonly cliClient?: IUserPoolClient;
  /** Browser origins allowed to call the API; the first is the dashboard's. */
  readonly allowedOrigins: readonly string[];
  /** Where the secret-sealing handlers keep secret versions; default DynamoDB. */
  readonly secretBackend?: SecretBackendSetting;
  /** The rotation worker, which runs explicit rollbacks for the rotations API. */
  readonly rotationWorker: IFunction;
  /** The From address of alert emails (a verified SES identity), for test messages. */
  readonly notifyFrom: string;
  /**
   * The Vault KV v2 mount under `/v1/`; default `secret` (the functions' own default). It names
   * the literal resource of the `/v1/{mount}/…` routes and is told to the function that serves them.
   */
  readonly vaultMount?: string;
}

/** The route-table variable of Vault's mount, built as a literal resource. */
const VAULT_MOUNT_VARIABLE = '{mount}';

export class ApiStack extends Stack {
  public readonly api: RestApi;
  public readonly authorizer: CognitoUserPoolsAuthorizer;
  public readonly requestValidator: RequestValidator;
  public readonly accessLogGroup: LogGroup;
  public readonly webAcl: ApiWebAcl;
  /** One function per handler id the route table uses. */
  public readonly handlers: ReadonlyMap<ApiHandlerId, VaultPilotFunction>;
  /** Each function's Lambda proxy integration, shared by its methods. */
  private readonly integrations = new Map<ApiHandlerId, Integration>();
  /** The Vault mount: the literal resource `/v1/<vaultMount>` and the function's `VAULTPILOT_VAULT_MOUNT`. */
  public readonly vaultMount: string;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const [dashboardOrigin] = props.allowedOrigins;
    if (dashboardOrigin === undefined) throw new Error('ApiStack needs at least the dashboard origin');
    // Checked here too: it becomes a resource name, and the function refuses at cold start what
    // this would let through.
    const mountCheck = VaultMountSchema.safeParse(props.vaultMount ?? DEFAULT_VAULT_MOUNT);
    if (!mountCheck.success) {
      throw new Error(
        `ApiStack vaultMount: ${mountCheck.error.issues.map((issue) => issue.message).join('; ')}`,
      );
    }
    this.vaultMount = mountCheck.data;

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
    for (const [handlerId, handler] of this.handlers) {
      this.integrations.set(handlerId, this.proxyIntegration(handler));
    }
    for (const route of ROUTES) this.addRoute(route);

    this.webAcl = new ApiWebAcl(this, 'WebAcl', {
      stageArn: this.api.deploymentStage.stageArn,
      metricPrefix: `vaultpilot-${props.stage}`,
    });

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the VaultPilot API' });
  }

  /**
   * The Lambda proxy integration of a function, and the one permission that lets this API's stage
   * invoke it. CDK's LambdaIntegration adds a permission per method instead: the secrets function
   * serves 46 methods, whose statements (about 465 bytes each) would take its resource policy past
   * Lambda's 20,480-byte limit, failing the deployment, and they were also 103 of the stack's
   * 500 resources. The one statement is scoped to this API and stage; within them, only the
   * methods this stack integrates with the function can reach it.
   */
  private proxyIntegration(handler: VaultPilotFunction): Integration {
    handler.function.addPermission('ApiInvoke', {
      principal: new ServicePrincipal('apigateway.amazonaws.com'),
      sourceArn: this.api.arnForExecuteApi('*', '/*', this.api.deploymentStage.stageName),
    });
    return new Integration({
      type: IntegrationType.AWS_PROXY,
      integrationHttpMethod: 'POST',
      uri: `arn:${Aws.PARTITION}:apigateway:${Aws.REGION}:lambda:path/2015-03-31/functions/${handler.function.functionArn}/invocations`,
    });
  }

  /** One function per API manifest; its role and environment come from the manifest. */
  private createHandlers(props: ApiStackProps): Map<ApiHandlerId, VaultPilotFunction> {
    const handlers = new Map<ApiHandlerId, VaultPilotFunction>();
    for (const manifest of Object.values(MANIFESTS)) {
      if (manifest.trigger.kind !== 'api') continue;
      const handlerId = manifest.trigger.handler;
      const operations = new Set(
        ROUTES.filter((route) => route.handler === handlerId).map((route) => route.operationId),
      );
      const fn = new VaultPilotFunction(this, constructId(handlerId, 'Handler'), {
        handler: manifest.name,
        description: functionDescription(props.stage, [...operations]),
        stage: props.stage,
        timeout: Duration.seconds(timeoutSecondsOf(manifest as FunctionManifest)),
      });
      grantManifest(fn, manifest, {
        stage: props.stage,
        stores: props.stores,
        ...(props.secretBackend === undefined ? {} : { secretBackend: props.secretBackend }),
        userPool: props.userPool,
        dashboardClient: props.dashboardClient,
        ...(props.cliClient === undefined ? {} : { cliClient: props.cliClient }),
        allowedOrigins: props.allowedOrigins,
        rotationWorker: props.rotationWorker,
        notifyFrom: props.notifyFrom,
      });
      // Test messages link to the dashboard, like the notifier's.
      const [dashboardOrigin] = props.allowedOrigins;
      if ((manifest as FunctionManifest).sendsNotifications === true && dashboardOrigin !== undefined) {
        fn.function.addEnvironment('VAULTPILOT_DASHBOARD_URL', dashboardOrigin);
      }
      // The function that serves Vault's `/v1/{mount}/…` routes is told the mount its literal
      // resource has, always (its own default and this stack's must not drift apart).
      const servesVaultMount = ROUTES.some(
        (route) => route.handler === handlerId && route.path.includes(`/${VAULT_MOUNT_VARIABLE}/`),
      );
      if (servesVaultMount) fn.function.addEnvironment('VAULTPILOT_VAULT_MOUNT', this.vaultMount);
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

  /** The resource path of a route: Vault's mount variable becomes the deployment's literal mount. */
  private resourcePathOf(route: RouteSpec): string {
    return route.path
      .split('/')
      .map((segment) => (segment === VAULT_MOUNT_VARIABLE ? this.vaultMount : segment))
      .join('/');
  }

  private addRoute(route: RouteSpec): Method {
    const integration = this.integrations.get(route.handler);
    if (integration === undefined) throw new Error(`No function for handler "${route.handler}"`);
    const resourcePath = this.resourcePathOf(route);
    const pathParameters = routePathParameters(resourcePath);
    const method = this.resourceFor(resourcePath).addMethod(route.method, integration, {
      operationName: route.operationId,
      requestValidator: this.requestValidator,
      ...(pathParameters.length > 0
        ? {
            requestParameters: Object.fromEntries(
              pathParameters.map((name) => [`method.request.path.${name}`, true]),
            ),
          }
        : {}),
      ...(route.auth === 'token' && route.dialect !== 'vault'
        ? {
            authorizationType: AuthorizationType.COGNITO,
            authorizer: this.authorizer,
            // A machine token needs one of the route's scopes; a user's access token carries
            // COGNITO_USER_SCOPE, and the handler then authorizes the user by group.
            authorizationScopes: [...route.scopes, COGNITO_USER_SCOPE],
          }
        : { authorizationType: AuthorizationType.NONE }),
    });
    if (route.auth === 'none' && route.method === 'ANY') {
      // The `/v1/{proxy+}` catch-all: its answer must not depend on a token, or a Vault client
      // with none would meet API Gateway's own 403 again.
      const reason = `ANY ${route.path} (${route.operationId}) answers only Vault's 404 {"errors":[]} (or 405 naming the allowed methods) for a /v1 path or method no other route serves, from the route table alone: it reads no token and reaches no data, so a Cognito authorizer would guard nothing and would turn those answers back into the gateway's 403 that Vault clients misreport as a permission error; every route that serves data keeps its token check in the function.`;
      Validations.of(method).acknowledge({ id: 'AwsSolutions-APIG4', reason });
      Validations.of(method).acknowledge({ id: 'AwsSolutions-COG4', reason });
    } else if (route.auth === 'none') {
      const reason = `${route.method} ${route.path} (${route.operationId}) is public by design: the route table marks it auth "none" (${route.summary}).`;
      Validations.of(method).acknowledge({ id: 'AwsSolutions-APIG4', reason });
      Validations.of(method).acknowledge({ id: 'AwsSolutions-COG4', reason });
    } else if (route.dialect === 'vault') {
      // docs/vault-api.md: Vault's clients send the token in X-Vault-Token, Bearer clients in
      // Authorization, and a Cognito authorizer reads exactly one header.
      const reason = `${route.method} ${route.path} (${route.operationId}) is a route of Vault's API, whose clients send the access token in X-Vault-Token or Authorization; a Cognito authorizer reads one header only, so the function verifies the token itself (aws-jwt-verify against the same user pool, the same scope and policy checks as every route) and WAF rate-limits per token in either header.`;
      Validations.of(method).acknowledge({ id: 'AwsSolutions-APIG4', reason });
      Validations.of(method).acknowledge({ id: 'AwsSolutions-COG4', reason });
    }
    return method;
  }
}

/** Lambda's limit on a function's description. */
const MAX_DESCRIPTION_LENGTH = 256;

/** The operations a function serves, as many as fit Lambda's limit, then how many more. */
function functionDescription(stage: string, operations: readonly string[]): string {
  const prefix = `VaultPilot ${stage} API: `;
  let shown = operations.length;
  const text = (count: number): string =>
    `${prefix}${operations.slice(0, count).join(', ')}${count < operations.length ? ` (+${operations.length - count} more)` : ''}`;
  while (shown > 1 && text(shown).length > MAX_DESCRIPTION_LENGTH) shown -= 1;
  return text(shown).slice(0, MAX_DESCRIPTION_LENGTH);
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
