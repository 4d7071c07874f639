import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { MemberAccount, ObservabilityConfig } from '../config';
import { accountMetric, APP_METRIC_FILTERS } from '../metrics';
import { Naming } from '../naming';

/** CloudWatch caps a composite alarm rule at 10,240 characters; groups of this size stay well inside it. */
export const MAX_COMPOSITE_CHILDREN = 50;

export interface AccountAlarmsProps {
  readonly naming: Naming;
  readonly accounts: MemberAccount[];
  readonly thresholds: ObservabilityConfig['thresholds'];
}

/** The alarms of one member account, evaluated in the hub on the account's metrics. */
export interface AccountAlarmSet {
  readonly account: MemberAccount;
  readonly errors: cloudwatch.Alarm;
  readonly latency: cloudwatch.Alarm;
  readonly throttling: cloudwatch.Alarm;
  /** Errors AND high latency at once: the account's payments are failing, not just noisy. */
  readonly degraded: cloudwatch.CompositeAlarm;
}

/**
 * Cross-account alarms in the hub (children of composites must live in the composite's account and
 * region, which hub-resident alarms do) and the composites built on them: per account "errors AND
 * latency", and one platform-wide critical alarm over all accounts.
 */
export class AccountAlarms extends Construct {
  readonly byAccount: AccountAlarmSet[];
  readonly platformCritical: cloudwatch.CompositeAlarm;

  constructor(scope: Construct, id: string, props: AccountAlarmsProps) {
    super(scope, id);
    const { naming, thresholds } = props;

    this.byAccount = props.accounts.map((account) => {
      const scopeForAccount = new Construct(this, account.name);
      const metricAlarm = (alarmId: string, purpose: string, alarmProps: Omit<cloudwatch.AlarmProps, 'alarmName'>) =>
        new cloudwatch.Alarm(scopeForAccount, alarmId, {
          ...alarmProps,
          alarmName: naming.name('alarm', `${purpose}-${account.name}`),
          treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        });
      const errors = metricAlarm('Errors', 'errors', {
        alarmDescription: `Application errors in ${account.name} (${account.id}) at or above ${thresholds.errorCount} per 5 minutes`,
        metric: accountMetric(APP_METRIC_FILTERS.errors, account.id, 'Sum'),
        threshold: thresholds.errorCount,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      });
      const latency = metricAlarm('LatencyP99', 'latency-p99', {
        alarmDescription: `p99 payment latency in ${account.name} (${account.id}) at or above ${thresholds.latencyP99Ms} ms`,
        metric: accountMetric(APP_METRIC_FILTERS.paymentLatency, account.id, 'p99'),
        threshold: thresholds.latencyP99Ms,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 3,
        datapointsToAlarm: 2,
      });
      const throttling = metricAlarm('Throttling', 'throttling', {
        alarmDescription: `Throttled AWS calls logged by ${account.name} (${account.id}) at or above ${thresholds.throttledCalls} per 5 minutes`,
        metric: accountMetric(APP_METRIC_FILTERS.throttledCalls, account.id, 'Sum'),
        threshold: thresholds.throttledCalls,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      });
      const degraded = new cloudwatch.CompositeAlarm(scopeForAccount, 'Degraded', {
        compositeAlarmName: naming.name('composite', `errors-and-latency-${account.name}`),
        alarmDescription: `Payments degraded in ${account.name} (${account.id}): errors and p99 latency both breaching`,
        alarmRule: cloudwatch.AlarmRule.allOf(errors, latency),
      });
      return { account, errors, latency, throttling, degraded };
    });

    // Large organizations: group the account composites so every rule stays inside CloudWatch's limit.
    const degradedAlarms = this.byAccount.map((set) => set.degraded);
    const children: cloudwatch.IAlarm[] =
      degradedAlarms.length <= MAX_COMPOSITE_CHILDREN
        ? degradedAlarms
        : chunk(degradedAlarms, MAX_COMPOSITE_CHILDREN).map(
            (group, i) =>
              new cloudwatch.CompositeAlarm(this, `PlatformGroup${i + 1}`, {
                compositeAlarmName: naming.name('composite', `platform-group-${i + 1}`),
                alarmDescription: `Accounts ${i * MAX_COMPOSITE_CHILDREN + 1}-${i * MAX_COMPOSITE_CHILDREN + group.length} of the platform critical alarm`,
                alarmRule: cloudwatch.AlarmRule.anyOf(...group),
              }),
          );
    this.platformCritical = new cloudwatch.CompositeAlarm(this, 'PlatformCritical', {
      compositeAlarmName: naming.name('composite', 'platform-critical'),
      alarmDescription: 'Payments degraded (errors and latency) in at least one member account',
      alarmRule: cloudwatch.AlarmRule.anyOf(...children),
    });
  }

  /** Every alarm of this construct, metric and composite, for the dashboard's status row. */
  get allAlarms(): cloudwatch.IAlarm[] {
    return [
      this.platformCritical,
      ...this.byAccount.flatMap((set) => [set.degraded, set.errors, set.latency, set.throttling]),
    ];
  }
}

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
