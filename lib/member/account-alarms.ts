import { CfnCondition, Fn } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { alarmName, MEMBER_ALARMS } from '../alarms';
import { acknowledgeControl } from '../control-tower';
import { insightRuleBodiesMatchingAny, InsightRuleAlarm, numberedRuleName } from '../insight-rule-alarm';
import {
  ALARM_EVALUATION,
  APP_METRIC_FILTERS,
  APP_METRIC_NAMESPACE,
  APP_METRIC_PERIOD,
  SLOW_PAYMENT_FILTER,
  THROTTLING_ERROR_CODES,
} from '../metrics';
import { Naming } from '../naming';
import { ZeroBaseline } from '../zero-baseline';

/** Thresholds as the member template receives them: CloudFormation parameter values (tokens). */
export interface AccountAlarmThresholds {
  readonly errorCount: number;
  readonly throttledCalls: number;
  /** Five-minute periods without a log event that make the account silent. */
  readonly silencePeriods: number;
}

export interface AccountAlarmsProps {
  readonly naming: Naming;
  readonly logGroups: logs.ILogGroup[];
  readonly thresholds: AccountAlarmThresholds;
  /** True: the silence alarm carries the critical name, so it opens a ticket (`silenceIsCritical`). */
  readonly silenceIsCritical: CfnCondition;
}

/**
 * The alarms of this account and region, evaluated where the metrics are (so an account the StackSet adds
 * by itself is alarmed with no hub change); their state changes reach the hub through alarm forwarding.
 *
 * Every metric alarm treats missing data as breaching (customer rule), so each one is built to have data
 * whenever the account is healthy:
 * - counts (errors, payments, slow payments, throttled calls) get a 0 every minute from a schedule, because
 *   a metric filter publishes its default value only for log events that were ingested and did not match,
 *   and nothing at all when no log events arrive (CloudWatch Logs user guide, metric filter default value);
 * - latency is alarmed as the share of slow payments (> 1% of payments at or above the threshold, which is
 *   exactly "p99 at or above the threshold"), a ratio of two counts that is defined in every period, while
 *   the latency distribution itself keeps no default value and true percentiles;
 * - silence is missing data on purpose: `IncomingLogEvents` of the application log groups, which CloudWatch
 *   Logs publishes only for periods with log events; it alarms only when every one of its periods is silent,
 *   so a single real datapoint at creation keeps a healthy new account out of ALARM.
 *
 * Evaluation is over sliding windows every minute ("Using Amazon CloudWatch alarms"); test/infra/alarm-model
 * runs these alarms through a model of that evaluation.
 */
export class AccountAlarms extends Construct {
  readonly errors: cloudwatch.Alarm;
  readonly latency: cloudwatch.Alarm;
  readonly silence: cloudwatch.Alarm;
  readonly throttling: cloudwatch.Alarm;
  readonly degraded: cloudwatch.CompositeAlarm;

