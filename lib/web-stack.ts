/**
 * The dashboard's hosting: a private S3 bucket behind CloudFront with origin access control,
 * strict security headers, HTTPS only, and access logs of both. The dashboard is a single-page
 * app, so unknown paths answer index.html and the app routes them.
 *
 * Its contents come later, from `WebContentStack`: `config.json` names the Cognito app client and
 * the API, which are created after this stack (they need the dashboard's origin), so the files
 * are deployed by a stack that comes after both.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Aws,
  CfnOutput,
  DefaultStackSynthesizer,
  DockerImage,
  Duration,
  FileSystem,
  Fn,
  Stack,
  type StackProps,
  Validations,
} from 'aws-cdk-lib';
import { Certificate } from 'aws-cdk-lib/aws-certificatemanager';
import {
  AllowedMethods,
  CachePolicy,
  Distribution,
  HeadersFrameOption,
  HeadersReferrerPolicy,
  HttpVersion,
  ResponseHeadersPolicy,
  SecurityPolicyProtocol,
  ViewerProtocolPolicy,
} from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import type { IUserPoolClient, UserPool, UserPoolDomain } from 'aws-cdk-lib/aws-cognito';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, CacheControl, type ISource, Source } from 'aws-cdk-lib/aws-s3-deployment';
import type { Construct } from 'constructs';
import {
  CLI_REDIRECT_URI,
  type DashboardConfig,
  dashboardContentSecurityPolicy,
} from '../lambdas/shared/contracts/dashboard-config.js';
import { COGNITO_USER_SCOPE } from '../lambdas/shared/scopes.js';

/**
 * The scopes the dashboard asks Cognito for: the OpenID ones, and the one Cognito grants for
 * the user's own profile, which the API's user tokens carry (lambdas/shared/scopes.ts).
 */
export const DASHBOARD_OAUTH_SCOPES = ['openid', 'email', 'profile', COGNITO_USER_SCOPE] as const;

/** Context key of the CDK bootstrap qualifier, which names the asset bucket. */
const BOOTSTRAP_QUALIFIER_CONTEXT = '@aws-cdk/core:bootstrapQualifier';

const REPOSITORY_ROOT = fileURLToPath(new URL('..', import.meta.url));
const FRONTEND_DIR = join(REPOSITORY_ROOT, 'frontend');
/** The API contracts the dashboard imports: a change there changes the build. */
const CONTRACTS_DIR = join(REPOSITORY_ROOT, 'lambdas', 'shared', 'contracts');
/** Not part of the build's input: dependencies, earlier builds, tests. */
const NOT_SOURCES = ['node_modules', 'dist', 'coverage', '.vite', '**/*.test.ts', '**/*.test.tsx'];

/**
 * The dashboard as an asset: built during synth with `npm run build -w frontend` on this
 * machine (local bundling; no Docker), never committed. The asset hash is the sources' hash, so
 * a synth with unchanged sources reuses the build already in cdk.out. Without the frontend
 * workspace, the placeholder page in frontend/public.
 */
export function dashboardSource(): ISource {
  if (!existsSync(join(FRONTEND_DIR, 'package.json'))) return Source.asset(join(FRONTEND_DIR, 'public'));
  const assetHash = [FRONTEND_DIR, CONTRACTS_DIR]
    .map((dir) => FileSystem.fingerprint(dir, { exclude: NOT_SOURCES }))
    .join('-');
  return Source.asset(FRONTEND_DIR, {
    assetHash,
    bundling: {
      // Required by the type; never pulled, since local bundling always answers.
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22-alpine'),
      local: {
        tryBundle(outputDir: string): boolean {
          const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
          // Progress on stderr: cdk synth prints the template on stdout.
          const result = spawnSync(npm, ['run', 'build', '-w', 'frontend'], {
            cwd: REPOSITORY_ROOT,
            stdio: ['ignore', process.stderr, process.stderr],
          });
          if (result.status !== 0) {
            throw new Error(
              `npm run build -w frontend failed (${result.error?.message ?? `exit code ${result.status ?? 'none'}`})`,
            );
          }
          // Source maps stay on the build machine: the bucket serves only what the browser runs.
          cpSync(join(FRONTEND_DIR, 'dist'), outputDir, {
            recursive: true,
            filter: (source) => !source.endsWith('.map'),
          });
          return true;
        },
      },
    },
  });
}

