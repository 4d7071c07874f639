import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { alarmName, HUB_ALARMS } from '../alarms';
import { LeastPrivilegeRole } from '../least-privilege-role';
import { Naming } from '../naming';
import { HEARTBEAT_METRIC, PIPELINE_METRIC_NAMESPACE, PRODUCT_EVENT_SOURCE } from './incident-pipeline';

/** The detail type of every event the handler treats as an alarm state change. */
export const ALARM_STATE_CHANGE = 'CloudWatch Alarm State Change';

export interface AlertPathHeartbeatProps {
  readonly naming: Naming;
  readonly bus: events.IEventBus;
  readonly intervalMinutes: number;
}

/**
 * Proof, on a schedule, that an alarm would reach JIRA and the inbox: a synthetic alarm state change goes onto
 * the hub bus and travels the real path (rule, buffer, handler, DynamoDB, SNS, JIRA in heartbeat mode, which
 * pages nobody); the handler publishes `HeartbeatSucceeded`. An alarm fires when two intervals pass without a
 * success: a revoked token, a deleted subscription or a broken rule is found before the next incident.
 * A rate schedule without a start date starts invoking at once (EventBridge Scheduler user guide, schedule
 * types), so a fresh deployment has its first heartbeat within minutes instead of an alarm.
 */
export class AlertPathHeartbeat extends Construct {
  readonly alarm: cloudwatch.Alarm;
  readonly heartbeatAlarmName: string;

  constructor(scope: Construct, id: string, props: AlertPathHeartbeatProps) {
    super(scope, id);
    const { naming } = props;
    this.heartbeatAlarmName = naming.name('heartbeat', 'alert-path');
    const role = LeastPrivilegeRole.forService(this, 'Role', {
      naming: naming,
      purpose: 'heartbeat',
      service: 'scheduler.amazonaws.com',
      description: 'Lets EventBridge Scheduler put the alert-path heartbeat on the hub bus',
      statements: [new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [props.bus.eventBusArn] })],
    });
    const schedule = new scheduler.CfnSchedule(this, 'Schedule', {
      name: naming.name('schedule', 'heartbeat'),
      description: 'Synthetic alarm state change through the whole alert path (pages nobody)',
      scheduleExpression: `rate(${props.intervalMinutes} minutes)`,
      flexibleTimeWindow: { mode: 'OFF' },
      state: 'ENABLED',
      target: {
        arn: props.bus.eventBusArn,
        roleArn: role.role.roleArn,
        eventBridgeParameters: { source: PRODUCT_EVENT_SOURCE, detailType: ALARM_STATE_CHANGE },
        input: JSON.stringify({
          alarmName: this.heartbeatAlarmName,
          heartbeat: true,
          state: {
            value: 'ALARM',
            reason: 'Scheduled alert-path heartbeat',
            timestamp: '<aws.scheduler.scheduled-time>',
          },
          previousState: { value: 'OK' },
          configuration: { description: 'Synthetic state change that proves the alert path; pages nobody' },
        }),
        retryPolicy: { maximumRetryAttempts: 5, maximumEventAgeInSeconds: 3600 },
      },
    });
    const interval = Duration.minutes(props.intervalMinutes);
    this.alarm = new cloudwatch.Alarm(this, 'Alarm', {
      alarmName: alarmName(naming, HUB_ALARMS.heartbeat),
      alarmDescription: `No successful alert-path heartbeat for two intervals of ${props.intervalMinutes} minutes: JIRA token, SNS subscription, buffer or handler broken. Run npm run jira:check (README, Operations).`,
      metric: new cloudwatch.Metric({
        namespace: PIPELINE_METRIC_NAMESPACE,
        metricName: HEARTBEAT_METRIC,
        statistic: 'Sum',
        period: interval,
      }),
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      // No heartbeat is the failure this alarm exists for.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    // Created after the schedule, whose first heartbeat runs at once: by the alarm's first evaluation a
    // working pipeline has published its first success, so a fresh deployment does not start in ALARM.
    this.alarm.node.addDependency(schedule);
  }
}
