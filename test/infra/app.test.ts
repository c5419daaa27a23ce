import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { StageSettingsError } from '../../lib/stage-settings.js';
import { allStacks, createVaultPilotApp } from '../../lib/vaultpilot-app.js';

const context = { 'aws:cdk:bundling-stacks': [] };

describe('the VaultPilot app', () => {
  it('names the stacks VaultPilot-<stage>-<Name> and tags them', () => {
    const { app, stacks } = createVaultPilotApp({
      context: { ...context, stage: 'prod' },
      nagChecks: false,
      cloudFormationValidation: false,
    });
    app.synth();
    expect(allStacks(stacks).map((stack) => stack.stackName)).toEqual([
      'VaultPilot-prod-Stateful',
      'VaultPilot-prod-Web',
      'VaultPilot-prod-Auth',
      'VaultPilot-prod-Engines',
      'VaultPilot-prod-Api',
      'VaultPilot-prod-WebContent',
      'VaultPilot-prod-Monitoring',
    ]);
    for (const stack of allStacks(stacks)) {
      // Env-agnostic: synth needs no account, region or credentials.
      expect(stack.environment).toBe('aws://unknown-account/unknown-region');
    }
    Template.fromStack(stacks.stateful).hasResourceProperties('AWS::DynamoDB::Table', {
      Tags: Match.arrayWith([
        { Key: 'project', Value: 'vaultpilot' },
        { Key: 'stage', Value: 'prod' },
      ]),
    });
  });

  it('defaults to the dev stage', () => {
    const { stacks } = createVaultPilotApp({ context, nagChecks: false, cloudFormationValidation: false });
    expect(stacks.api.stackName).toBe('VaultPilot-dev-Api');
  });

  it('lets stateless stacks depend on the stateful one, never the other way', () => {
    const { app, stacks } = createVaultPilotApp({
      context,
      nagChecks: false,
      cloudFormationValidation: false,
    });
    app.synth();
    expect(stacks.stateful.dependencies).toEqual([]);
    // Auth and Engines read tables; the API handlers read none yet, so Api does not depend on it.
    for (const stack of [stacks.auth, stacks.engines]) {
      expect(stack.dependencies.includes(stacks.stateful), stack.stackName).toBe(true);
    }
  });

  it('allows browser calls from extra origins and lets them sign in', () => {
    const { stacks } = createVaultPilotApp({
      context: { ...context, extraOrigins: 'http://localhost:5173' },
      nagChecks: false,
      cloudFormationValidation: false,
    });
    const client = Object.values(
      Template.fromStack(stacks.auth).findResources('AWS::Cognito::UserPoolClient'),
    )[0];
    expect(client?.Properties.CallbackURLs).toContain('http://localhost:5173/callback');
    const [fn] = Object.values(Template.fromStack(stacks.api).findResources('AWS::Lambda::Function'));
    expect(JSON.stringify(fn?.Properties.Environment.Variables.VAULTPILOT_CORS_ORIGINS)).toContain(
      'http://localhost:5173',
    );
  });

  it('tells the function that serves /v1/{mount}/ its mount (vaultMount), and no other function', () => {
    // Prepare
    const { stacks } = createVaultPilotApp({
      context: { ...context, vaultMount: 'kv' },
      nagChecks: false,
      cloudFormationValidation: false,
    });

    // Act
    const functions = Object.values(
      Template.fromStack(stacks.api).findResources('AWS::Lambda::Function'),
    ) as { Properties: { Handler?: string; Environment?: { Variables?: Record<string, unknown> } } }[];
    const withMount = functions.filter(
      (fn) => fn.Properties.Environment?.Variables?.VAULTPILOT_VAULT_MOUNT !== undefined,
    );

    // Assess
    expect(functions.length).toBeGreaterThan(3);
    expect(withMount).toHaveLength(1);
    expect(withMount[0]?.Properties.Environment?.Variables?.VAULTPILOT_VAULT_MOUNT).toBe('kv');
    expect(withMount[0]?.Properties.Environment?.Variables?.VAULTPILOT_SECRET_BACKEND).toBeDefined();
  });

  it.each([
    [{ stage: 'Prod' }, /Context "stage"/],
    [{ extraOrigins: 'http://evil.example.com' }, /Context "extraOrigins"/],
    [{ webDomainName: 'vault.example.com' }, /go together/],
    [{ cognitoDomainPrefix: '-bad-' }, /Context "cognitoDomainPrefix"/],
    [{ alarmEmail: 'not-an-address' }, /Context "alarmEmail"/],
    [{ vaultMount: 'sys' }, /Context "vaultMount"/],
    [{ vaultMount: 'kv/v2' }, /Context "vaultMount"/],
  ])('refuses bad context %j', (bad, message) => {
    expect(() =>
      createVaultPilotApp({
        context: { ...context, ...bad },
        nagChecks: false,
        cloudFormationValidation: false,
      }),
    ).toThrow(StageSettingsError);
    expect(() =>
      createVaultPilotApp({
        context: { ...context, ...bad },
        nagChecks: false,
        cloudFormationValidation: false,
      }),
    ).toThrow(message);
  });
});
