import { Arn, ArnFormat, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { alarmName, HUB_ALARMS } from '../alarms';
import {
  InsightLogGroups,
  insightRuleBodiesMatchingAny,
  insightRuleBody,
  InsightRuleAlarm,
  numberedRuleName,
} from '../insight-rule-alarm';
import { HUB_REGION } from '../config';
import { baselineMetric, THROTTLING_ERROR_CODES } from '../metrics';
import { Naming } from '../naming';

/**
 * CloudTrail delivers events to CloudWatch Logs "within an average of about 5 minutes of an API call" (CloudTrail
 * user guide, sending events to CloudWatch Logs). The alarms look at 3 five-minute periods and need one to breach:
 * a throttling burst counts when its events arrive, up to 10 minutes late.
 */
export const CLOUDTRAIL_EVALUATION = { evaluationPeriods: 3, datapointsToAlarm: 1 } as const;

export interface ThrottlingInsightsProps {
  readonly naming: Naming;
  /** The organization trail's log group. */
  readonly logGroupName: string;
  /** The account that holds it: the hub reads its own by name, a linked account's by ARN. */
  readonly logGroupAccountId: string;
  readonly hubAccountId: string;
  readonly threshold: number;
}

/** Who is throttled across the organization: AWS API throttling from CloudTrail, by calling service and operation. */
export class ThrottlingInsights extends Construct {
  readonly rules: InsightRuleAlarm[];

  constructor(scope: Construct, id: string, props: ThrottlingInsightsProps) {
    super(scope, id);
    const { naming } = props;
    const logGroups: InsightLogGroups =
      props.logGroupAccountId === props.hubAccountId
        ? { names: [props.logGroupName] }
        : {
            // A monitoring account reads a linked account's log group with LogGroupARNs (rule syntax).
            arns: [
              Arn.format(
                {
                  partition: 'aws',
                  service: 'logs',
                  region: HUB_REGION,
                  account: props.logGroupAccountId,
                  resource: 'log-group',
                  resourceName: props.logGroupName,
                  arnFormat: ArnFormat.COLON_RESOURCE_NAME,
                },
                Stack.of(this),
              ),
            ],
          };
    const keys = ['$.eventSource', '$.eventName'];
    const ruleName = (purpose: string) => numberedRuleName((p) => naming.name('insight', p), purpose);
    this.rules = [
      new InsightRuleAlarm(this, 'ErrorCode', {
        ruleName: ruleName(HUB_ALARMS.apiThrottlingErrorCode.purpose),
        alarmName: alarmName(naming, HUB_ALARMS.apiThrottlingErrorCode),
        description: 'API calls throttled (CloudTrail errorCode)',
        ruleBodies: insightRuleBodiesMatchingAny(logGroups, keys, '$.errorCode', THROTTLING_ERROR_CODES),
        threshold: props.threshold,
        anchor: baselineMetric(),
        ...CLOUDTRAIL_EVALUATION,
      }),
      new InsightRuleAlarm(this, 'RateExceeded', {
        ruleName: ruleName(HUB_ALARMS.apiThrottlingRateExceeded.purpose),
        alarmName: alarmName(naming, HUB_ALARMS.apiThrottlingRateExceeded),
        description: 'API calls throttled (CloudTrail errorMessage "Rate exceeded")',
        ruleBodies: [insightRuleBody(logGroups, keys, { Match: '$.errorMessage', StartsWith: ['Rate exceeded'] })],
        threshold: props.threshold,
        anchor: baselineMetric(),
        ...CLOUDTRAIL_EVALUATION,
      }),
    ];
  }
}
