/**
 * The dashboard's hosting: a private S3 bucket behind CloudFront with origin access control,
 * strict security headers, HTTPS only, and access logs of both. The dashboard is a single-page
 * app, so unknown paths answer index.html and the app routes them.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  CfnOutput,
  DefaultStackSynthesizer,
  Duration,
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
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  type CfnBucket,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import type { Construct } from 'constructs';

/** Context key of the CDK bootstrap qualifier, which names the asset bucket. */
const BOOTSTRAP_QUALIFIER_CONTEXT = '@aws-cdk/core:bootstrapQualifier';

/** The built dashboard when there is one, else the placeholder page. */
export function dashboardAssetsDir(): string {
  const built = fileURLToPath(new URL('../frontend/dist', import.meta.url));
  return existsSync(built) ? built : fileURLToPath(new URL('../frontend/public', import.meta.url));
}

/** The dashboard's content security policy: everything from its own origin, nothing framed. */
export const DASHBOARD_CSP =
  "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

export interface WebStackProps extends StackProps {
  readonly stage: string;
  /** A custom domain and its ACM certificate in us-east-1; without it, the CloudFront domain. */
  readonly domain?: { readonly domainName: string; readonly certificateArn: string };
}

export class WebStack extends Stack {
  public readonly siteBucket: Bucket;
  public readonly logBucket: Bucket;
  public readonly distribution: Distribution;
  public readonly responseHeadersPolicy: ResponseHeadersPolicy;
  public readonly deployment: BucketDeployment;
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

    this.responseHeadersPolicy = new ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: `VaultPilot ${props.stage} dashboard security headers`,
      securityHeadersBehavior: {
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(730),
          includeSubdomains: true,
          preload: true,
          override: true,
        },
        contentSecurityPolicy: { contentSecurityPolicy: DASHBOARD_CSP, override: true },
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

    this.deployment = this.deployDashboard();

    new CfnOutput(this, 'DashboardUrl', { value: this.dashboardOrigin });
  }

  /**
   * Copies the dashboard files to the bucket and invalidates the cache. The copying function is
   * aws-cdk-lib's; it gets an own role and log group instead of the AWS managed
   * AWSLambdaBasicExecutionRole, and its remaining grants are acknowledged below.
   */
  private deployDashboard(): BucketDeployment {
    const role = new Role(this, 'DeployDashboardRole', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'Copies the VaultPilot dashboard files into the site bucket',
    });
    const logGroup = new LogGroup(this, 'DeployDashboardLogs', { retention: RetentionDays.ONE_MONTH });
    logGroup.grantWrite(role);

    const deployment = new BucketDeployment(this, 'DeployDashboard', {
      sources: [Source.asset(dashboardAssetsDir())],
      destinationBucket: this.siteBucket,
      distribution: this.distribution,
      distributionPaths: ['/*'],
      memoryLimit: 256,
      role,
      logGroup,
    });

    const qualifier =
      (this.node.tryGetContext(BOOTSTRAP_QUALIFIER_CONTEXT) as string | undefined) ??
      DefaultStackSynthesizer.DEFAULT_QUALIFIER;
    const siteBucketId = this.getLogicalId(this.siteBucket.node.defaultChild as CfnBucket);
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
        `Resource::<${siteBucketId}.Arn>/*`,
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
    return deployment;
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
