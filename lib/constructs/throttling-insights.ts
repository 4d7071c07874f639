import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { APP_METRIC_PERIOD, THROTTLING_ERROR_CODES } from '../metrics';
import { Naming } from '../naming';

/** A Contributor Insights filter, as the rule syntax defines it. */
type InsightFilter = { Match: string; In: string[] } | { Match: string; StartsWith: string[] };

/** The body of a Contributor Insights rule over JSON logs, counting log events per contributor key. */
export function throttlingRuleBody(logGroupNames: string[], keys: string[], filter: InsightFilter): string {
  return JSON.stringify({
    Schema: { Name: 'CloudWatchLogRule', Version: 1 },
    LogGroupNames: logGroupNames,
    LogFormat: 'JSON',
    Contribution: { Keys: keys, Filters: [filter] },
    AggregateOn: 'Count',
  });
}

export interface InsightRuleAlarmProps {
  readonly naming: Naming;
  /** Purpose part of the rule and alarm names. */
  readonly purpose: string;
  readonly description: string;
  readonly ruleBody: string;
  /** Throttled calls per period, summed over all contributors, that raise the alarm. */
  readonly threshold: number;
}

/**
 * One Contributor Insights rule and its alarm. The alarm reads `INSIGHT_RULE_METRIC(rule, 'Sum')`,
 * filled with zero so a quiet period is OK rather than missing (missing data is breaching).
 */
export class InsightRuleAlarm extends Construct {
  readonly ruleName: string;
  readonly sum: cloudwatch.MathExpression;
  readonly alarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: InsightRuleAlarmProps) {
    super(scope, id);
    this.ruleName = props.naming.name('insight', props.purpose);
    const rule = new cloudwatch.CfnInsightRule(this, 'Rule', {
      ruleName: this.ruleName,
      ruleState: 'ENABLED',
      ruleBody: props.ruleBody,
    });
    this.sum = new cloudwatch.MathExpression({
      expression: `FILL(INSIGHT_RULE_METRIC('${this.ruleName}', 'Sum'), 0)`,
      usingMetrics: {},
      period: APP_METRIC_PERIOD,
      label: `${props.description} (all contributors)`,
    });
    this.alarm = new cloudwatch.Alarm(this, 'Alarm', {
      alarmName: props.naming.name('alarm', props.purpose),
      alarmDescription: `${props.description}: ${props.threshold} or more in 5 minutes. See Contributor Insights rule ${this.ruleName} for who is throttled.`,
      metric: this.sum,
      threshold: props.threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    this.alarm.node.addDependency(rule);
  }
}

export interface ThrottlingInsightsProps {
  readonly naming: Naming;
  /** The organization CloudTrail log group in the hub. */
  readonly cloudTrailLogGroupName: string;
  readonly threshold: number;
}

/** Who is throttled: AWS API throttling from CloudTrail, by calling service and operation. */
export class ThrottlingInsights extends Construct {
  readonly rules: InsightRuleAlarm[];

  constructor(scope: Construct, id: string, props: ThrottlingInsightsProps) {
    super(scope, id);
    const keys = ['$.eventSource', '$.eventName'];
    this.rules = [
      new InsightRuleAlarm(this, 'ErrorCode', {
        naming: props.naming,
        purpose: 'api-throttling-errorcode',
        description: 'API calls throttled (CloudTrail errorCode)',
        ruleBody: throttlingRuleBody([props.cloudTrailLogGroupName], keys, {
          Match: '$.errorCode',
          In: THROTTLING_ERROR_CODES,
        }),
        threshold: props.threshold,
      }),
      new InsightRuleAlarm(this, 'RateExceeded', {
        naming: props.naming,
        purpose: 'api-throttling-rate-exceeded',
        description: 'API calls throttled (CloudTrail errorMessage "Rate exceeded")',
        ruleBody: throttlingRuleBody([props.cloudTrailLogGroupName], keys, {
          Match: '$.errorMessage',
          StartsWith: ['Rate exceeded'],
        }),
        threshold: props.threshold,
      }),
    ];
  }
}
