/**
 * The alert-path heartbeat (issue 10; README "Alert-path heartbeat"): the scheduler's synthetic state change proves
 * the table, the JIRA token and project, the alert topic and a confirmed subscription, then publishes the success
 * metric. Any step failing: no metric, a log line naming the step, and the record is done. It pages nobody and never
 * opens an issue, emails or counts toward storms and digests.
 */
import 'aws-sdk-client-mock-jest';
import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { ListSubscriptionsByTopicCommand, PublishCommand } from '@aws-sdk/client-sns';
import type { SQSBatchResponse } from 'aws-lambda';
import { ALARM_STATE_CHANGE } from '../../lib/hub/alert-path-heartbeat';
import { HEARTBEAT_MESSAGE_KIND } from '../../lib/hub/alert-topic';
import { HEARTBEAT_METRIC, PIPELINE_METRIC_NAMESPACE, PRODUCT_EVENT_SOURCE } from '../../lib/hub/incident-pipeline';
import { MAINTENANCE_WINDOW_ENDED } from '../../lib/hub/maintenance-windows';
import * as handlerEvents from '../../lambda/jira-incident/events';
import * as heartbeat from '../../lambda/jira-incident/heartbeat';
import { HEARTBEAT_KEY } from '../../lambda/jira-incident/incident-store';
import * as notifier from '../../lambda/jira-incident/notifier';
import { DIGEST_QUEUE_URL, setUp, sqsEvent, type Harness, finish } from './helpers/harness';

let h: Harness;
afterEach(() => finish(h));

/** What the schedule puts on the hub bus (lib/hub/alert-path-heartbeat.ts), as EventBridge delivers it. */
function heartbeatEvent(id = 'hb-1') {
  return {
    version: '0',
    id,
    'detail-type': ALARM_STATE_CHANGE,
    source: PRODUCT_EVENT_SOURCE,
    account: '999999999999',
    time: '2024-05-14T10:00:00Z',
    region: 'us-east-1',
    resources: [],
    detail: {
      alarmName: 'heartbeat-alert-path-test',
      heartbeat: true,
      state: { value: 'ALARM', reason: 'Scheduled alert-path heartbeat', timestamp: '2024-05-14T10:00:00Z' },
      previousState: { value: 'OK' },
      configuration: { description: 'Synthetic state change that proves the alert path; pages nobody' },
    },
  };
}
const failures = (r: unknown) => (r as SQSBatchResponse).batchItemFailures;
const failureLog = () => h.logRecords().find((r) => r.message?.toString().startsWith('Alert-path heartbeat failed'));

test("the handler's constants are the stack's", () => {
  h = setUp();
  expect(handlerEvents.PRODUCT_EVENT_SOURCE).toBe(PRODUCT_EVENT_SOURCE);
  expect(handlerEvents.MAINTENANCE_WINDOW_ENDED).toBe(MAINTENANCE_WINDOW_ENDED);
  expect(heartbeat.HEARTBEAT_METRIC).toBe(HEARTBEAT_METRIC);
  expect(notifier.HEARTBEAT_MESSAGE_KIND).toBe(HEARTBEAT_MESSAGE_KIND);
});

