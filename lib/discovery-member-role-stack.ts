/**
 * The read-only role discovery assumes in a member account. Deploy its template in each account
 * VaultPilot should scan (e.g. with a CloudFormation StackSet); it trusts only the VaultPilot
 * account, and only with the external id the tenant configured (confused-deputy protection).
 * Synthesize it with `npx cdk synth -c discoveryMemberRole=true VaultPilot-DiscoveryMemberRole`.
 */
import { CfnOutput, CfnParameter, Stack, type StackProps } from 'aws-cdk-lib';
import { AccountPrincipal, Policy, Role } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { acknowledgeDiscoveryReads, discoveryReadStatements } from './discovery-access.js';
import { DISCOVERY_MEMBER_ROLE_NAME } from './stage-settings.js';

export class DiscoveryMemberRoleStack extends Stack {
  public readonly role: Role;

  constructor(scope: Construct, id: string, props: StackProps = {}) {
    super(scope, id, props);
    const trustedAccount = new CfnParameter(this, 'VaultPilotAccountId', {
      type: 'String',
      allowedPattern: '^\\d{12}$',
      description: 'The AWS account VaultPilot runs in (its discovery function assumes this role)',
    });
    const externalId = new CfnParameter(this, 'ExternalId', {
      type: 'String',
      noEcho: true,
      minLength: 2,
      maxLength: 1224,
      allowedPattern: '^[\\w+=,.@:/-]+$',
      description: 'The external id set for this account in the tenant discovery settings',
    });

    this.role = new Role(this, 'DiscoveryRole', {
      roleName: DISCOVERY_MEMBER_ROLE_NAME,
      description: 'VaultPilot discovery: lists credential metadata (never secret values)',
      assumedBy: new AccountPrincipal(trustedAccount.valueAsString).withConditions({
        StringEquals: { 'sts:ExternalId': externalId.valueAsString },
      }),
    });
    const policy = new Policy(this, 'DiscoveryReadPolicy', { statements: discoveryReadStatements() });
    policy.attachToRole(this.role);
    acknowledgeDiscoveryReads(policy);

    new CfnOutput(this, 'RoleArn', { value: this.role.roleArn, description: 'Add it to discovery settings' });
  }
}
