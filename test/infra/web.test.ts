import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { createVaultPilotApp, type VaultPilotStacks } from '../../lib/vaultpilot-app.js';

const context = { 'aws:cdk:bundling-stacks': [] };

describe('WebStack', () => {
  let template: Template;
  let stacks: VaultPilotStacks;

  beforeAll(() => {
    ({ stacks } = createVaultPilotApp({ context, nagChecks: false, cloudFormationValidation: false }));
    template = Template.fromStack(stacks.web);
  });

  it('keeps every bucket private, encrypted and TLS-only', () => {
    const buckets = template.findResources('AWS::S3::Bucket');
    expect(Object.keys(buckets)).toHaveLength(2);
    for (const bucket of Object.values(buckets)) {
      expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(bucket.Properties.BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      });
    }
    const policies = Object.values(template.findResources('AWS::S3::BucketPolicy'));
    expect(policies).toHaveLength(2);
    for (const policy of policies) {
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('versions the site bucket and logs its access to the log bucket', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      VersioningConfiguration: { Status: 'Enabled' },
      LoggingConfiguration: {
        DestinationBucketName: { Ref: Match.stringLikeRegexp('^LogBucket') },
        LogFilePrefix: 'site-bucket/',
      },
    });
  });

  it('serves the bucket through CloudFront with origin access control, HTTPS only, logged', () => {
    template.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    template.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultRootObject: 'index.html',
        Origins: [
          Match.objectLike({
            OriginAccessControlId: { 'Fn::GetAtt': [Match.stringLikeRegexp('OriginAccessControl'), 'Id'] },
          }),
        ],
        DefaultCacheBehavior: Match.objectLike({
          ViewerProtocolPolicy: 'redirect-to-https',
          ResponseHeadersPolicyId: { Ref: Match.stringLikeRegexp('^SecurityHeaders') },
        }),
        Logging: Match.objectLike({
          Bucket: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LogBucket'), 'RegionalDomainName'] },
        }),
        CustomErrorResponses: [
          { ErrorCode: 403, ResponseCode: 200, ResponsePagePath: '/index.html', ErrorCachingMinTTL: 300 },
          { ErrorCode: 404, ResponseCode: 200, ResponsePagePath: '/index.html', ErrorCachingMinTTL: 300 },
        ],
      }),
    });
  });

  it('sends strict security headers with every response', () => {
    template.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: Match.objectLike({
        SecurityHeadersConfig: {
          StrictTransportSecurity: {
            AccessControlMaxAgeSec: 63072000,
            IncludeSubdomains: true,
            Preload: true,
            Override: true,
          },
          ContentSecurityPolicy: { ContentSecurityPolicy: Match.anyValue(), Override: true },
          FrameOptions: { FrameOption: 'DENY', Override: true },
          ContentTypeOptions: { Override: true },
          ReferrerPolicy: { ReferrerPolicy: 'no-referrer', Override: true },
        },
      }),
    });
  });

  it('allows scripts only from its own origin and requests only to the API and the Cognito domain', () => {
    // Prepare
    const [policy] = Object.values(template.findResources('AWS::CloudFront::ResponseHeadersPolicy'));

    // Act: the deployed policy, its CloudFormation values written as JSON inside the text.
    const join = policy?.Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig.ContentSecurityPolicy
      .ContentSecurityPolicy['Fn::Join'] as [string, unknown[]];
    const directives = join[1]
      .map((part) => (typeof part === 'string' ? part : JSON.stringify(part)))
      .join('')
      .split('; ');

    // Assess
    expect(directives).toContain("default-src 'self'");
    expect(directives).toContain("script-src 'self'");
    expect(directives).toContain("frame-ancestors 'none'");
    expect(directives).toContain("object-src 'none'");
    expect(directives.filter((directive) => directive.startsWith('connect-src'))).toEqual([
      "connect-src 'self' https://*.execute-api." +
        '{"Ref":"AWS::Region"}.{"Ref":"AWS::URLSuffix"} https://vaultpilot-dev-' +
        '{"Ref":"AWS::AccountId"}.auth.{"Ref":"AWS::Region"}.amazoncognito.com',
    ]);
    expect(directives.join('; ')).not.toMatch(/unsafe-inline|unsafe-eval|\*\s|https:\s|data: \S*script/);
  });

  it('uses TLSv1.2_2021 when a custom domain and certificate are configured', () => {
    const { stacks } = createVaultPilotApp({
      context: {
        ...context,
        webDomainName: 'vault.example.com',
        webCertificateArn:
          'arn:aws:acm:us-east-1:123456789012:certificate/11111111-2222-3333-4444-555555555555',
      },
      nagChecks: false,
      cloudFormationValidation: false,
    });
    Template.fromStack(stacks.web).hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        Aliases: ['vault.example.com'],
        ViewerCertificate: Match.objectLike({
          MinimumProtocolVersion: 'TLSv1.2_2021',
          SslSupportMethod: 'sni-only',
        }),
      }),
    });
    expect(stacks.web.dashboardOrigin).toBe('https://vault.example.com');
  });
});

