import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { MANIFESTS, ROUTES } from '../../lambdas/functions/index.js';
import type { FunctionManifest } from '../../lambdas/shared/function-manifest.js';
import { API_HANDLER_IDS } from '../../lambdas/shared/routes.js';
import { COGNITO_USER_SCOPE } from '../../lambdas/shared/scopes.js';
import { constructId } from '../../lib/construct-id.js';
import { createVaultPilotApp } from '../../lib/vaultpilot-app.js';

const context = { 'aws:cdk:bundling-stacks': [] };

type Resource = { Properties: Record<string, unknown> };

/** Every API Gateway resource of the template by logical id, with its full path. */
function resourcePaths(template: Template): Map<string, string> {
  const resources = template.findResources('AWS::ApiGateway::Resource') as Record<
    string,
    { Properties: { PathPart: string; ParentId: { Ref?: string } } }
  >;
  const pathOf = (id: string): string => {
    const resource = resources[id];
    if (resource === undefined) return '';
    const parent = resource.Properties.ParentId.Ref;
    return `${parent === undefined ? '' : pathOf(parent)}/${resource.Properties.PathPart}`;
  };
  return new Map(Object.keys(resources).map((id) => [id, pathOf(id)]));
}

function resourceIdOf(method: Resource | undefined): string {
  return (method?.Properties.ResourceId as { Ref?: string } | undefined)?.Ref ?? '';
}

/** The logical id of the function that serves the secret store and Vault's API. */
function secretsFunctionId(template: Template): string {
  const functions = template.findResources('AWS::Lambda::Function', {
    Properties: { Description: Match.stringLikeRegexp('API: readSecret, ') },
  });
  const ids = Object.keys(functions);
  expect(ids).toHaveLength(1);
  return ids[0] ?? '';
}

function secretsFunctionVariables(template: Template): Record<string, unknown> {
  const fn = template.findResources('AWS::Lambda::Function')[secretsFunctionId(template)];
  return fn?.Properties.Environment.Variables as Record<string, unknown>;
}

