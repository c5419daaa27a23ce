/**
 * The AWS WAF web ACL in front of the REST API stage: a per-IP rate limit first (cheapest, stops
 * floods before anything else is evaluated), then the AWS managed common rule set and known bad
 * inputs. Requests that match nothing are allowed; API Gateway and the handlers decide the rest.
 */
import { CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';

export interface ApiWebAclProps {
  /** ARN of the API Gateway stage to protect. */
  readonly stageArn: string;
  /** Metric name prefix, e.g. `vaultpilot-dev`. */
  readonly metricPrefix: string;
  /** Requests one IP may send in any five minutes before it is blocked. */
  readonly requestsPerIpPer5Minutes?: number;
}

function visibility(metricName: string): CfnWebACL.VisibilityConfigProperty {
  return { cloudWatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName };
}

function managedRuleGroup(name: string, priority: number, metricPrefix: string): CfnWebACL.RuleProperty {
  return {
    name,
    priority,
    overrideAction: { none: {} },
    statement: { managedRuleGroupStatement: { vendorName: 'AWS', name } },
    visibilityConfig: visibility(`${metricPrefix}-${name}`),
  };
}

export class ApiWebAcl extends Construct {
  public readonly webAcl: CfnWebACL;
  public readonly association: CfnWebACLAssociation;

  constructor(scope: Construct, id: string, props: ApiWebAclProps) {
    super(scope, id);
    const { metricPrefix } = props;
    this.webAcl = new CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility(`${metricPrefix}-api`),
      rules: [
        {
          name: 'RateLimitPerIp',
          priority: 0,
          action: { block: {} },
          statement: {
            rateBasedStatement: {
              aggregateKeyType: 'IP',
              limit: props.requestsPerIpPer5Minutes ?? 1000,
              evaluationWindowSec: 300,
            },
          },
          visibilityConfig: visibility(`${metricPrefix}-RateLimitPerIp`),
        },
        managedRuleGroup('AWSManagedRulesCommonRuleSet', 1, metricPrefix),
        managedRuleGroup('AWSManagedRulesKnownBadInputsRuleSet', 2, metricPrefix),
      ],
    });
    this.association = new CfnWebACLAssociation(this, 'Association', {
      resourceArn: props.stageArn,
      webAclArn: this.webAcl.attrArn,
    });
  }
}