describe('WebContentStack', () => {
  let stacks: VaultPilotStacks;
  let template: Template;
  let outdir: string;

  beforeAll(() => {
    const built = createVaultPilotApp({ context, nagChecks: false, cloudFormationValidation: false });
    stacks = built.stacks;
    outdir = built.app.synth().directory;
    template = Template.fromStack(stacks.webContent);
  });

  it('deploys the hashed assets first, cached for a year and never pruned', () => {
    template.hasResourceProperties('Custom::CDKBucketDeployment', {
      DestinationBucketName: Match.objectLike({ 'Fn::Select': Match.anyValue() }),
      Include: ['assets/*'],
      Exclude: ['*'],
      Prune: false,
      SystemMetadata: { 'cache-control': 'public, max-age=31536000, immutable' },
    });
  });

  it('then deploys index.html and config.json, revalidated on every load, and invalidates the distribution', () => {
    template.hasResourceProperties('Custom::CDKBucketDeployment', {
      DestinationBucketName: Match.objectLike({ 'Fn::Select': Match.anyValue() }),
      Exclude: ['assets/*'],
      Prune: true,
      SystemMetadata: { 'cache-control': 'no-cache' },
      DistributionId: { 'Fn::ImportValue': Match.stringLikeRegexp('Distribution') },
      DistributionPaths: ['/*'],
      DependsOn: Match.absent(),
    });
    const [entry] = Object.entries(template.findResources('Custom::CDKBucketDeployment')).filter(
      ([, resource]) => resource.Properties.Prune === true,
    );
    expect(entry?.[1].DependsOn).toEqual(
      expect.arrayContaining([expect.stringMatching(/^DeployDashboardAssetsCustomResource/)]),
    );
  });

  it('writes config.json from deploy-time values: the API URL, the Cognito client and Hosted UI', () => {
    // Prepare
    const [entry] = Object.values(template.findResources('Custom::CDKBucketDeployment')).filter(
      (resource) => resource.Properties.Prune === true,
    );
    const keys = entry?.Properties.SourceObjectKeys as string[];
    const markers = entry?.Properties.SourceMarkers as Record<string, unknown>[];
    const index = markers.findIndex((marker) => Object.keys(marker).length > 0);
    const assetDir = join(outdir, `asset.${String(keys[index]).replace(/\.zip$/, '')}`);

    // Act
    let text = readFileSync(join(assetDir, 'config.json'), 'utf8');
    for (const [marker, value] of Object.entries(markers[index] ?? {})) {
      // Each marker stands for a CloudFormation value; its JSON, without quotes, keeps the file JSON.
      text = text.replaceAll(marker, `\${${JSON.stringify(value).replace(/"/g, "'")}}`);
    }
    const config = JSON.parse(text) as Record<string, any>;

    // Assess
    expect(config.stage).toBe('dev');
    expect(config.apiUrl).toMatch(/^https:\/\/\$\{.*ExportsOutputRefApi.*\}\.execute-api\./);
    expect(config.apiUrl).not.toMatch(/\/$/);
    expect(config.auth.clientId).toMatch(/ExportsOutputRefUserPoolDashboardClient/);
    expect(config.auth.issuer).toMatch(/ProviderURL/);
    expect(config.auth.authorizationEndpoint).toMatch(/UserPoolDomain.*\/oauth2\/authorize$/);
    expect(config.auth.tokenEndpoint).toMatch(/UserPoolDomain.*\/oauth2\/token$/);
    expect(config.auth.logoutEndpoint).toMatch(/UserPoolDomain.*\/logout$/);
    expect(config.auth.scopes).toEqual(['openid', 'email', 'profile', 'aws.cognito.signin.user.admin']);
    // The CLI's browser sign-in: its own client and the fixed loopback redirect that client lists.
    expect(config.cli.clientId).toMatch(/ExportsOutputRefUserPoolCliClient/);
    expect(config.cli.redirectUri).toBe('http://localhost:8976/callback');
  });

  it('sends Cognito back to /callback and /signed-out on the dashboard origin, code flow only, no secret', () => {
    Template.fromStack(stacks.auth).hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthScopes: Match.arrayWith(['openid', 'aws.cognito.signin.user.admin']),
      CallbackURLs: [
        {
          'Fn::Join': [
            '',
            ['https://', { 'Fn::ImportValue': Match.stringLikeRegexp('Distribution') }, '/callback'],
          ],
        },
      ],
      LogoutURLs: [
        {
          'Fn::Join': [
            '',
            ['https://', { 'Fn::ImportValue': Match.stringLikeRegexp('Distribution') }, '/signed-out'],
          ],
        },
      ],
      SupportedIdentityProviders: ['COGNITO'],
    });
  });
});