/** The Cognito hosted domain's origin, from its prefix (the Auth stack creates the domain). */
export function cognitoHostedOrigin(domainPrefix: string): string {
  return `https://${domainPrefix}.auth.${Aws.REGION}.amazoncognito.com`;
}

/**
 * The API's origin as the dashboard's CSP can name it before the API exists. The REST API id is
 * assigned by API Gateway when the Api stack is deployed, after this one (it needs the
 * dashboard's origin for CORS), so the policy names API Gateway's regional endpoints of this
 * region and account's partition rather than the one API (see README, Dashboard).
 */
export function apiGatewayOriginPattern(): string {
  return `https://*.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}`;
}

export interface WebStackProps extends StackProps {
  readonly stage: string;
  /** The Cognito hosted domain's prefix: the dashboard may call its token endpoint. */
  readonly cognitoDomainPrefix: string;
  /** A custom domain and its ACM certificate in us-east-1; without it, the CloudFront domain. */
  readonly domain?: { readonly domainName: string; readonly certificateArn: string };
}

export class WebStack extends Stack {
  public readonly siteBucket: Bucket;
  public readonly logBucket: Bucket;
  public readonly distribution: Distribution;
  public readonly responseHeadersPolicy: ResponseHeadersPolicy;
  /** The dashboard's content security policy (connect-src: the API and Cognito). */
  public readonly contentSecurityPolicy: string;
  /** The export holding the site bucket's ARN, imported by `WebContentStack`. */
  public readonly siteBucketArnExport: string;
  /** The origin the dashboard is served from, e.g. `https://d111111abcdef8.cloudfront.net`. */
  public readonly dashboardOrigin: string;

  constructor(scope: Construct, id: string, props: WebStackProps) {
    super(scope, id, props);

    this.logBucket = new Bucket(this, 'LogBucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      // CloudFront standard logging writes with ACLs, which need object-writer ownership.
      objectOwnership: ObjectOwnership.OBJECT_WRITER,
      lifecycleRules: [{ expiration: Duration.days(365) }],
    });

    this.siteBucket = new Bucket(this, 'SiteBucket', {
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: BucketEncryption.S3_MANAGED,
      versioned: true,
      serverAccessLogsBucket: this.logBucket,
      serverAccessLogsPrefix: 'site-bucket/',
      // Old versions only serve a rollback; a month is enough for that.
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30) }],
    });

    this.contentSecurityPolicy = dashboardContentSecurityPolicy([
      apiGatewayOriginPattern(),
      cognitoHostedOrigin(props.cognitoDomainPrefix),
    ]);
    this.responseHeadersPolicy = new ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: `VaultPilot ${props.stage} dashboard security headers`,
      securityHeadersBehavior: {
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(730),
          includeSubdomains: true,
          preload: true,
          override: true,
        },
        contentSecurityPolicy: { contentSecurityPolicy: this.contentSecurityPolicy, override: true },
        frameOptions: { frameOption: HeadersFrameOption.DENY, override: true },
        contentTypeOptions: { override: true },
        referrerPolicy: { referrerPolicy: HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
    });

    this.distribution = new Distribution(this, 'Distribution', {
      comment: `VaultPilot ${props.stage} dashboard`,
      defaultRootObject: 'index.html',
      httpVersion: HttpVersion.HTTP2_AND_3,
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.siteBucket),
        viewerProtocolPolicy: ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: this.responseHeadersPolicy,
        compress: true,
      },
      // A single-page app: the app routes any path, so S3's 403/404 become index.html.
      errorResponses: [403, 404].map((httpStatus) => ({
        httpStatus,
        responseHttpStatus: 200,
        responsePagePath: '/index.html',
        ttl: Duration.minutes(5),
      })),
      enableLogging: true,
      logBucket: this.logBucket,
      logFilePrefix: 'cloudfront/',
      ...(props.domain !== undefined
        ? {
            domainNames: [props.domain.domainName],
            certificate: Certificate.fromCertificateArn(this, 'Certificate', props.domain.certificateArn),
            minimumProtocolVersion: SecurityPolicyProtocol.TLS_V1_2_2021,
          }
        : {}),
    });
    this.acknowledgeDistributionFindings(props.domain !== undefined);

    this.dashboardOrigin =
      props.domain !== undefined
        ? `https://${props.domain.domainName}`
        : `https://${this.distribution.distributionDomainName}`;

    new CfnOutput(this, 'DashboardUrl', { value: this.dashboardOrigin });
    // Named, so the content stack's deployment grant can be acknowledged by that name (cdk-nag
    // shows the grant's resource as the export it imports).
    this.siteBucketArnExport = `VaultPilot-${props.stage}-SiteBucketArn`;
    new CfnOutput(this, 'SiteBucketArn', {
      value: this.siteBucket.bucketArn,
      exportName: this.siteBucketArnExport,
    });
  }

  private acknowledgeDistributionFindings(hasCertificate: boolean): void {
    const distribution = Validations.of(this.distribution);
    if (!hasCertificate) {
      distribution.acknowledge({
        id: 'AwsSolutions-CFR4',
        reason:
          'Without a custom domain the distribution uses the *.cloudfront.net certificate, for which CloudFront fixes the security policy at TLSv1; set the webDomainName and webCertificateArn context to get TLSv1.2_2021.',
      });
    }
    distribution.acknowledge({
      id: 'AwsSolutions-CFR1',
      reason:
        'VaultPilot is deployed by each organisation for its own people wherever they are; which countries to block is theirs to decide, and sign-in is protected by Cognito, not by geography.',
    });
    distribution.acknowledge({
      id: 'AwsSolutions-CFR2',
      reason:
        'The distribution serves only the static dashboard files, no data and no API; the API stage has its own WAF web ACL. A CloudFront-scoped web ACL must live in us-east-1, which an env-agnostic stack cannot assume.',
    });
  }
}

