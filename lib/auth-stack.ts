/**
 * Identity: the Cognito user pool (people, with groups as roles and an immutable tenant
 * attribute), the dashboard's app client, the `vaultpilot` resource server whose scopes machine
 * clients are granted, the hosted domain, and the pre-token-generation trigger that puts the
 * tenant into access tokens (ADR 0001).
 */
import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import {
  AccountRecovery,
  type AuthFlow,
  ClientAttributes,
  FeaturePlan,
  LambdaVersion,
  Mfa,
  OAuthScope,
  ResourceServerScope,
  StandardThreatProtectionMode,
  StringAttribute,
  UserPool,
  type UserPoolClient,
  UserPoolClientIdentityProvider,
  type UserPoolDomain,
  UserPoolOperation,
  type UserPoolResourceServer,
} from 'aws-cdk-lib/aws-cognito';
import type { Construct } from 'constructs';
import { CLI_REDIRECT_URI } from '../lambdas/shared/contracts/dashboard-config.js';
import { RESOURCE_SERVER_ID, SCOPE_DESCRIPTIONS, SCOPES } from '../lambdas/shared/scopes.js';
import type { DataStores } from './table-access.js';
import { MANIFESTS } from '../lambdas/functions/index.js';
import { grantManifest } from './function-grants.js';
import { VaultPilotFunction } from './vaultpilot-function.js';

/** The roles of DESIGN.md as Cognito groups; a lower precedence wins when a user is in several. */
export const USER_GROUPS = [
  { name: 'admin', precedence: 0, description: 'Manages policies, settings, clients and users' },
  { name: 'operator', precedence: 10, description: 'Manages secrets and credentials, runs rotations' },
  { name: 'auditor', precedence: 20, description: 'Reads and verifies the audit log' },
  { name: 'viewer', precedence: 30, description: 'Sees metadata, never secret values' },
] as const;

/** The custom attribute holding the user's tenant; Cognito names it `custom:tenant`. */
export const TENANT_ATTRIBUTE = 'tenant';

/**
 * Cognito threat protection (context `cognitoThreatProtection`): `enforced` (default) blocks
 * sign-ins with compromised credentials and answers risky ones with MFA or a block (adaptive
 * authentication); `audit` only scores and logs them; both need the Plus feature plan. `off`
 * drops to the Essentials plan (still enough for the V3 token trigger) with no threat protection.
 */
export type CognitoThreatProtection = 'enforced' | 'audit' | 'off';
export const COGNITO_THREAT_PROTECTION_SETTINGS: readonly CognitoThreatProtection[] = [
  'enforced',
  'audit',
  'off',
];

const THREAT_PROTECTION: Readonly<
  Record<CognitoThreatProtection, { plan: FeaturePlan; mode: StandardThreatProtectionMode }>
> = {
  enforced: { plan: FeaturePlan.PLUS, mode: StandardThreatProtectionMode.FULL_FUNCTION },
  audit: { plan: FeaturePlan.PLUS, mode: StandardThreatProtectionMode.AUDIT_ONLY },
  off: { plan: FeaturePlan.ESSENTIALS, mode: StandardThreatProtectionMode.NO_ENFORCEMENT },
};

export interface AuthStackProps extends StackProps {
  readonly stage: string;
  readonly stores: DataStores;
  readonly cognitoDomainPrefix: string;
  /** Origins the dashboard is served from; sign-in redirects back only to these. */
  readonly dashboardOrigins: readonly string[];
  /** Default `enforced`. */
  readonly threatProtection?: CognitoThreatProtection;
}

export class AuthStack extends Stack {
  public readonly userPool: UserPool;
  public readonly dashboardClient: UserPoolClient;
  /** The `vaultpilot` CLI's browser sign-in: a public client with its fixed loopback redirect. */
  public readonly cliClient: UserPoolClient;
  public readonly resourceServer: UserPoolResourceServer;
  public readonly domain: UserPoolDomain;
  public readonly tokenClaimsTrigger: VaultPilotFunction;

