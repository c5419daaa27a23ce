/**
 * A VaultPilot Lambda function: one handler file bundled by esbuild, with the runtime settings,
 * logging, tracing and environment every function shares. Its role starts empty; the stacks add
 * exactly the grants each function needs.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Duration, Validations } from 'aws-cdk-lib';
import type { ISecurityGroup, ISubnet, IVpc } from 'aws-cdk-lib/aws-ec2';
import { Policy, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DEFAULT_TIMEOUT_SECONDS } from '../lambdas/shared/function-manifest.js';
import type { TableId } from '../lambdas/shared/tables.js';
import { LAMBDA_BUNDLE } from './lambda-bundle.js';
import { type DataStores, grantTableActions, TABLE_READ_ACTIONS } from './table-access.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Log retention of the functions' logs: long enough to investigate an incident, short enough to cost little. */
export const FUNCTION_LOG_RETENTION = RetentionDays.ONE_MONTH;

/** See LAMBDA_BUNDLE.banner. */
export const ESM_REQUIRE_SHIM = LAMBDA_BUNDLE.banner;

export function handlerEntry(handler: string): string {
  // Folders are kebab-case; API handler ids are camelCase (discoveryApi -> discovery-api).
  const folder = handler.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
  return fileURLToPath(new URL(`../lambdas/functions/${folder}/handler.ts`, import.meta.url));
}

export interface VaultPilotFunctionProps {
  /** The function's folder under `lambdas/functions/` (its `handler.ts` exports `handler`). */
  readonly handler: string;
  readonly description: string;
  readonly stage: string;
  /** Variables this function needs beyond the ones every function gets. */
  readonly environment?: Readonly<Record<string, string>>;
  readonly timeout?: Duration;
  readonly memorySize?: number;
  /** Where asynchronous invocations go after their retries fail. */
  readonly deadLetterQueue?: IQueue;
  /** Runs the function in these subnets of a VPC (to reach private resources); default: no VPC. */
  readonly network?: FunctionNetwork;
}

export interface FunctionNetwork {
  readonly vpc: IVpc;
  readonly subnets: readonly ISubnet[];
  readonly securityGroups: readonly ISecurityGroup[];
}

export class VaultPilotFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly logGroup: LogGroup;
  public readonly role: Role;

  constructor(scope: Construct, id: string, props: VaultPilotFunctionProps) {
    super(scope, id);
    const entry = handlerEntry(props.handler);
    if (!existsSync(entry)) throw new Error(`Handler file not found for "${props.handler}": ${entry}`);

    this.logGroup = new LogGroup(this, 'LogGroup', { retention: FUNCTION_LOG_RETENTION });
    // An own role instead of the default one: the default attaches the AWS managed
    // AWSLambdaBasicExecutionRole, which may write to any log group in the account.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `VaultPilot ${props.stage} ${props.handler} function`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry,
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(DEFAULT_TIMEOUT_SECONDS),
      role: this.role,
      logGroup: this.logGroup,
      tracing: Tracing.ACTIVE,
      ...(props.deadLetterQueue !== undefined
        ? { deadLetterQueueEnabled: true, deadLetterQueue: props.deadLetterQueue }
        : {}),
      ...(props.network !== undefined
        ? {
            vpc: props.network.vpc,
            vpcSubnets: { subnets: [...props.network.subnets] },
            securityGroups: [...props.network.securityGroups],
          }
        : {}),
      projectRoot: REPO_ROOT,
      depsLockFilePath: fileURLToPath(new URL('../package-lock.json', import.meta.url)),
      environment: {
        VAULTPILOT_RUNTIME: 'aws',
        VAULTPILOT_STAGE: props.stage,
        POWERTOOLS_SERVICE_NAME: 'vaultpilot',
        POWERTOOLS_METRICS_NAMESPACE: 'VaultPilot',
        LOG_LEVEL: 'INFO',
        NODE_OPTIONS: LAMBDA_BUNDLE.nodeOptions,
        ...props.environment,
      },
      // lib/lambda-bundle.ts: the same options the bundle tests and the lambda benchmark use.
      bundling: {
        format: OutputFormat.ESM,
        target: LAMBDA_BUNDLE.target,
        mainFields: [...LAMBDA_BUNDLE.mainFields],
        banner: LAMBDA_BUNDLE.banner,
        minify: LAMBDA_BUNDLE.minify,
        sourceMap: LAMBDA_BUNDLE.sourcemap,
        sourcesContent: LAMBDA_BUNDLE.sourcesContent,
        keepNames: LAMBDA_BUNDLE.keepNames,
        define: { ...LAMBDA_BUNDLE.define },
        // Bundle the AWS SDK rather than use the runtime's copy, so the SDK that runs is the
        // one in package-lock.json that the tests ran against.
        bundleAwsSDK: true,
        // Bundle with the esbuild in node_modules: synth needs no Docker.
        forceDockerBundling: false,
      },
    });

    if (props.network !== undefined) this.allowNetworkInterfaces();

    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is pinned on purpose: the esbuild target (node22) and the runtime move together in one reviewed change, not whenever aws-cdk-lib learns a newer runtime.',
    });
    Validations.of(this).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Active X-Ray tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no resource-level permissions; CDK adds exactly these two actions.',
    });
  }

  /**
   * What Lambda needs to attach a function to a VPC (the actions of the AWS managed
   * AWSLambdaVPCAccessExecutionRole, which an own role does not get by itself), in its own policy
   * so its acknowledgement covers nothing else.
   */
  private allowNetworkInterfaces(): void {
    const policy = new Policy(this, 'VpcAccess', {
      statements: [
        new PolicyStatement({
          actions: [
            'ec2:CreateNetworkInterface',
            'ec2:DescribeNetworkInterfaces',
            'ec2:DescribeSubnets',
            'ec2:DeleteNetworkInterface',
            'ec2:AssignPrivateIpAddresses',
            'ec2:UnassignPrivateIpAddresses',
          ],
          resources: ['*'],
        }),
      ],
    });
    this.role.attachInlinePolicy(policy);
    this.function.node.addDependency(policy);
    Validations.of(policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Lambda creates and deletes the network interfaces of a VPC function with the function role; the EC2 Describe actions take no resource-level permissions, and the interfaces do not exist before Lambda creates them. These are the actions of the AWS managed AWSLambdaVPCAccessExecutionRole, kept in an own inline policy.',
    });
  }

  /** Read access to each of the tables, and the variables that tell the function their names. */
  public grantTableReads(stores: DataStores, ids: readonly TableId[]): void {
    for (const id of ids) this.grantTableActions(stores, id, TABLE_READ_ACTIONS);
  }

  /** Exactly `actions` on one table (and its indexes), and the variable that names it. */
  public grantTableActions(stores: DataStores, id: TableId, actions: readonly string[]): void {
    const environment = grantTableActions(this.function, stores, id, actions);
    for (const [name, value] of Object.entries(environment)) this.function.addEnvironment(name, value);
  }
}
