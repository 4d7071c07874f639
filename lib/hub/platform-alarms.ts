import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { AlarmSpec, alarmName, HUB_ALARMS } from '../alarms';
import {
  PLATFORM_EVALUATION,
  APP_METRIC_FILTERS,
  APP_METRIC_NAMESPACE,
  APP_METRIC_PERIOD,
  SLOW_PAYMENT_FILTER,
} from '../metrics';
import { Naming } from '../naming';

export interface PlatformAlarmsProps {
  readonly naming: Naming;
  readonly errorCount: number;
  readonly slowPayments: number;
}

/** A Metrics Insights query over every account linked to the hub sink (and the hub itself), one time series. */
export function organizationSum(metricName: string, label: string): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: `SELECT SUM(${metricName}) FROM "${APP_METRIC_NAMESPACE}"`,
    usingMetrics: {},
    label,
    period: APP_METRIC_PERIOD,
  });
}

/**
 * The platform view in the hub: Metrics Insights alarms that sum a metric over every linked account. In a
 * monitoring account, Metrics Insights alarms watch source accounts too (CloudWatch cross-account observability),
 * and a query names no account, so these alarms need no link when they are created and cover an account the
 * StackSet adds tomorrow. The composite over both is the one umbrella ticket for a shared cause.
 */
export class PlatformAlarms extends Construct {
  readonly errors: cloudwatch.Alarm;
  readonly slowPayments: cloudwatch.Alarm;
  readonly critical: cloudwatch.CompositeAlarm;

  constructor(scope: Construct, id: string, props: PlatformAlarmsProps) {
    super(scope, id);
    const { naming } = props;
    const alarm = (alarmId: string, spec: AlarmSpec, metricName: string, threshold: number) =>
      new cloudwatch.Alarm(this, alarmId, {
        alarmName: alarmName(naming, spec),
        alarmDescription: `${spec.meaning} (${threshold} per 5 minutes, ${PLATFORM_EVALUATION.datapointsToAlarm} of ${PLATFORM_EVALUATION.evaluationPeriods} periods)`,
        metric: organizationSum(metricName, metricName),
        threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        ...PLATFORM_EVALUATION,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    this.errors = alarm('Errors', HUB_ALARMS.platformErrors, APP_METRIC_FILTERS.errors.metricName, props.errorCount);
    this.slowPayments = alarm(
      'SlowPayments',
      HUB_ALARMS.platformSlowPayments,
      SLOW_PAYMENT_FILTER.metricName,
      props.slowPayments,
    );
    this.critical = new cloudwatch.CompositeAlarm(this, 'Critical', {
      compositeAlarmName: alarmName(naming, HUB_ALARMS.platformCritical),
      alarmDescription:
        'Errors and slow payments across the organization at once: a shared cause (region, card network, DNS). One umbrella JIRA issue.',
      alarmRule: cloudwatch.AlarmRule.allOf(this.errors, this.slowPayments),
    });
  }
}
