import { Match, Template } from 'aws-cdk-lib/assertions';
import { CLI_REDIRECT_URI } from '../../lambdas/shared/contracts/dashboard-config.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROLES } from '../../lambdas/core/principal.js';
import { RESOURCE_SERVER_ID, SCOPE_DESCRIPTIONS, SCOPES } from '../../lambdas/shared/scopes.js';
import { createVaultPilotApp } from '../../lib/vaultpilot-app.js';

const context = { 'aws:cdk:bundling-stacks': [] };

describe('AuthStack', () => {
  let template: Template;
  let settingsTableArn: unknown;

  beforeAll(() => {
    const { stacks } = createVaultPilotApp({ context, nagChecks: false, cloudFormationValidation: false });
    template = Template.fromStack(stacks.auth);
    settingsTableArn = stacks.auth.resolve(stacks.stateful.tables.settings.tableArn);
  });

  it('has a retained, deletion-protected user pool without self sign-up', () => {
    template.hasResource('AWS::Cognito::UserPool', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        DeletionProtection: 'ACTIVE',
        AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
        AccountRecoverySetting: { RecoveryMechanisms: [{ Name: 'verified_email', Priority: 1 }] },
      }),
    });
  });

  it('requires TOTP MFA and a strong password, with threat protection enforced', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      MfaConfiguration: 'ON',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
      Policies: {
        PasswordPolicy: Match.objectLike({
          MinimumLength: 14,
          RequireLowercase: true,
          RequireUppercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
        }),
      },
      UserPoolTier: 'PLUS',
      UserPoolAddOns: { AdvancedSecurityMode: 'ENFORCED' },
    });
  });

  it('has an immutable custom tenant attribute', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      Schema: Match.arrayWith([
        Match.objectLike({ Name: 'tenant', AttributeDataType: 'String', Mutable: false }),
      ]),
    });
  });

  it('has one group per role of the domain', () => {
    template.resourceCountIs('AWS::Cognito::UserPoolGroup', ROLES.length);
    for (const role of ROLES)
      template.hasResourceProperties('AWS::Cognito::UserPoolGroup', { GroupName: role });
  });

  it('has the vaultpilot resource server with every scope and its description', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolResourceServer', {
      Identifier: RESOURCE_SERVER_ID,
      Scopes: Object.entries(SCOPES).map(([key, scope]) => ({
        ScopeName: scope.split('/')[1],
        ScopeDescription: SCOPE_DESCRIPTIONS[key as keyof typeof SCOPES],
      })),
    });
  });

  it('gives the dashboard a public PKCE client with short-lived tokens that can read but not write the tenant', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      ExplicitAuthFlows: ['ALLOW_USER_SRP_AUTH'],
      AllowedOAuthFlows: ['code'],
      PreventUserExistenceErrors: 'ENABLED',
      AccessTokenValidity: 15,
      IdTokenValidity: 15,
      TokenValidityUnits: Match.objectLike({ AccessToken: 'minutes', IdToken: 'minutes' }),
      ReadAttributes: Match.arrayWith(['custom:tenant']),
    });
    const [client] = Object.values(template.findResources('AWS::Cognito::UserPoolClient'));
    expect(client?.Properties.WriteAttributes).not.toContain('custom:tenant');
    expect(client?.Properties.WriteAttributes.length).toBeGreaterThan(0);
  });

  it('gives the CLI its own public PKCE client whose only redirect is the fixed localhost loopback', () => {
    const clients = Object.values(template.findResources('AWS::Cognito::UserPoolClient')).filter(
      (resource) => resource.Properties.ClientName === 'cli',
    );
    expect(clients).toHaveLength(1);
    const cli = clients[0]?.Properties;
    expect(cli.CallbackURLs).toEqual([CLI_REDIRECT_URI]);
    expect(CLI_REDIRECT_URI).toMatch(/^http:\/\/localhost:\d+\/callback$/);
    expect(cli.AllowedOAuthFlows).toEqual(['code']);
    expect(cli.GenerateSecret).toBe(false);
    expect(cli.EnableTokenRevocation).toBe(true);
    expect(cli.WriteAttributes).not.toContain('custom:tenant');
  });

  it('has a hosted domain', () => {
    template.resourceCountIs('AWS::Cognito::UserPoolDomain', 1);
  });

  it('runs the token-claims function as the V3 pre-token-generation trigger', () => {
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      LambdaConfig: {
        PreTokenGenerationConfig: {
          LambdaVersion: 'V3_0',
          LambdaArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^TokenClaimsTrigger'), 'Arn'] },
        },
      },
    });
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Principal: 'cognito-idp.amazonaws.com',
      Action: 'lambda:InvokeFunction',
    });
  });

  it('lets the trigger read nothing but single settings items', () => {
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    const dynamoStatements = policies.flatMap((policy) =>
      (
        policy.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]
      ).filter((statement) => [statement.Action].flat().some((action) => action.startsWith('dynamodb:'))),
    );
    expect(dynamoStatements).toEqual([
      { Action: 'dynamodb:GetItem', Effect: 'Allow', Resource: settingsTableArn },
    ]);
  });
});

describe('AuthStack threat protection (context cognitoThreatProtection)', () => {
  function userPoolOf(threatProtection: string, nagChecks = false) {
    const { app, stacks } = createVaultPilotApp({
      context: { ...context, cognitoThreatProtection: threatProtection },
      nagChecks,
      cloudFormationValidation: false,
    });
    return { app, template: Template.fromStack(stacks.auth) };
  }

  it.each([
    ['audit', 'PLUS', 'AUDIT'],
    ['off', 'ESSENTIALS', 'OFF'],
    ['enforced', 'PLUS', 'ENFORCED'],
  ])('maps %s to the %s plan with threat protection %s', (setting, tier, mode) => {
    // Act
    const { template } = userPoolOf(setting);

    // Assess
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      UserPoolTier: tier,
      UserPoolAddOns: { AdvancedSecurityMode: mode },
    });
  });

  it.each(['audit', 'off'])(
    'stays cdk-nag clean with %s (the Essentials plan of off acknowledged with its reason)',
    (setting) => {
      // Prepare
      const { app } = userPoolOf(setting, true);

      // Act / Assess: synth runs cdk-nag and throws on any unacknowledged finding (COG8 without Plus).
      expect(() => app.synth()).not.toThrow();
    },
  );

  it('refuses an unknown setting, naming the context key', () => {
    // Act / Assess
    expect(() => userPoolOf('strict')).toThrow(/cognitoThreatProtection/);
  });
});
