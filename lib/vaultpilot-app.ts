/**
 * The VaultPilot CDK app: six stacks, wired stateful → stateless. The dashboard's hosting comes
 * before Auth and Api because both need its origin (sign-in redirects, CORS); Engines comes before
 * Api because the rotations API invokes the rotation worker for explicit rollbacks.
 */
import {
  App,
  type AppProps,
  CrossStackReferences,
  ReferenceStrength,
  type Stack,
  type StackProps,
  Tags,
  Validations,
} from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ApiStack } from './api-stack.js';
import { AuthStack } from './auth-stack.js';
import { DiscoveryMemberRoleStack } from './discovery-member-role-stack.js';
import { DEFAULT_NOTIFY_FROM, EnginesStack } from './engines-stack.js';
import { MonitoringStack } from './monitoring-stack.js';
import { type StageSettings, stageSettingsFrom } from './stage-settings.js';
import { StatefulStack } from './stateful-stack.js';
import { dashboardConfigOf, WebContentStack, WebStack } from './web-stack.js';

export interface VaultPilotStacks {
  readonly stateful: StatefulStack;
  readonly web: WebStack;
  readonly auth: AuthStack;
  readonly api: ApiStack;
  readonly engines: EnginesStack;
  readonly webContent: WebContentStack;
  readonly monitoring: MonitoringStack;
}

/** The stacks in the order they are created (and deployed). */
export function allStacks(stacks: VaultPilotStacks): Stack[] {
  return [
    stacks.stateful,
    stacks.web,
    stacks.auth,
    stacks.engines,
    stacks.api,
    stacks.webContent,
    stacks.monitoring,
  ];
}

/**
 * cdk-nag's AWS Solutions rules as a CDK validation plugin: synth fails on any finding that is
 * not acknowledged (with a reason) next to the resource it concerns.
 */
export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app, { verbose: true, writeSuppressionsToCloudFormation: true }),
  );
}

/** The context key CDK reads the default strength of cross-stack references from. */
const CROSS_STACK_REFERENCES_CONTEXT = '@aws-cdk/core:defaultCrossStackReferences';