  constructor(scope: Construct, id: string, props: AuthStackProps) {
    super(scope, id, props);
    const threatProtection = props.threatProtection ?? 'enforced';
    const { plan, mode } = THREAT_PROTECTION[threatProtection];

    this.userPool = new UserPool(this, 'UserPool', {
      userPoolName: `vaultpilot-${props.stage}`,
      // Administrators invite people; nobody signs up into a credential vault on their own.
      selfSignUpEnabled: false,
      signInAliases: { username: true, email: true },
      signInCaseSensitive: false,
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      customAttributes: {
        // Immutable: a user never changes tenant; that would be a new user.
        [TENANT_ATTRIBUTE]: new StringAttribute({ minLen: 1, maxLen: 64, mutable: false }),
      },
      mfa: Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false, email: false },
      passwordPolicy: {
        minLength: 14,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
        passwordHistorySize: 5,
      },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      // Plus: threat protection (compromised credentials, adaptive authentication) can enforce;
      // Essentials or Plus: access tokens of client-credentials grants can be customized (trigger V3).
      featurePlan: plan,
      standardThreatProtectionMode: mode,
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    if (plan !== FeaturePlan.PLUS) {
      // cdk-nag's COG8 asks for the Plus plan; only an explicit `off` leaves it.
      Validations.of(this.userPool).acknowledge({
        id: 'AwsSolutions-COG8',
        reason:
          'The deployment set cognitoThreatProtection=off (Essentials plan, no threat protection) on purpose; the default is enforced on the Plus plan',
      });
    }

    for (const group of USER_GROUPS) {
      this.userPool.addGroup(`${group.name}Group`, {
        groupName: group.name,
        description: group.description,
        precedence: group.precedence,
      });
    }

    this.resourceServer = this.userPool.addResourceServer('ResourceServer', {
      identifier: RESOURCE_SERVER_ID,
      userPoolResourceServerName: `VaultPilot ${props.stage} API`,
      scopes: Object.entries(SCOPES).map(
        ([key, scope]) =>
          new ResourceServerScope({
            scopeName: scope.slice(RESOURCE_SERVER_ID.length + 1),
            scopeDescription: SCOPE_DESCRIPTIONS[key as keyof typeof SCOPES],
          }),
      ),
    });

    // A browser app cannot keep a secret: a public client, authorization code with PKCE (the
    // dashboard always sends an S256 challenge), through the Hosted UI, which asks for the TOTP
    // code the pool requires (MFA REQUIRED above). The dashboard contract: the code comes back to
    // /callback, sign-out lands on /signed-out.
    this.dashboardClient = this.addPeopleClient('DashboardClient', 'dashboard', {
      authFlows: { userSrp: true },
      callbackUrls: props.dashboardOrigins.map((origin) => `${origin}/callback`),
      logoutUrls: props.dashboardOrigins.map((origin) => `${origin}/signed-out`),
    });
    // The CLI signs people in the same way, but the code returns to a loopback server (RFC 8252):
    // Cognito allows plain http only to localhost, with the port listed, hence a fixed port. Its
    // own client, so the dashboard's redirects stay https.
    this.cliClient = this.addPeopleClient('CliClient', 'cli', {
      authFlows: {},
      callbackUrls: [CLI_REDIRECT_URI],
    });

    this.domain = this.userPool.addDomain('Domain', {
      cognitoDomain: { domainPrefix: props.cognitoDomainPrefix },
    });

    const manifest = MANIFESTS.tokenClaims;
    this.tokenClaimsTrigger = new VaultPilotFunction(this, 'TokenClaimsTrigger', {
      handler: manifest.name,
      description: `VaultPilot ${props.stage}: adds custom:tenant to access tokens (pre token generation)`,
      stage: props.stage,
      memorySize: manifest.memoryMb,
      timeout: Duration.seconds(manifest.timeoutSeconds),
    });
    grantManifest(this.tokenClaimsTrigger, manifest, { stage: props.stage, stores: props.stores });
    this.userPool.addTrigger(
      UserPoolOperation.PRE_TOKEN_GENERATION_CONFIG,
      this.tokenClaimsTrigger.function,
      LambdaVersion.V3_0,
    );

    new CfnOutput(this, 'UserPoolId', { value: this.userPool.userPoolId });
    new CfnOutput(this, 'DashboardClientId', { value: this.dashboardClient.userPoolClientId });
    new CfnOutput(this, 'CliClientId', { value: this.cliClient.userPoolClientId });
    new CfnOutput(this, 'HostedDomain', { value: this.domain.baseUrl() });
  }
  /** A public app client people sign in with: code flow with PKCE, short tokens, tenant read-only. */
  private addPeopleClient(
    id: string,
    name: string,
    options: { authFlows: AuthFlow; callbackUrls: string[]; logoutUrls?: string[] },
  ): UserPoolClient {
    return this.userPool.addClient(id, {
      userPoolClientName: name,
      generateSecret: false,
      authFlows: options.authFlows,
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE, OAuthScope.COGNITO_ADMIN],
        callbackUrls: options.callbackUrls,
        ...(options.logoutUrls === undefined ? {} : { logoutUrls: options.logoutUrls }),
      },
      supportedIdentityProviders: [UserPoolClientIdentityProvider.COGNITO],
      accessTokenValidity: Duration.minutes(15),
      idTokenValidity: Duration.minutes(15),
      refreshTokenValidity: Duration.hours(8),
      refreshTokenRotationGracePeriod: Duration.seconds(10),
      authSessionValidity: Duration.minutes(3),
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      readAttributes: new ClientAttributes()
        .withStandardAttributes({ email: true, emailVerified: true, fullname: true, preferredUsername: true })
        .withCustomAttributes(TENANT_ATTRIBUTE),
      // The tenant is never writable by the user: it decides which data they see.
      writeAttributes: new ClientAttributes().withStandardAttributes({
        fullname: true,
        preferredUsername: true,
      }),
    });
  }
}
