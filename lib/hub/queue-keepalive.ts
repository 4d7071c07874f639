import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { LeastPrivilegeRole } from '../least-privilege-role';
import { Naming } from '../naming';

export interface QueueKeepaliveProps {
  readonly naming: Naming;
  /** Part of the schedule and role names. */
  readonly purpose: string;
  readonly queue: sqs.Queue;
}

/**
 * Touches a queue every 5 minutes so SQS keeps publishing its CloudWatch metrics: "CloudWatch considers a queue
 * to be active for up to six hours if it contains any messages or if any action accesses it" (SQS developer
 * guide, CloudWatch metrics). EventBridge Scheduler does not call read-only APIs (Get*, Receive*, ...), so the
 * action is `SetQueueAttributes` with the value the template already sets (no drift, no effect).
 */
export class QueueKeepalive extends Construct {
  constructor(scope: Construct, id: string, props: QueueKeepaliveProps) {
    super(scope, id);
    const { naming, queue } = props;
    const role = LeastPrivilegeRole.forService(this, 'Role', {
      naming: naming,
      purpose: `keepalive-${props.purpose}`,
      service: 'scheduler.amazonaws.com',
      description: `Lets EventBridge Scheduler keep ${props.purpose} queue metrics published`,
      statements: [new iam.PolicyStatement({ actions: ['sqs:SetQueueAttributes'], resources: [queue.queueArn] })],
    });
    const retention = (queue.node.defaultChild as sqs.CfnQueue).messageRetentionPeriod;
    new scheduler.CfnSchedule(this, 'Schedule', {
      name: naming.name('schedule', `keepalive-${props.purpose}`),
      description: `Keeps ${props.purpose} queue metrics published (SQS stops them after six idle hours)`,
      scheduleExpression: 'rate(5 minutes)',
      flexibleTimeWindow: { mode: 'OFF' },
      state: 'ENABLED',
      target: {
        arn: 'arn:aws:scheduler:::aws-sdk:sqs:setQueueAttributes',
        roleArn: role.role.roleArn,
        input: Stack.of(this).toJsonString({
          QueueUrl: queue.queueUrl,
          Attributes: { MessageRetentionPeriod: String(retention) },
        }),
        retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 300 },
      },
    });
  }
}