describe('ApiStack', () => {
  let template: Template;
  let methods: Resource[];

  beforeAll(() => {
    const { stacks } = createVaultPilotApp({ context, nagChecks: false, cloudFormationValidation: false });
    template = Template.fromStack(stacks.api);
    methods = Object.values(template.findResources('AWS::ApiGateway::Method')) as Resource[];
  });

  const methodOf = (operationId: string, httpMethod?: string): Resource => {
    const method = methods.find(
      (candidate) =>
        candidate.Properties.OperationName === operationId &&
        (httpMethod === undefined || candidate.Properties.HttpMethod === httpMethod),
    );
    if (method === undefined) throw new Error(`No method with operationName ${operationId}`);
    return method;
  };

  it('has one function per handler id the routes use', () => {
    const used = new Set(ROUTES.map((route) => route.handler));
    expect(used.size).toBeLessThanOrEqual(API_HANDLER_IDS.length);
    template.resourceCountIs('AWS::Lambda::Function', used.size);
  });

  it('has one method per route, named by its operationId, validated', () => {
    for (const route of ROUTES) {
      const method = methodOf(route.operationId, route.method);
      expect(method.Properties.HttpMethod).toBe(route.method);
      expect(method.Properties.RequestValidatorId).toBeDefined();
    }
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', {
      ValidateRequestBody: true,
      ValidateRequestParameters: true,
    });
  });

  it.each(
    ROUTES.filter((route) => route.auth === 'token' && route.dialect !== 'vault').map(
      (route) => [route.operationId, route] as const,
    ),
  )('guards %s with the Cognito authorizer and its scopes', (operationId, route) => {
    const method = methodOf(operationId);
    expect(method.Properties.AuthorizationType).toBe('COGNITO_USER_POOLS');
    expect(methodOf(operationId, route.method).Properties.AuthorizationType).toBe('COGNITO_USER_POOLS');
    expect(method.Properties.AuthorizerId).toBeDefined();
    expect(method.Properties.AuthorizationScopes).toEqual([...route.scopes, COGNITO_USER_SCOPE]);
  });

  it.each(ROUTES.filter((route) => route.auth === 'none').map((route) => [route.operationId] as const))(
    'leaves the public route %s without an authorizer',
    (operationId) => {
      const method = methodOf(operationId);
      expect(method.Properties.AuthorizationType).toBe('NONE');
      expect(method.Properties.AuthorizerId).toBeUndefined();
    },
  );

  it.each(
    ROUTES.filter((route) => route.auth === 'token' && route.dialect === 'vault').map(
      (route) => [route.operationId, route] as const,
    ),
  )(
    "leaves the token of Vault's route %s (X-Vault-Token or Bearer) to the function, which verifies it",
    (operationId, route) => {
      const method = methodOf(operationId, route.method);
      expect(method.Properties.AuthorizationType).toBe('NONE');
      expect(method.Properties.AuthorizerId).toBeUndefined();
      const manifest: FunctionManifest = MANIFESTS[route.handler];
      expect(manifest.verifiesTokens).toBe(true);
    },
  );

  it("integrates each route with its own function, which this API's stage may invoke through one permission", () => {
    // Prepare
    const functions = template.findResources('AWS::Lambda::Function');
    const permissions = Object.values(template.findResources('AWS::Lambda::Permission')) as Resource[];

    // Assess: one statement per function (a statement per method took the secrets function's
    // resource policy past Lambda's 20 KB limit), scoped to this API and its stage.
    expect(permissions).toHaveLength(Object.keys(functions).length);
    const permitted = permissions.map((permission) => {
      expect(permission.Properties.Action).toBe('lambda:InvokeFunction');
      expect(permission.Properties.Principal).toBe('apigateway.amazonaws.com');
      const sourceArn = JSON.stringify(permission.Properties.SourceArn);
      expect(sourceArn).toContain(':execute-api:');
      expect(sourceArn).toMatch(/"\/",\{"Ref":"ApiDeploymentStage\w+"\},"\/\*\/\*"/);
      return JSON.stringify(permission.Properties.FunctionName);
    });
    expect(new Set(permitted).size).toBe(permitted.length);
    for (const route of ROUTES) {
      const integration = methodOf(route.operationId, route.method).Properties.Integration as {
        Type: string;
        Uri: unknown;
      };
      expect(integration.Type).toBe('AWS_PROXY');
      const uri = JSON.stringify(integration.Uri);
      const [functionId] = Object.keys(functions).filter((id) => uri.includes(`"${id}"`));
      expect(functionId, route.operationId).toBeDefined();
      expect(functionId?.startsWith(constructId(route.handler, 'Handler')), route.operationId).toBe(true);
    }
  });

  it('keeps health and openapi public', () => {
    expect(methodOf('getHealth').Properties.AuthorizationType).toBe('NONE');
    expect(methodOf('getOpenApiDocument').Properties.AuthorizationType).toBe('NONE');
  });

  it('authorizes with the user pool from the Auth stack', () => {
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', {
      Type: 'COGNITO_USER_POOLS',
      IdentitySource: 'method.request.header.Authorization',
      ProviderARNs: [{ 'Fn::ImportValue': Match.stringLikeRegexp('Auth:.*UserPool') }],
    });
  });

  it('logs access as JSON, traces, logs errors, throttles and never logs bodies', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'dev',
      TracingEnabled: true,
      AccessLogSetting: {
        DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AccessLogs'), 'Arn'] },
        Format: Match.stringLikeRegexp('^\\{"requestId":"\\$context.requestId"'),
      },
      MethodSettings: [
        Match.objectLike({
          HttpMethod: '*',
          ResourcePath: '/*',
          LoggingLevel: 'ERROR',
          DataTraceEnabled: false,
          ThrottlingRateLimit: 100,
          ThrottlingBurstLimit: 200,
        }),
      ],
    });
    const [stage] = Object.values(template.findResources('AWS::ApiGateway::Stage'));
    expect(() => {
      JSON.parse(stage?.Properties.AccessLogSetting.Format as string);
    }).not.toThrow();
  });

  it('puts the stage behind a WAF web ACL with per-IP and per-client rate limits (429 in the API error shape) and the managed rule sets', () => {
    template.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
      Rules: [
        Match.objectLike({
          Name: 'RateLimitPerIp',
          Action: { Block: Match.objectLike({ CustomResponse: Match.objectLike({ ResponseCode: 429 }) }) },
          Statement: { RateBasedStatement: Match.objectLike({ AggregateKeyType: 'IP' }) },
        }),
        Match.objectLike({
          Name: 'RateLimitPerClient',
          Priority: 1,
          Action: {
            Block: {
              CustomResponse: {
                ResponseCode: 429,
                CustomResponseBodyKey: 'TooManyRequests',
                ResponseHeaders: [{ Name: 'Retry-After', Value: '300' }],
              },
            },
          },
          Statement: {
            RateBasedStatement: {
              AggregateKeyType: 'CUSTOM_KEYS',
              CustomKeys: [
                { Header: { Name: 'authorization', TextTransformations: [{ Priority: 0, Type: 'NONE' }] } },
              ],
              Limit: 3000,
              EvaluationWindowSec: 300,
            },
          },
        }),
        Match.objectLike({
          // Vault's clients send the same token in X-Vault-Token (docs/vault-api.md).
          Name: 'RateLimitPerVaultToken',
          Priority: 2,
          Statement: {
            RateBasedStatement: Match.objectLike({
              CustomKeys: [
                { Header: { Name: 'x-vault-token', TextTransformations: [{ Priority: 0, Type: 'NONE' }] } },
              ],
              Limit: 3000,
            }),
          },
        }),
        Match.objectLike({
          Statement: {
            ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesCommonRuleSet' },
          },
        }),
        Match.objectLike({
          Statement: {
            ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesKnownBadInputsRuleSet' },
          },
        }),
      ],
    });
    const [webAcl] = Object.values(template.findResources('AWS::WAFv2::WebACL'));
    const body = JSON.parse(webAcl?.Properties.CustomResponseBodies.TooManyRequests.Content as string);
    expect(body).toEqual({
      error: { code: 'TooManyRequests', message: expect.any(String), requestId: expect.any(String) },
    });
    template.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      ResourceArn: Match.objectLike({
        'Fn::Join': Match.arrayWith([Match.arrayWith([Match.stringLikeRegexp('/stages/')])]),
      }),
      WebACLArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('WebAcl'), 'Arn'] },
    });
  });

  it('answers CORS preflights only for the dashboard origin', () => {
    const preflights = methods.filter((method) => method.Properties.HttpMethod === 'OPTIONS');
    expect(preflights.length).toBeGreaterThan(0);
    for (const preflight of preflights) {
      const integration = preflight.Properties.Integration as {
        IntegrationResponses: { ResponseParameters: Record<string, unknown> }[];
      };
      const origin = JSON.stringify(
        integration.IntegrationResponses[0]?.ResponseParameters[
          'method.response.header.Access-Control-Allow-Origin'
        ],
      );
      expect(origin).toContain('Distribution');
      expect(origin).not.toContain("'*'");
    }
  });

  it.each(['DEFAULT_4XX', 'DEFAULT_5XX', 'UNAUTHORIZED', 'ACCESS_DENIED', 'THROTTLED', 'WAF_FILTERED'])(
    'answers %s gateway errors with the security headers and the JSON error body',
    (responseType) => {
      template.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
        ResponseType: responseType,
        ResponseParameters: Match.objectLike({
          'gatewayresponse.header.Strict-Transport-Security':
            "'max-age=63072000; includeSubDomains; preload'",
          'gatewayresponse.header.X-Content-Type-Options': "'nosniff'",
          'gatewayresponse.header.X-Frame-Options': "'DENY'",
          'gatewayresponse.header.Cache-Control': "'no-store'",
        }),
        ResponseTemplates: {
          'application/json': Match.stringLikeRegexp(
            '^\\{"error":\\{"code":"[A-Za-z]+","message":\\$context.error.messageString,"requestId":"\\$context.requestId"\\}\\}$',
          ),
        },
      });
    },
  );

  it('serves every KV write route with PUT as well as POST, as the same operation', () => {
    const writes = ROUTES.filter((route) => route.alsoPut === true);
    expect(new Set(writes.map((route) => route.operationId))).toEqual(
      new Set([
        'writeSecret',
        'softDeleteSecretVersions',
        'undeleteSecretVersions',
        'destroySecretVersions',
        'writeSecretMetadata',
        // Vault's API (docs/vault-api.md) takes PUT and POST alike too.
        'writeVaultSecret',
        'deleteVaultSecretVersions',
        'undeleteVaultSecretVersions',
        'destroyVaultSecretVersions',
        'writeVaultSecretMetadata',
        // Vault's clients renew with either (and are refused alike: the token is not renewable),
        // and write the KV configuration with either (refused: it is fixed).
        'renewVaultToken',
        'writeVaultKvConfig',
      ]),
    );
    for (const route of writes) {
      expect(methodOf(route.operationId, 'POST')).toBeDefined();
      expect(methodOf(route.operationId, 'PUT')).toBeDefined();
    }
  });

  it("builds Vault's mount routes under the literal mount resource `/v1/secret`, with no `{mount}` variable", () => {
    // Prepare
    const paths = resourcePaths(template);
    const vaultMountRoutes = ROUTES.filter((route) => route.path.startsWith('/v1/{mount}/'));

    // Assess
    expect(vaultMountRoutes.length).toBeGreaterThan(0);
    expect([...paths.values()].filter((path) => path.includes('{mount}'))).toEqual([]);
    expect([...paths.values()]).toEqual(
      expect.arrayContaining([
        '/v1/secret',
        '/v1/secret/data/{path+}',
        '/v1/secret/metadata',
        '/v1/secret/config',
      ]),
    );
    for (const route of vaultMountRoutes) {
      const method = methodOf(route.operationId, route.method);
      expect(paths.get(resourceIdOf(method))).toBe(route.path.replace('{mount}', 'secret'));
      const parameters = (method.Properties.RequestParameters ?? {}) as Record<string, boolean>;
      expect(parameters['method.request.path.mount']).toBeUndefined();
      if (route.path.includes('{path+}')) expect(parameters['method.request.path.path']).toBe(true);
    }
    expect(secretsFunctionVariables(template).VAULTPILOT_VAULT_MOUNT).toBe('secret');
  });

  it('answers every other /v1 path and method with the secrets function: ANY /v1/{proxy+}, no authorizer', () => {
    // Prepare
    const paths = resourcePaths(template);
    const [catchAll, ...others] = methods.filter((method) => method.Properties.HttpMethod === 'ANY');

    // Assess: the only ANY method, on the greedy resource beside /v1/secret, /v1/sys and /v1/auth
    expect(others).toEqual([]);
    expect(catchAll?.Properties.OperationName).toBe('vaultUnknownPath');
    expect(paths.get(resourceIdOf(catchAll))).toBe('/v1/{proxy+}');
    expect(catchAll?.Properties.AuthorizationType).toBe('NONE');
    expect(catchAll?.Properties.AuthorizerId).toBeUndefined();
    expect(catchAll?.Properties.RequestParameters).toEqual({ 'method.request.path.proxy': true });
    const integration = catchAll?.Properties.Integration as { Type: string; Uri: unknown };
    expect(integration.Type).toBe('AWS_PROXY');
    expect(JSON.stringify(integration.Uri)).toContain(`"${secretsFunctionId(template)}","Arn"`);
    const children = [...paths.values()].filter((path) => /^\/v1\/[^/]+$/.test(path)).sort();
    expect(children).toEqual(['/v1/auth', '/v1/secret', '/v1/sys', '/v1/{proxy+}']);
  });

  it('gives the API functions that verify tokens the Cognito settings, and each only the tables it uses', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function'));
    for (const fn of functions) {
      const variables = fn.Properties.Environment.Variables as Record<string, unknown>;
      expect(variables).toMatchObject({ VAULTPILOT_RUNTIME: 'aws', VAULTPILOT_STAGE: 'dev' });
      expect(variables.VAULTPILOT_CORS_ORIGINS).toBeDefined();
      const isPublic = /getHealth|getOpenApiDocument/.test(String(fn.Properties.Description));
      if (isPublic) {
        expect(variables.VAULTPILOT_AUTH_MODE).toBeUndefined();
        expect(variables.VAULTPILOT_USER_POOL_ID).toBeUndefined();
      } else {
        expect(variables.VAULTPILOT_AUTH_MODE).toBe('cognito');
        expect(variables.VAULTPILOT_USER_POOL_ID).toBeDefined();
        // Both the dashboard's and the CLI's tokens are people's.
        expect(JSON.stringify(variables.VAULTPILOT_USER_CLIENT_IDS)).toMatch(/DashboardClient.*CliClient/s);
      }
      const tables = Object.keys(variables)
        .filter((name) => name.startsWith('VAULTPILOT_TABLE_'))
        .sort();
      const description = String(fn.Properties.Description);
      const isSecrets = description.includes('readSecret');
      const isPolicies = description.includes('listPolicies');
      const isAdmin = description.includes('rewrapDataKeys');
      const isInventory =
        description.includes('listCredentials') ||
        description.includes('startDiscoveryRun') ||
        description.includes('runExpiryCheck');
      const isAudit = description.includes('listAuditEvents');
      const isRotation = description.includes('rotateCredential');
      // Channel secrets in the secret store; a hold names a credential.
      const isNotifications = description.includes('listNotificationDeliveries');
      expect(tables).toEqual(
        isNotifications
          ? [
              'VAULTPILOT_TABLE_AUDIT',
              'VAULTPILOT_TABLE_CREDENTIALS',
              'VAULTPILOT_TABLE_SECRETS',
              'VAULTPILOT_TABLE_SETTINGS',
            ]
          : isRotation
            ? [
                // No secrets table: rotations and rollbacks run in the rotation worker.
                'VAULTPILOT_TABLE_AUDIT',
                'VAULTPILOT_TABLE_CREDENTIALS',
                'VAULTPILOT_TABLE_ROTATIONS',
                'VAULTPILOT_TABLE_SETTINGS',
              ]
            : isAudit
              ? ['VAULTPILOT_TABLE_AUDIT', 'VAULTPILOT_TABLE_SETTINGS']
              : isInventory
                ? ['VAULTPILOT_TABLE_AUDIT', 'VAULTPILOT_TABLE_CREDENTIALS', 'VAULTPILOT_TABLE_SETTINGS']
                : isSecrets
                  ? ['VAULTPILOT_TABLE_AUDIT', 'VAULTPILOT_TABLE_SECRETS', 'VAULTPILOT_TABLE_SETTINGS']
                  : isPolicies
                    ? ['VAULTPILOT_TABLE_AUDIT', 'VAULTPILOT_TABLE_SETTINGS']
                    : isAdmin
                      ? ['VAULTPILOT_TABLE_AUDIT', 'VAULTPILOT_TABLE_SECRETS']
                      : [],
      );
      // The audit API holds the keyring only for per-tenant HMAC keys (a narrower grant, audit.test.ts);
      // the rotations API none (the worker seals values).
      expect(variables.VAULTPILOT_KEYRING).toBe(
        isSecrets || isAdmin || isAudit || isNotifications ? 'kms' : undefined,
      );
    }
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (policy) =>
        policy.Properties.PolicyDocument.Statement as {
          Action: string | string[];
          Condition?: Record<string, Record<string, string>>;
        }[],
    );
    const dynamoActions = new Set(
      statements
        .flatMap((statement) => [statement.Action].flat())
        .filter((action) => action.startsWith('dynamodb:')),
    );
    expect([...dynamoActions].sort()).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:ConditionCheckItem',
      'dynamodb:DeleteItem',
      'dynamodb:DescribeTable',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
    // Data keys of the secrets key only with VaultPilot's encryption context (the audit API's
    // grant, narrowed to the HMAC key path, is checked in audit.test.ts).
    const dataKeyStatements = statements.filter(
      (statement) =>
        [statement.Action].flat().includes('kms:GenerateDataKey') &&
        statement.Condition?.StringEquals?.['kms:EncryptionContext:path'] === undefined &&
        // Encrypted SNS topics' keys, only through SNS (test messages; see notifier.test.ts).
        statement.Condition?.StringLike?.['kms:ViaService'] === undefined,
    );
    // The secrets API, and the notifications API for channel secrets: the rotation worker, not the
    // rotations API, seals pending and promoted values.
    expect(dataKeyStatements).toHaveLength(2);
    for (const statement of dataKeyStatements) {
      expect(statement.Condition).toEqual({
        StringEquals: { 'kms:EncryptionContext:service': 'vaultpilot' },
      });
    }
    // Re-wrapping is a separate grant (ReEncrypt only, same condition): the function that moves
    // data keys cannot open values, and the one that opens values cannot move keys.
    const rewrapStatements = statements.filter((statement) =>
      [statement.Action].flat().some((action) => action.startsWith('kms:ReEncrypt')),
    );
    expect(rewrapStatements).toHaveLength(1);
    expect([rewrapStatements[0]?.Action].flat().sort()).toEqual(['kms:ReEncryptFrom', 'kms:ReEncryptTo']);
    expect(rewrapStatements[0]?.Condition).toEqual({
      StringEquals: { 'kms:EncryptionContext:service': 'vaultpilot' },
    });
  });
});

describe('ApiStack with another Vault mount (`-c vaultMount=kv`)', () => {
  let template: Template;

  beforeAll(() => {
    const { stacks } = createVaultPilotApp({
      context: { ...context, vaultMount: 'kv' },
      nagChecks: false,
      cloudFormationValidation: false,
    });
    template = Template.fromStack(stacks.api);
  });

  it('builds the mount routes under /v1/kv, tells the function its mount, and keeps the catch-all', () => {
    // Act
    const paths = [...resourcePaths(template).values()];

    // Assess
    expect(paths).toEqual(expect.arrayContaining(['/v1/kv', '/v1/kv/data/{path+}', '/v1/{proxy+}']));
    expect(paths.filter((path) => path.startsWith('/v1/secret') || path.includes('{mount}'))).toEqual([]);
    expect(secretsFunctionVariables(template).VAULTPILOT_VAULT_MOUNT).toBe('kv');
    template.hasResourceProperties('AWS::ApiGateway::Method', {
      HttpMethod: 'ANY',
      OperationName: 'vaultUnknownPath',
    });
  });
});
