import { Aws, Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import { Construct } from 'constructs';
import { LeastPrivilegeRole } from './least-privilege-role';
import { APP_METRIC_NAMESPACE, ZERO_BASELINE_METRICS } from './metrics';
import { Naming } from './naming';

export interface ZeroBaselineProps {
  readonly naming: Naming;
  /** Metrics that get the zero. @default the application count metrics */
  readonly metrics?: string[];
}

/**
 * A 0 every minute into each application count metric of this account and region, so counts read as zero,
 * not as missing data (missing is breaching), when no log events arrive: a brand-new account, a quiet night.
 * A metric filter publishes its default value only for ingested log events that did not match, and nothing
 * when no events arrive (CloudWatch Logs user guide, metric filter default value). EventBridge Scheduler
 * calls `cloudwatch:putMetricData` itself (universal target), so no function code is needed.
 * If the schedule breaks, quiet periods breach: missing data then means something is broken.
 */
export class ZeroBaseline extends Construct {
  constructor(scope: Construct, id: string, props: ZeroBaselineProps) {
    super(scope, id);
    const { naming } = props;
    const role = LeastPrivilegeRole.forService(this, 'Role', {
      naming: naming,
      purpose: `metric-baseline-${Aws.REGION}`,
      service: 'scheduler.amazonaws.com',
      description: 'Lets EventBridge Scheduler publish the zero baseline of the application count metrics',
      statements: [
        new iam.PolicyStatement({
          sid: 'PublishApplicationMetrics',
          actions: ['cloudwatch:PutMetricData'],
          // PutMetricData has no resource-level permissions; the namespace condition key scopes it.
          resources: ['*'],
          conditions: { StringEquals: { 'cloudwatch:namespace': APP_METRIC_NAMESPACE } },
        }),
      ],
    });
    Validations.of(role.policy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'cloudwatch:PutMetricData supports no resource-level permissions (Service Authorization Reference); the cloudwatch:namespace condition limits it to the application namespace.',
    });
    new scheduler.CfnSchedule(this, 'Schedule', {
      name: naming.name('schedule', 'metric-baseline'),
      description: 'Publishes 0 into the application count metrics every minute (missing data means broken)',
      scheduleExpression: 'rate(1 minute)',
      flexibleTimeWindow: { mode: 'OFF' },
      state: 'ENABLED',
      target: {
        arn: 'arn:aws:scheduler:::aws-sdk:cloudwatch:putMetricData',
        roleArn: role.role.roleArn,
        input: JSON.stringify({
          Namespace: APP_METRIC_NAMESPACE,
          MetricData: (props.metrics ?? ZERO_BASELINE_METRICS).map((metricName) => ({
            MetricName: metricName,
            Value: 0,
            Unit: 'Count',
          })),
        }),
        retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: Duration.minutes(1).toSeconds() },
      },
    });
  }
}