/** What `/config.json` is made of in AWS: the Cognito app client and Hosted UI, and the API. */
export interface DashboardConfigSources {
  readonly userPool: UserPool;
  readonly dashboardClient: IUserPoolClient;
  /** The CLI's app client, announced in `cli` so `vaultpilot login` finds it. */
  readonly cliClient?: IUserPoolClient;
  readonly domain: UserPoolDomain;
  readonly api: RestApi;
}

/** The dashboard's runtime settings, resolved at deploy time (the dashboard contract). */
export function dashboardConfigOf(stage: string, sources: DashboardConfigSources): DashboardConfig {
  const hosted = sources.domain.baseUrl();
  return {
    // RestApi.url ends with a slash; the contract wants none.
    apiUrl: `https://${sources.api.restApiId}.execute-api.${Aws.REGION}.${Aws.URL_SUFFIX}/${sources.api.deploymentStage.stageName}`,
    stage,
    auth: {
      issuer: sources.userPool.userPoolProviderUrl,
      clientId: sources.dashboardClient.userPoolClientId,
      authorizationEndpoint: `${hosted}/oauth2/authorize`,
      tokenEndpoint: `${hosted}/oauth2/token`,
      logoutEndpoint: `${hosted}/logout`,
      scopes: [...DASHBOARD_OAUTH_SCOPES],
    },
    ...(sources.cliClient === undefined
      ? {}
      : { cli: { clientId: sources.cliClient.userPoolClientId, redirectUri: CLI_REDIRECT_URI } }),
  };
}

export interface WebContentStackProps extends StackProps {
  readonly stage: string;
  readonly site: WebStack;
  /** `/config.json`, with deploy-time values (API URL, Cognito client and endpoints). */
  readonly dashboardConfig: DashboardConfig;
}

/**
 * The dashboard's files in the site bucket, in two steps so a browser never sees a page whose
 * scripts are gone: first the content-hashed `assets/` (cached for a year, never pruned, so the
 * previous page still loads), then `index.html`, `config.json` and the other top-level files
 * (revalidated on every load), after which CloudFront's cache is invalidated.
 */
export class WebContentStack extends Stack {
  public readonly assetsDeployment: BucketDeployment;
  public readonly entryDeployment: BucketDeployment;

