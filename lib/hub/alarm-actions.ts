import * as path from 'path';
import { Duration, Lazy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { Naming } from '../naming';
import { hubFunction } from './hub-function';

export const ALARM_ACTION_ENTRY = path.join(__dirname, '..', '..', 'lambda', 'alarm-action', 'index.ts');

export interface AlarmActionsProps {
  readonly naming: Naming;
  /** The incident buffer: every hub alarm's state changes go there (never around the storm buffer). */
  readonly buffer: sqs.IQueue;
  readonly topic: sns.ITopic;
  readonly logRetention: logs.RetentionDays;
}

/**
 * The alarm action of every hub alarm (a CloudWatch Lambda alarm action; Control Tower CT.CLOUDWATCH.PR.1 asks
 * every alarm for one). The function forwards the state change into the incident buffer and, for the
 * pipeline's own alarms, also emails the topic directly: a path that does not depend on the incident handler.
 * CloudWatch cannot publish to the alert topic itself (alias/aws/sns admits only principals of the account).
 */
export class AlarmActions extends Construct {
  readonly function: lambda.Function;
  private readonly directEmail = new Set<string>();
  private readonly action: actions.LambdaAction;

  constructor(scope: Construct, id: string, props: AlarmActionsProps) {
    super(scope, id);
    const { naming } = props;
    this.function = hubFunction(this, {
      naming,
      purpose: 'alarm-action',
      ids: { logs: 'Logs', role: 'Role', function: 'Function' },
      description: 'Alarm action of the hub alarms: forwards to the incident buffer, emails pipeline alarms directly',
      roleDescription: 'Execution role of the hub alarm action (forward to the buffer, direct email)',
      entry: ALARM_ACTION_ENTRY,
      timeout: Duration.seconds(10),
      logRetention: props.logRetention,
      calls: 'SQS and SNS',
      statements: [
        new iam.PolicyStatement({ sid: 'Buffer', actions: ['sqs:SendMessage'], resources: [props.buffer.queueArn] }),
        new iam.PolicyStatement({ sid: 'DirectEmail', actions: ['sns:Publish'], resources: [props.topic.topicArn] }),
      ],
      environment: {
        BUFFER_QUEUE_URL: props.buffer.queueUrl,
        ALERT_TOPIC_ARN: props.topic.topicArn,
        DIRECT_EMAIL_ALARMS: Lazy.string({ produce: () => JSON.stringify([...this.directEmail].sort()) }),
        POWERTOOLS_SERVICE_NAME: 'alarm-action',
      },
    }).function;
    this.action = new actions.LambdaAction(this.function, { useUniquePermissionId: true });
  }

  /**
   * Gives an alarm its actions (ALARM and OK). `directEmail`: the alarm watches the pipeline itself, so its
   * state changes are also emailed without the incident handler.
   */
  attach(alarm: cloudwatch.AlarmBase, options: { directEmail?: boolean } = {}): void {
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    if (options.directEmail) {
      // The physical name as written in the template (the construct's alarmName is a reference token).
      const cfn = alarm.node.defaultChild as cloudwatch.CfnAlarm | cloudwatch.CfnCompositeAlarm;
      this.directEmail.add(String(cfn.alarmName));
    }
  }
}