  constructor(scope: Construct, id: string, props: AccountAlarmsProps) {
    super(scope, id);
    const { naming, thresholds } = props;
    new ZeroBaseline(this, 'ZeroBaseline', { naming });

    const count = (metricName: string) =>
      new cloudwatch.Metric({
        namespace: APP_METRIC_NAMESPACE,
        metricName,
        statistic: 'Sum',
        period: APP_METRIC_PERIOD,
      });
    const filled = (expression: string, usingMetrics: Record<string, cloudwatch.IMetric>, label: string) =>
      new cloudwatch.MathExpression({ expression, usingMetrics, label, period: APP_METRIC_PERIOD });

    this.errors = new cloudwatch.Alarm(this, 'Errors', {
      alarmName: alarmName(naming, MEMBER_ALARMS.errors),
      alarmDescription: `Application errors in this account at or above ${thresholds.errorCount} per 5 minutes (${ALARM_EVALUATION.datapointsToAlarm} of ${ALARM_EVALUATION.evaluationPeriods} periods)`,
      metric: filled('FILL(errors, 0)', { errors: count(APP_METRIC_FILTERS.errors.metricName) }, 'Errors'),
      threshold: thresholds.errorCount,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      ...ALARM_EVALUATION,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    this.latency = new cloudwatch.Alarm(this, 'LatencyP99', {
      alarmName: alarmName(naming, MEMBER_ALARMS.latency),
      alarmDescription: `p99 payment latency in this account at or above the threshold: more than 1% of payments took at least the latency threshold (${ALARM_EVALUATION.datapointsToAlarm} of ${ALARM_EVALUATION.evaluationPeriods} periods)`,
      metric: filled(
        'IF(FILL(payments, 0) > 0, 100 * FILL(slow, 0) / FILL(payments, 0), 0)',
        {
          slow: count(SLOW_PAYMENT_FILTER.metricName),
          payments: count(APP_METRIC_FILTERS.payments.metricName),
        },
        'Slow payments (%)',
      ),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      ...ALARM_EVALUATION,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    const incoming = Object.fromEntries(
      props.logGroups.map((group, i) => [
        `logs${i}`,
        new cloudwatch.Metric({
          namespace: 'AWS/Logs',
          metricName: 'IncomingLogEvents',
          dimensionsMap: { LogGroupName: group.logGroupName },
          statistic: 'Sum',
          period: APP_METRIC_PERIOD,
        }),
      ]),
    );
    const ids = Object.keys(incoming);
    this.silence = new cloudwatch.Alarm(this, 'Silence', {
      alarmName: Fn.conditionIf(
        props.silenceIsCritical.logicalId,
        alarmName(naming, MEMBER_ALARMS.silenceCritical),
        alarmName(naming, MEMBER_ALARMS.silence),
      ).toString(),
      alarmDescription:
        'No log event at all in the application log groups of this account: the application or its logging is down',
      // FILL reads a quiet period after real events as 0 (so silence is measured exactly); an account that never
      // logged has no value to fill from, which is missing data: breaching, as it should be.
      metric: filled(
        ids.length === 1 ? `FILL(${ids[0]}, 0)` : `FILL(SUM([${ids.join(', ')}]), 0)`,
        incoming,
        'Log events',
      ),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: thresholds.silencePeriods,
      datapointsToAlarm: thresholds.silencePeriods,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });

    // Who is throttled, from the applications' own logs; the alarm reads the count metric, which has data in
    // every period (zero baseline), while the rule's metric has none in periods without a match.
    const rule = new InsightRuleAlarm(this, 'AppThrottling', {
      ruleName: numberedRuleName((purpose) => naming.name('insight', purpose), 'app-throttling'),
      alarmName: alarmName(naming, MEMBER_ALARMS.throttling),
      description: 'AWS calls throttled (application logs)',
      ruleBodies: insightRuleBodiesMatchingAny(
        { names: props.logGroups.map((group) => group.logGroupName) },
        ['$.service', '$.operation'],
        '$.errorCode',
        THROTTLING_ERROR_CODES,
      ),
      threshold: thresholds.throttledCalls,
      metric: filled(
        'FILL(throttled, 0)',
        { throttled: count(APP_METRIC_FILTERS.throttledCalls.metricName) },
        'Throttled calls',
      ),
    });
    this.throttling = rule.alarm;

    for (const alarm of [this.errors, this.latency, this.silence, this.throttling]) {
      acknowledgeControl(
        alarm,
        'CT.CLOUDWATCH.PR.1',
        "the alarm notifies through this stack's EventBridge rule, which forwards every state change to the hub's buffer and handler. An alarm action would need an SNS topic with a customer managed KMS key (forbidden; alias/aws/sns refuses CloudWatch), a Lambda function in the account (the StackSet template carries no assets), or a cross-account action to a hub function, which needs a Lambda permission per source account and so would miss accounts the StackSet adds by itself.",
      );
    }

    this.degraded = new cloudwatch.CompositeAlarm(this, 'Degraded', {
      compositeAlarmName: alarmName(naming, MEMBER_ALARMS.degraded),
      alarmDescription:
        'Payments degraded in this account and region: errors and p99 latency both breaching. Opens one JIRA issue for this account.',
      alarmRule: cloudwatch.AlarmRule.allOf(this.errors, this.latency),
    });
  }
}
