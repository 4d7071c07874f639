/**
 * Alarm action of the hub's alarms (CloudWatch Lambda alarm action). Two jobs, no JIRA, no DynamoDB:
 * 1. Puts the state change into the incident buffer queue, so an alarm action never bypasses the storm
 *    buffer; the incident handler treats it and the EventBridge delivery of the same state change as one
 *    (keyed by alarm and state time).
 * 2. For the pipeline's own alarms (DIRECT_EMAIL_ALARMS), also emails the alert topic directly: when the
 *    incident handler is what is broken, this path still reaches a human.
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { Logger } from '@aws-lambda-powertools/logger';

const logger = new Logger({ serviceName: 'alarm-action' });

export interface AlarmActionEvent {
  readonly source: string;
  readonly alarmArn: string;
  readonly accountId: string;
  readonly region: string;
  readonly time?: string;
  readonly alarmData: {
    readonly alarmName: string;
    readonly state: { readonly value: string; readonly reason?: string; readonly timestamp: string };
    readonly previousState?: { readonly value?: string };
    readonly configuration?: { readonly description?: string | null };
  };
}

export interface AlarmActionDeps {
  readonly sqs: Pick<SQSClient, 'send'>;
  readonly sns: Pick<SNSClient, 'send'>;
  readonly bufferQueueUrl: string;
  readonly topicArn: string;
  readonly directEmailAlarms: ReadonlySet<string>;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set; the hub stack sets it (see README, alarm actions)`);
  return value;
}

let deps: AlarmActionDeps | undefined;
function dependencies(): AlarmActionDeps {
  deps ??= {
    sqs: new SQSClient({}),
    sns: new SNSClient({}),
    bufferQueueUrl: required('BUFFER_QUEUE_URL'),
    topicArn: required('ALERT_TOPIC_ARN'),
    directEmailAlarms: new Set(JSON.parse(process.env.DIRECT_EMAIL_ALARMS ?? '[]') as string[]),
  };
  return deps;
}

/** Subject and body of the direct email: plain, ASCII, under SNS's 100-character subject limit. */
export function directEmail(event: AlarmActionEvent): { subject: string; message: string } {
  const { alarmName, state, previousState, configuration } = event.alarmData;
  const subject = `[${state.value}] ${alarmName} (direct, incident pipeline bypassed)`
    .replace(/[^\x20-\x7e]/g, '?')
    .slice(0, 99);
  const message = [
    `CloudWatch alarm "${alarmName}" is now ${state.value}${previousState?.value ? ` (was ${previousState.value})` : ''}.`,
    '',
    `Account:  ${event.accountId}`,
    `Region:   ${event.region}`,
    `Time:     ${state.timestamp}`,
    `Reason:   ${state.reason ?? ''}`,
    ...(configuration?.description ? [`Meaning:  ${configuration.description}`] : []),
    '',
    'This alarm watches the incident pipeline itself, so it is emailed directly by its alarm action, not by the',
    'incident handler. If the handler works, it emails this state change too. Runbook: README, Operations.',
  ].join('\n');
  return { subject, message };
}

export async function handleAlarmAction(event: AlarmActionEvent, d: AlarmActionDeps): Promise<{ direct: boolean }> {
  if (event?.source !== 'aws.cloudwatch' || !event.alarmData?.alarmName || !event.alarmData.state?.value) {
    throw new Error(
      'not a CloudWatch alarm action event: expected source aws.cloudwatch and alarmData.alarmName/state',
    );
  }
  const { alarmName } = event.alarmData;
  logger.appendKeys({ alarmName, state: event.alarmData.state.value });
  const direct = d.directEmailAlarms.has(alarmName);
  const results = await Promise.allSettled([
    d.sqs.send(new SendMessageCommand({ QueueUrl: d.bufferQueueUrl, MessageBody: JSON.stringify(event) })),
    ...(direct ? [d.sns.send(new PublishCommand({ TopicArn: d.topicArn, ...toPublish(directEmail(event)) }))] : []),
  ]);
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed.length > 0) {
    // Lambda retries the alarm action; both steps are safe to repeat.
    logger.error('Alarm action failed', { errors: failed.map((f) => String(f.reason)) });
    throw new Error(`alarm action for ${alarmName} failed: ${failed.map((f) => String(f.reason)).join('; ')}`);
  }
  logger.info('Alarm state change forwarded to the incident buffer', { direct });
  return { direct };
}

const toPublish = (email: { subject: string; message: string }) => ({ Subject: email.subject, Message: email.message });

export const handler = async (event: AlarmActionEvent) => handleAlarmAction(event, dependencies());
