/**
 * Test events built from the real AWS samples in /work/shared/reference/events (override the folder
 * with REFERENCE_EVENTS_DIR): structuredClone of the fixture, then only the fields a test varies.
 */
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { ACCOUNT, REGION } from './aws';

export const EVENTS_DIR =
  process.env.REFERENCE_EVENTS_DIR ?? path.resolve(__dirname, '../../../../shared/reference/events');

const cache = new Map<string, unknown>();
export function fixture<T = Record<string, unknown>>(name: string): T {
  if (!cache.has(name)) cache.set(name, JSON.parse(fs.readFileSync(path.join(EVENTS_DIR, name), 'utf8')));
  return structuredClone(cache.get(name)) as T;
}

export type AlarmState = 'ALARM' | 'OK' | 'INSUFFICIENT_DATA';

export interface AlarmStateChangeEvent {
  version: string;
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: {
    alarmName: string;
    state: { value: string; reason: string; reasonData?: string; timestamp: string; [k: string]: unknown };
    previousState: { value: string; reason: string; timestamp: string; [k: string]: unknown };
    configuration: Record<string, unknown>;
  };
}

const OPPOSITE: Record<AlarmState, AlarmState> = { ALARM: 'OK', OK: 'ALARM', INSUFFICIENT_DATA: 'OK' };

let lastStateTime = 0;
/**
 * The state time of a new state change: now, but always later than the previous one built here. The handler
 * deduplicates by (account, region, alarm, state, state time), and real state changes of one alarm never
 * share a timestamp, so two events built in the same millisecond must not either.
 */
function nextStateTime(): Date {
  lastStateTime = Math.max(Date.now(), lastStateTime + 1);
  return new Date(lastStateTime);
}

/** CloudWatch's timestamp format (`2019-10-02T17:04:40.989+0000`). */
export function cloudWatchTime(at: Date): string {
  return at.toISOString().replace('Z', '+0000');
}

/** An EventBridge `CloudWatch Alarm State Change` (single-metric sample from the AWS docs). */
export function alarmEvent(opts: {
  alarmName: string;
  state: AlarmState;
  id?: string;
  account?: string;
  reason?: string;
  /** When the alarm entered the state (default: a new, distinct time). Equal times: the same state change. */
  stateTime?: Date;
}): AlarmStateChangeEvent {
  const e = fixture<AlarmStateChangeEvent>('eventbridge-alarm-state-change-single-metric.awsdocs.json');
  const account = opts.account ?? ACCOUNT;
  const now = opts.stateTime ?? nextStateTime();
  e.id = opts.id ?? randomUUID();
  e.account = account;
  e.region = REGION;
  e.time = now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  e.resources = [`arn:aws:cloudwatch:${REGION}:${account}:alarm:${opts.alarmName}`];
  e.detail.alarmName = opts.alarmName;
  e.detail.previousState.value = OPPOSITE[opts.state];
  e.detail.state.value = opts.state;
  e.detail.state.timestamp = cloudWatchTime(now);
  if (opts.reason) e.detail.state.reason = opts.reason;
  else if (opts.state === 'OK') {
    e.detail.state.reason = e.detail.previousState.reason;
  }
  return e;
}

/**
 * A composite alarm state change (shape from the AWS docs' composite alarm event, built on the
 * single-metric sample), optionally with actions suppressed (`actionsSuppressedBy`).
 */
export function compositeAlarmEvent(opts: {
  alarmName: string;
  state: AlarmState;
  id?: string;
  actionsSuppressedBy?: 'WaitPeriod' | 'ExtensionPeriod' | 'Alarm';
}): AlarmStateChangeEvent {
  const e = alarmEvent({
    alarmName: opts.alarmName,
    state: opts.state,
    id: opts.id,
    reason: `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:critical-payments-errors transitioned to ALARM`,
  });
  e.detail.configuration = {
    alarmRule: 'ALARM(critical-payments-errors) AND ALARM(critical-payments-latency)',
    actionsSuppressor: 'maintenance-window',
    actionsSuppressorWaitPeriod: 120,
    actionsSuppressorExtensionPeriod: 180,
  };
  if (opts.actionsSuppressedBy) {
    e.detail.state.actionsSuppressedBy = opts.actionsSuppressedBy;
    e.detail.state.actionsSuppressedReason = `Actions suppressed by ${opts.actionsSuppressedBy}`;
  }
  return e;
}

