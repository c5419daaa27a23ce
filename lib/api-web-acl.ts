/**
 * The AWS WAF web ACL in front of the REST API stage: a per-IP rate limit first (cheapest, stops
 * floods before anything else is evaluated), a per-client rate limit keyed on the Authorization
 * header (each bearer token, so one noisy client cannot use up the stage's throttle for everyone
 * behind the same address), then the AWS managed common rule set and known bad inputs. Rate-limited
 * requests get 429 with Retry-After in the API's error shape. Requests that match nothing are
 * allowed; API Gateway and the handlers decide the rest.
 *
 * WAF cannot verify a token, so the per-client key is the header as sent: a made-up token only
 * spends its own budget, never another client's. A request without the header is not counted by
 * that rule (the per-IP rule still counts it).
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
  /** Requests one bearer token (Authorization header) may send in any five minutes. */
  readonly requestsPerClientPer5Minutes?: number;
}

const TOO_MANY_REQUESTS_BODY = 'TooManyRequests';

/** Blocks with the API's own 429: error shape, Retry-After of one evaluation window. */
const RATE_LIMITED: CfnWebACL.RuleActionProperty = {
  block: {
    customResponse: {
      responseCode: 429,
      customResponseBodyKey: TOO_MANY_REQUESTS_BODY,
      responseHeaders: [{ name: 'Retry-After', value: '300' }],
    },
  },
};

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
      customResponseBodies: {
        [TOO_MANY_REQUESTS_BODY]: {
          contentType: 'APPLICATION_JSON',
          // WAF answers before any function runs, so there is no Lambda request id to name.
          content: JSON.stringify({
            error: {
              code: 'TooManyRequests',
              message: 'Too many requests; try again later',
              requestId: 'waf',
            },
          }),
        },
      },
      rules: [
        {
          name: 'RateLimitPerIp',
          priority: 0,
          action: RATE_LIMITED,
          statement: {
            rateBasedStatement: {
              aggregateKeyType: 'IP',
              limit: props.requestsPerIpPer5Minutes ?? 1000,
              evaluationWindowSec: 300,
            },
          },
          visibilityConfig: visibility(`${metricPrefix}-RateLimitPerIp`),
        },
        {
          name: 'RateLimitPerClient',
          priority: 1,
          action: RATE_LIMITED,
          statement: {
            rateBasedStatement: {
              aggregateKeyType: 'CUSTOM_KEYS',
              customKeys: [
                { header: { name: 'authorization', textTransformations: [{ priority: 0, type: 'NONE' }] } },
              ],
              limit: props.requestsPerClientPer5Minutes ?? 3000,
              evaluationWindowSec: 300,
            },
          },
          visibilityConfig: visibility(`${metricPrefix}-RateLimitPerClient`),
        },
        {
          // Vault's clients (docs/vault-api.md) send the same token in X-Vault-Token instead.
          name: 'RateLimitPerVaultToken',
          priority: 2,
          action: RATE_LIMITED,
          statement: {
            rateBasedStatement: {
              aggregateKeyType: 'CUSTOM_KEYS',
              customKeys: [
                { header: { name: 'x-vault-token', textTransformations: [{ priority: 0, type: 'NONE' }] } },
              ],
              limit: props.requestsPerClientPer5Minutes ?? 3000,
              evaluationWindowSec: 300,
            },
          },
          visibilityConfig: visibility(`${metricPrefix}-RateLimitPerVaultToken`),
        },
        managedRuleGroup('AWSManagedRulesCommonRuleSet', 3, metricPrefix),
        managedRuleGroup('AWSManagedRulesKnownBadInputsRuleSet', 4, metricPrefix),
      ],
    });
    this.association = new CfnWebACLAssociation(this, 'Association', {
      resourceArn: props.stageArn,
      webAclArn: this.webAcl.attrArn,
    });
  }
}
