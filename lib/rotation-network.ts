/**
 * The rotation worker's VPC placement, for databases in private subnets (context
 * `rotationVpcId`, `rotationSubnetIds`, optional `rotationSecurityGroupIds`). Built from ids, so
 * synth needs no lookup and no credentials. Without security groups the stack creates one that
 * allows outbound traffic only and exports its id: the database's security group then allows
 * ingress from it.
 *
 * A worker in a VPC still calls AWS APIs (DynamoDB, SQS, KMS, EventBridge, IAM, STS, and Secrets
 * Manager when used): its subnets need a NAT gateway, or VPC endpoints for each of them (IAM has
 * no VPC endpoint, so rotating IAM keys needs NAT). See docs/adr/0006-rotation.md.
 */
import { Annotations, CfnOutput, type Stack } from 'aws-cdk-lib';
import { SecurityGroup, Subnet, Vpc } from 'aws-cdk-lib/aws-ec2';
import type { RotationVpcSettings } from './stage-settings.js';
import type { FunctionNetwork } from './vaultpilot-function.js';

export function rotationWorkerNetwork(stack: Stack, settings: RotationVpcSettings): FunctionNetwork {
  // Explicit subnets decide where the function runs; the VPC's zones are not looked up.
  const vpc = Vpc.fromVpcAttributes(stack, 'RotationVpc', {
    vpcId: settings.vpcId,
    availabilityZones: stack.availabilityZones,
  });
  const subnets = settings.subnetIds.map((id) => {
    const subnet = Subnet.fromSubnetId(stack, `RotationSubnet-${id}`, id);
    Annotations.of(subnet).acknowledgeWarning(
      '@aws-cdk/aws-ec2:noSubnetRouteTableId',
      'Only the subnet id is used (the function runs in it); nothing reads its route table.',
    );
    return subnet;
  });
  if (settings.securityGroupIds.length > 0) {
    return {
      vpc,
      subnets,
      securityGroups: settings.securityGroupIds.map((id) =>
        SecurityGroup.fromSecurityGroupId(stack, `RotationSecurityGroup-${id}`, id),
      ),
    };
  }
  const group = new SecurityGroup(stack, 'RotationWorkerSecurityGroup', {
    vpc,
    description: 'VaultPilot rotation worker: outbound only; allow it into the databases it rotates',
    allowAllOutbound: true,
  });
  new CfnOutput(stack, 'RotationWorkerSecurityGroupId', {
    value: group.securityGroupId,
    description: 'Allow ingress from this security group to the databases VaultPilot rotates',
  });
  return { vpc, subnets, securityGroups: [group] };
}