export function addVaultPilotStacks(app: App, settings: StageSettings): VaultPilotStacks {
  const { stage } = settings;
  // Strong (export/import) references, chosen explicitly unless cdk.json chooses: CloudFormation
  // then refuses to delete the stateful stack, or a table, while a stateless stack still uses it.
  if (app.node.tryGetContext(CROSS_STACK_REFERENCES_CONTEXT) === undefined) {
    CrossStackReferences.of(app).consume(ReferenceStrength.STRONG);
  }
  // Env-agnostic on purpose: synth needs no credentials, and the account and region are the
  // ones `cdk deploy` runs with.
  const stackProps = (name: string, description: string): StackProps & { stage: string } => ({
    stackName: `VaultPilot-${stage}-${name}`,
    description: `VaultPilot (${stage}): ${description}`,
    stage,
  });
  const stackId = (name: string): string => `VaultPilot-${stage}-${name}`;

  const stateful = new StatefulStack(
    app,
    stackId('Stateful'),
    stackProps('Stateful', 'tables and keys (retained)'),
  );
  const web = new WebStack(app, stackId('Web'), {
    ...stackProps('Web', 'dashboard hosting (S3 + CloudFront)'),
    cognitoDomainPrefix: settings.cognitoDomainPrefix,
    ...(settings.webDomain !== undefined ? { domain: settings.webDomain } : {}),
  });
  const browserOrigins = [web.dashboardOrigin, ...settings.extraOrigins];
  const auth = new AuthStack(app, stackId('Auth'), {
    ...stackProps('Auth', 'Cognito user pool, clients and token trigger'),
    stores: stateful.dataStores,
    cognitoDomainPrefix: settings.cognitoDomainPrefix,
    dashboardOrigins: browserOrigins,
    threatProtection: settings.cognitoThreatProtection,
  });
  const engines = new EnginesStack(app, stackId('Engines'), {
    ...stackProps('Engines', 'scheduled engines and the event bus'),
    stores: stateful.dataStores,
    discovery: settings.discovery,
    secretBackend: settings.secretBackend,
    ...(settings.rotationVpc === undefined ? {} : { rotationVpc: settings.rotationVpc }),
    notify: {
      from: settings.notifyFrom ?? DEFAULT_NOTIFY_FROM,
      dashboardUrl: web.dashboardOrigin,
    },
  });
  const api = new ApiStack(app, stackId('Api'), {
    ...stackProps('Api', 'REST API built from the route table'),
    stores: stateful.dataStores,
    userPool: auth.userPool,
    dashboardClient: auth.dashboardClient,
    cliClient: auth.cliClient,
    allowedOrigins: browserOrigins,
    secretBackend: settings.secretBackend,
    // Explicit rollbacks run in the rotation worker, which the rotations API invokes.
    rotationWorker: engines.rotationWorker.function,
    notifyFrom: settings.notifyFrom ?? DEFAULT_NOTIFY_FROM,
    vaultMount: settings.vaultMount,
  });
  const webContent = new WebContentStack(app, stackId('WebContent'), {
    ...stackProps('WebContent', 'dashboard files and config.json'),
    site: web,
    dashboardConfig: dashboardConfigOf(stage, {
      userPool: auth.userPool,
      dashboardClient: auth.dashboardClient,
      cliClient: auth.cliClient,
      domain: auth.domain,
      api: api.api,
    }),
  });
  const monitoring = new MonitoringStack(app, stackId('Monitoring'), {
    ...stackProps('Monitoring', 'alarms and the alarm topic'),
    // Every function of the app, named by its construct id (MeHandler, DiscoveryEngine, …).
    functions: [
      auth.tokenClaimsTrigger,
      ...api.handlers.values(),
      ...[...engines.engines.values()].map((engine) => engine.function),
      engines.auditSequencer,
      engines.rotationWorker,
    ].map((fn) => ({ name: fn.node.id, function: fn.function })),
    apiStage: api.api.deploymentStage,
    deadLetterQueue: engines.deadLetterQueue,
    rotationDeadLetterQueue: stateful.rotationDeadLetterQueue,
    notifierDeadLetterQueue: engines.notifier.deadLetterQueue,
    ...(settings.alarmEmail !== undefined ? { alarmEmail: settings.alarmEmail } : {}),
  });

  // The read-only role for member accounts is deployed there, not here: only on request
  // (`-c discoveryMemberRole=true`), and independent of the stage.
  const memberRole: unknown = app.node.tryGetContext('discoveryMemberRole');
  if (memberRole === true || memberRole === 'true') {
    new DiscoveryMemberRoleStack(app, 'VaultPilot-DiscoveryMemberRole', {
      stackName: 'VaultPilot-DiscoveryMemberRole',
      description: 'VaultPilot: read-only role the discovery engine assumes in a member account',
    });
  }

  Tags.of(app).add('project', 'vaultpilot');
  Tags.of(app).add('stage', stage);
  return { stateful, web, auth, api, engines, webContent, monitoring };
}

export interface VaultPilotAppOptions {
  /** Context, as `cdk.json` or `-c` would give it (tests pass theirs here). */
  readonly context?: AppProps['context'];
  /** Run cdk-nag at synth (default true). */
  readonly nagChecks?: boolean;
  /**
   * Run CDK's built-in CloudFormation template validation at synth (default true). Tests that
   * only read templates turn it off: it costs seconds per synth.
   */
  readonly cloudFormationValidation?: boolean;
}

/** The whole app as `cdk synth` builds it: the stacks of the context's stage, checked by cdk-nag. */
export function createVaultPilotApp(options: VaultPilotAppOptions = {}): {
  app: App;
  stacks: VaultPilotStacks;
} {
  const app = new App({
    ...(options.context !== undefined ? { context: options.context } : {}),
    builtinCloudFormationValidation: options.cloudFormationValidation ?? true,
  });
  const stacks = addVaultPilotStacks(app, stageSettingsFrom(app.node));
  if (options.nagChecks ?? true) addNagChecks(app);
  return { app, stacks };
}