/** `CloudWatch Alarm Configuration Change`: must be ignored with a log line. */
export function configChangeEvent(alarmName: string): AlarmStateChangeEvent {
  const e = alarmEvent({ alarmName, state: 'ALARM' });
  e['detail-type'] = 'CloudWatch Alarm Configuration Change';
  return e;
}

export interface SnsEvent {
  Records: {
    EventSource: string;
    EventVersion: string;
    EventSubscriptionArn: string;
    Sns: {
      MessageId: string;
      TopicArn: string;
      Subject: string | null;
      Message: string;
      Timestamp: string;
      [k: string]: unknown;
    };
  }[];
}

/** The SNS-wrapped CloudWatch alarm notification sample, with one or more alarms. */
export function snsAlarmEvent(
  ...alarms: { alarmName: string; state: AlarmState; messageId?: string; stateTime?: Date }[]
): SnsEvent {
  const base = fixture<SnsEvent>('sns-event-cloudwatch-alarm-single-metric.aws-lambda-go.json');
  const template = base.Records[0];
  const topicArn = `arn:aws:sns:${REGION}:${ACCOUNT}:cloudwatch-alarms`;
  base.Records = alarms.map((a) => {
    const r = structuredClone(template);
    const msg = JSON.parse(r.Sns.Message) as Record<string, unknown>;
    msg.AlarmName = a.alarmName;
    msg.AWSAccountId = ACCOUNT;
    msg.NewStateValue = a.state;
    msg.OldStateValue = OPPOSITE[a.state];
    msg.Region = 'US East (N. Virginia)';
    msg.AlarmArn = `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${a.alarmName}`;
    msg.StateChangeTime = cloudWatchTime(a.stateTime ?? nextStateTime());
    r.EventSubscriptionArn = `${topicArn}:${randomUUID()}`;
    r.Sns.MessageId = a.messageId ?? randomUUID();
    r.Sns.TopicArn = topicArn;
    r.Sns.Subject = `${a.state}: "${a.alarmName}" in US East (N. Virginia)`.slice(0, 100);
    r.Sns.Message = JSON.stringify(msg);
    r.Sns.Timestamp = new Date().toISOString();
    return r;
  });
  return base;
}

/** Malformed: claims to be an alarm state change but has no alarm name and no state. */
export function malformedAlarmEvent(): Record<string, unknown> {
  const e = alarmEvent({ alarmName: 'critical-malformed', state: 'ALARM' }) as unknown as Record<string, unknown>;
  e.detail = { configuration: {} };
  return e;
}

/** A unique alarm name for a test (critical by default: matches ^(critical-|composite-)). */
export function alarmName(kind: 'critical' | 'composite' | 'warning', label: string): string {
  return `${kind}-${label}-${randomUUID().slice(0, 6)}`;
}

/**
 * The event a CloudWatch Lambda alarm action sends (format from the CloudWatch docs, "Lambda alarm
 * actions"), with the state objects of the EventBridge sample.
 */
export function lambdaAlarmActionEvent(opts: {
  alarmName: string;
  state: AlarmState;
  stateTime?: Date;
}): Record<string, unknown> {
  return asAlarmAction(alarmEvent(opts));
}

/** The same state change as a CloudWatch Lambda alarm action delivers it (lambda/alarm-action puts it in the buffer). */
export function asAlarmAction(e: AlarmStateChangeEvent): Record<string, unknown> {
  return {
    source: 'aws.cloudwatch',
    alarmArn: e.resources[0],
    accountId: e.account,
    time: e.detail.state.timestamp,
    region: e.region,
    alarmData: {
      alarmName: e.detail.alarmName,
      state: e.detail.state,
      previousState: e.detail.previousState,
      configuration: e.detail.configuration,
    },
  };
}

/** An event of another service (must be ignored with a reason). */
export function otherServiceEvent(): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account: ACCOUNT,
    time: new Date().toISOString(),
    region: REGION,
    resources: [`arn:aws:ec2:${REGION}:${ACCOUNT}:instance/i-0123456789abcdef0`],
    detail: { 'instance-id': 'i-0123456789abcdef0', state: 'stopped' },
  };
}