describe('a heartbeat through the buffer', () => {
  beforeEach(() => {
    h = setUp({ DIGEST_QUEUE_URL, PIPELINE_METRIC_NAMESPACE });
  });

  test('proves every part of the path, then publishes HeartbeatSucceeded = 1; pages nobody', async () => {
    const result = await h.invoke(sqsEvent('buffer', [heartbeatEvent()]));

    expect(failures(result)).toEqual([]);
    expect(h.jira.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /rest/api/3/myself',
      'GET /rest/api/3/project/OPS',
    ]);
    expect(h.sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(h.emails()[0]).toMatchObject({
      TopicArn: 'arn:aws:sns:us-east-1:999999999999:sns-alerts-test',
      MessageAttributes: { kind: { DataType: 'String', StringValue: 'heartbeat' } },
    });
    expect(h.sns).toHaveReceivedCommandWith(ListSubscriptionsByTopicCommand, {
      TopicArn: 'arn:aws:sns:us-east-1:999999999999:sns-alerts-test',
    });
    expect(h.metrics()).toEqual([
      {
        Namespace: 'Observability/Pipeline',
        MetricData: [{ MetricName: 'HeartbeatSucceeded', Value: 1, Unit: 'Count', Timestamp: new Date(h.clock.t) }],
      },
    ]);
    expect(h.table.items.get(HEARTBEAT_KEY)).toMatchObject({
      status: 'OK',
      lastSuccessAt: '2024-05-14T10:00:00.000Z',
      lastSuccessEventId: 'hb-1',
      lastAttemptScheduledAt: '2024-05-14T10:00:00Z',
    });
    // Never an issue, a state change record, a storm window or a digest.
    expect(h.jira.creates).toEqual([]);
    expect([...h.table.items.keys()]).toEqual([HEARTBEAT_KEY]);
    expect(h.forwarded()).toEqual([]);
  });

  test.each([
    [
      'a revoked token (401 after re-reading the secret)',
      (x: Harness) => x.jira.rotateAuth('Basic somebody-else'),
      'jira-token',
      /token rejected after re-reading the secret/,
    ],
    [
      'a deactivated bot user',
      (x: Harness) => (x.jira.userActive = false),
      'jira-token',
      /the JIRA user of the token .* is deactivated/,
    ],
    [
      'a project the bot no longer sees',
      (x: Harness) => x.jira.hiddenProjects.add('OPS'),
      'jira-project',
      /HTTP 404: No project could be found/,
    ],
    [
      'SNS refusing the publish',
      (x: Harness) => x.sns.on(PublishCommand).rejects(new Error('KMS key disabled')),
      'sns-publish',
      /SNS Publish .* failed: Error: KMS key disabled/,
    ],
    [
      'a topic without subscriptions',
      (x: Harness) => x.sns.on(ListSubscriptionsByTopicCommand).resolves({ Subscriptions: [] }),
      'subscriptions',
      /the alert topic has no subscription/,
    ],
    [
      'only unconfirmed subscriptions',
      (x: Harness) =>
        x.sns.on(ListSubscriptionsByTopicCommand).resolves({
          Subscriptions: [{ SubscriptionArn: 'PendingConfirmation', Protocol: 'email', Endpoint: 'a@example.com' }],
        }),
      'subscriptions',
      /none of the alert topic's 1 subscriptions is confirmed \(PendingConfirmation\)/,
    ],
    [
      'CloudWatch refusing the metric',
      (x: Harness) => x.cloudwatch.on(PutMetricDataCommand).rejects(new Error('AccessDenied')),
      'metric',
      /CloudWatch PutMetricData to Observability\/Pipeline failed/,
    ],
    [
      'the incident table refusing writes',
      (x: Harness) => x.dynamo.rejects(new Error('table deleted')),
      'dynamodb',
      /table deleted/,
    ],
  ])('%s: no metric, a log line with the step and reason, the record done', async (_name, breakIt, step, reason) => {
    breakIt(h);
    const result = await h.invoke(sqsEvent('buffer', [heartbeatEvent()]));

    expect(failures(result)).toEqual([]);
    expect(h.deadLetters()).toEqual([]);
    if (step !== 'metric') expect(h.metrics()).toEqual([]);
    expect(failureLog()).toMatchObject({ level: 'ERROR', heartbeatStep: step, reason: expect.stringMatching(reason) });
    if (step !== 'dynamodb') {
      expect(h.table.items.get(HEARTBEAT_KEY)).toMatchObject({
        status: 'FAILED',
        lastFailureStep: step,
        lastFailureReason: expect.stringMatching(reason),
      });
    }
    expect(h.jira.creates).toEqual([]);
  });

  test('the later of two subscriptions pages counts: NextToken is followed', async () => {
    h.sns
      .on(ListSubscriptionsByTopicCommand)
      .resolvesOnce({ Subscriptions: [{ SubscriptionArn: 'PendingConfirmation' }], NextToken: 'page-2' })
      .resolvesOnce({ Subscriptions: [{ SubscriptionArn: 'arn:aws:sns:us-east-1:999999999999:sns-alerts-test:x' }] });
    await h.invoke(sqsEvent('buffer', [heartbeatEvent()]));
    expect(h.metrics()).toHaveLength(1);
  });

  test('too little time left: the record comes back at once instead of a false failure', async () => {
    const result = await h.invoke(sqsEvent('buffer', [heartbeatEvent()]), 1_000);
    expect(failures(result)).toHaveLength(1);
    expect(h.jira.requests).toEqual([]);
  });
});

describe('a heartbeat invoked directly', () => {
  test('returns its result and never throws', async () => {
    h = setUp();
    h.jira.hiddenProjects.add('OPS');
    await expect(h.invoke(heartbeatEvent())).resolves.toMatchObject({
      outcome: 'heartbeat',
      ok: false,
      step: 'jira-project',
    });
    h.jira.hiddenProjects.clear();
    await expect(h.invoke(heartbeatEvent('hb-2'))).resolves.toEqual({
      outcome: 'heartbeat',
      ok: true,
      eventId: 'hb-2',
    });
  });
});
