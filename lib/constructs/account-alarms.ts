import { ArnFormat, NestedStack, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { MemberAccount, ObservabilityConfig } from '../config';
import { accountMetric, APP_METRIC_FILTERS } from '../metrics';
import { Naming } from '../naming';

/** CloudWatch caps a composite alarm rule at 10,240 characters; groups of this size stay well inside it. */
export const MAX_COMPOSITE_CHILDREN = 50;
/**
 * Accounts whose alarms share one nested stack (5 resources each): far below CloudFormation's 500
 * resources per stack, so an organization of any size deploys.
 */
export const ACCOUNTS_PER_ALARM_STACK = MAX_COMPOSITE_CHILDREN;

export interface AccountAlarmsProps {
  readonly naming: Naming;
  readonly accounts: MemberAccount[];
  readonly thresholds: ObservabilityConfig['thresholds'];
}

/** The alarms of one member account (evaluated in the hub on the account's metrics), as references. */
export interface AccountAlarmSet {
  readonly account: MemberAccount;
  readonly errors: cloudwatch.IAlarm;
  readonly latency: cloudwatch.IAlarm;
  readonly throttling: cloudwatch.IAlarm;
  /** Errors AND high latency at once: the account's payments are failing, not just noisy. */
  readonly degraded: cloudwatch.IAlarm;
}

/**
 * Cross-account alarms in the hub and the composites built on them: per account "errors AND
 * latency", and one platform-wide critical alarm over all accounts. Composite children must live in
 * the composite's account and region, which hub-resident alarms do.
 *
 * Accounts are sharded into nested stacks of ACCOUNTS_PER_ALARM_STACK. Alarm names are fixed, so the
 * hub refers to alarms by their ARN (no cross-stack outputs to run out of).
 */
export class AccountAlarms extends Construct {
  readonly byAccount: AccountAlarmSet[];
  readonly platformCritical: cloudwatch.CompositeAlarm;

  constructor(scope: Construct, id: string, props: AccountAlarmsProps) {
    super(scope, id);
    const { naming } = props;
    const shards = chunk(props.accounts, ACCOUNTS_PER_ALARM_STACK);
    const reference = (name: string) =>
      cloudwatch.Alarm.fromAlarmArn(
        this,
        `Ref-${name}`,
        Stack.of(this).formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: name,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      );

    const stacks = shards.map(
      (accounts, i) =>
        new AccountAlarmsStack(this, `Shard${i + 1}`, {
          ...props,
          accounts,
          shard: i + 1,
          groupComposite: shards.length > 1,
        }),
    );
    this.byAccount = props.accounts.map((account) => ({
      account,
      errors: reference(alarmName(naming, 'errors', account)),
      latency: reference(alarmName(naming, 'latency-p99', account)),
      throttling: reference(alarmName(naming, 'throttling', account)),
      degraded: reference(degradedName(naming, account)),
    }));

    const children =
      shards.length === 1
        ? this.byAccount.map((set) => set.degraded)
        : shards.map((_, i) => reference(groupName(naming, i + 1)));
    this.platformCritical = new cloudwatch.CompositeAlarm(this, 'PlatformCritical', {
      compositeAlarmName: naming.name('composite', 'platform-critical'),
      alarmDescription: 'Payments degraded (errors and latency) in at least one member account',
      alarmRule: cloudwatch.AlarmRule.anyOf(...children),
    });
    for (const stack of stacks) this.platformCritical.node.addDependency(stack);
  }
}

const alarmName = (naming: Naming, purpose: string, account: MemberAccount) =>
  naming.name('alarm', `${purpose}-${account.name}`);
const degradedName = (naming: Naming, account: MemberAccount) =>
  naming.name('composite', `errors-and-latency-${account.name}`);
const groupName = (naming: Naming, shard: number) => naming.name('composite', `platform-group-${shard}`);

interface AccountAlarmsStackProps extends AccountAlarmsProps {
  readonly shard: number;
  /** Several shards: this shard gets a composite over its accounts, which the platform alarm combines. */
  readonly groupComposite: boolean;
}

/** The alarms of up to ACCOUNTS_PER_ALARM_STACK accounts. */
class AccountAlarmsStack extends NestedStack {
  constructor(scope: Construct, id: string, props: AccountAlarmsStackProps) {
    super(scope, id, {
      description: `Observability hub alarms, accounts shard ${props.shard} (${props.naming.suffix})`,
    });
    const { naming, thresholds } = props;

    const degradedAlarms = props.accounts.map((account) => {
      const scopeForAccount = new Construct(this, account.name);
      const metricAlarm = (alarmId: string, purpose: string, alarmProps: Omit<cloudwatch.AlarmProps, 'alarmName'>) =>
        new cloudwatch.Alarm(scopeForAccount, alarmId, {
          ...alarmProps,
          alarmName: alarmName(naming, purpose, account),
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
      metricAlarm('Throttling', 'throttling', {
        alarmDescription: `Throttled AWS calls logged by ${account.name} (${account.id}) at or above ${thresholds.throttledCalls} per 5 minutes`,
        metric: accountMetric(APP_METRIC_FILTERS.throttledCalls, account.id, 'Sum'),
        threshold: thresholds.throttledCalls,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
      });
      return new cloudwatch.CompositeAlarm(scopeForAccount, 'Degraded', {
        compositeAlarmName: degradedName(naming, account),
        alarmDescription: `Payments degraded in ${account.name} (${account.id}): errors and p99 latency both breaching`,
        alarmRule: cloudwatch.AlarmRule.allOf(errors, latency),
      });
    });

    if (props.groupComposite) {
      new cloudwatch.CompositeAlarm(this, 'PlatformGroup', {
        compositeAlarmName: groupName(naming, props.shard),
        alarmDescription: `Payments degraded in at least one account of shard ${props.shard}`,
        alarmRule: cloudwatch.AlarmRule.anyOf(...degradedAlarms),
      });
    }
  }
}

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