  constructor(scope: Construct, id: string, props: WebContentStackProps) {
    super(scope, id, props);
    this.addStackDependency(props.site);
    const siteBucketArnExport = props.site.siteBucketArnExport;
    const siteBucket = Bucket.fromBucketArn(this, 'SiteBucket', Fn.importValue(siteBucketArnExport));

    // The copying function is aws-cdk-lib's; it gets an own role and log group instead of the
    // AWS managed AWSLambdaBasicExecutionRole, and its remaining grants are acknowledged below.
    const role = new Role(this, 'DeployDashboardRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'Copies the VaultPilot dashboard files into the site bucket',
    });
    const logGroup = new LogGroup(this, 'DeployDashboardLogs', { retention: RetentionDays.ONE_MONTH });
    logGroup.grantWrite(role);

    const build = dashboardSource();
    this.assetsDeployment = new BucketDeployment(this, 'DeployDashboardAssets', {
      sources: [build],
      destinationBucket: siteBucket,
      exclude: ['*'],
      include: ['assets/*'],
      cacheControl: [
        CacheControl.setPublic(),
        CacheControl.maxAge(Duration.days(365)),
        CacheControl.immutable(),
      ],
      prune: false,
      memoryLimit: 256,
      role,
      logGroup,
    });
    this.entryDeployment = new BucketDeployment(this, 'DeployDashboard', {
      sources: [build, Source.jsonData('config.json', props.dashboardConfig)],
      destinationBucket: siteBucket,
      // Old assets stay (see above); everything else is exactly this build.
      exclude: ['assets/*'],
      cacheControl: [CacheControl.noCache()],
      distribution: props.site.distribution,
      distributionPaths: ['/*'],
      memoryLimit: 256,
      role,
      logGroup,
    });
    this.entryDeployment.node.addDependency(this.assetsDeployment);

    this.acknowledgeDeploymentFindings(role, siteBucketArnExport);
  }

  private acknowledgeDeploymentFindings(role: Role, siteBucketArnExport: string): void {
    const qualifier =
      (this.node.tryGetContext(BOOTSTRAP_QUALIFIER_CONTEXT) as string | undefined) ??
      DefaultStackSynthesizer.DEFAULT_QUALIFIER;
    const grants: ReadonlyArray<readonly [string, string]> = [
      [
        'Action::s3:GetBucket*',
        'reads the uploaded asset and lists the site bucket to sync it (grant made by BucketDeployment)',
      ],
      [
        'Action::s3:GetObject*',
        'reads the asset zip and the current site objects (grant made by BucketDeployment)',
      ],
      [
        'Action::s3:List*',
        'lists the asset and site buckets to compute the sync (grant made by BucketDeployment)',
      ],
      [
        'Action::s3:Abort*',
        'aborts its own failed multipart uploads to the site bucket (grant made by BucketDeployment)',
      ],
      [
        'Action::s3:DeleteObject*',
        'prunes files of the previous dashboard build from the site bucket (grant made by BucketDeployment)',
      ],
      [
        `Resource::arn:<AWS::Partition>:s3:::cdk-${qualifier}-assets-<AWS::AccountId>-<AWS::Region>/*`,
        'objects of the CDK bootstrap asset bucket; the asset key is known only at deploy time',
      ],
      [
        `Resource::${siteBucketArnExport}/*`,
        'the objects of the site bucket, which this function owns the contents of',
      ],
      [
        'Resource::*',
        'cloudfront:CreateInvalidation and GetInvalidation as BucketDeployment grants them, to invalidate the dashboard after each deploy',
      ],
    ];
    for (const [finding, why] of grants) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[${finding}]`,
        reason: `Dashboard deployment ${why}.`,
      });
    }
    const copier = this.node.children.find((child) =>
      child.node.id.startsWith('Custom::CDKBucketDeployment'),
    );
    if (copier === undefined)
      throw new Error('BucketDeployment handler not found; aws-cdk-lib changed its construct id');
    Validations.of(copier).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'The BucketDeployment handler (Python, with the AWS CLI layer) is built and versioned by aws-cdk-lib, which chooses its runtime; it runs only during deployments.',
    });
  }
}
