/**
 * Issue 10's runtime code through the deployed path: state changes in the buffer queue (moto SQS) read by the
 * simulated event source mappings (support/esm.ts), the handler against moto and the local JIRA server.
 *
 * - Resolve grace period: the OK's delayed message is a real SQS message timer on the buffer; it comes back and
 *   resolves, or finds the flap and does nothing.
 * - Alert-path heartbeat: JIRA reads validated against the full OpenAPI spec, the SNS publish that the email
 *   subscription's filter policy (the stack's, lib/hub/alert-topic.ts) drops, the subscription check, and the metric
 *   in moto's CloudWatch; a revoked token or a topic without confirmed subscriptions: no metric, nothing dead-lettered.
 * - OpsCenter: moto has no OpsItems API (CreateOpsItem answers 500), which makes it the failure path here: JIRA and
 *   the email go on. The OpsItem requests themselves are unit-tested with aws-sdk-client-mock
 *   (test/lambda/opscenter.test.ts).
 * - Maintenance windows: a muted ALARM (emailed, recorded, no ticket), then the window's end opens its ticket, once.
 */
import { CloudWatchClient, GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import {
  ListSubscriptionsByTopicCommand,
  SetSubscriptionAttributesCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { HEARTBEAT_MESSAGE_KIND } from '../../lib/hub/alert-topic';
import { ALARM_STATE_CHANGE } from '../../lib/hub/alert-path-heartbeat';
import { HEARTBEAT_METRIC, PIPELINE_METRIC_NAMESPACE, PRODUCT_EVENT_SOURCE } from '../../lib/hub/incident-pipeline';
import { MAINTENANCE_WINDOW_ENDED } from '../../lib/hub/maintenance-windows';
import { REGION, type AwsClients } from './support/aws';
import { EventSourceMapping, LambdaFunction, pipelineQueues, settled } from './support/esm';
import { alarmEvent } from './support/events';
import { expectCleanJiraTraffic } from './support/expectations';
import { describeWithMoto } from './support/moto';
import { useWorld, type World } from './support/world';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Pipeline {
  buffer: { url: string; arn: string };
  digest: { url: string; arn: string };
  mappings: EventSourceMapping[];
  send(...bodies: unknown[]): Promise<void>;
  settle(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** The buffer and digest queues as the stack builds them, and their mappings (lib/hub/incident-pipeline.ts). */
async function pipeline(w: World, env: Record<string, string | undefined> = {}): Promise<Pipeline> {
  const c: AwsClients = w.clients;
  const { buffer, digest } = await pipelineQueues(c.sqs, w.resources, 1);
  w.configure({ DIGEST_QUEUE_URL: digest.url, BUFFER_QUEUE_URL: buffer.url, QUEUE_RETRY_BASE_SECONDS: '1', ...env });
  const fn = new LambdaFunction(() => w.newContainer(), 20_000);
  const mappings = [
    new EventSourceMapping(c.sqs, fn, {
      name: 'buffer',
      queueUrl: buffer.url,
      queueArn: buffer.arn,
      batchSize: 10,
      maximumConcurrency: 3,
    }).start(),
    new EventSourceMapping(c.sqs, fn, {
      name: 'digest',
      queueUrl: digest.url,
      queueArn: digest.arn,
      batchSize: 1000,
      maximumBatchingWindowMs: 500,
      maximumConcurrency: 2,
    }).start(),
  ];
  return {
    buffer,
    digest,
    mappings,
    async send(...bodies) {
      await c.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: buffer.url,
          Entries: bodies.map((b, i) => ({ Id: String(i), MessageBody: JSON.stringify(b) })),
        }),
      );
    },
    // Delayed messages count as not settled (support/esm.ts queueDepth): this waits for the delayed resolve too.
    settle: (timeoutMs = 30_000) => settled(c.sqs, [buffer.url, digest.url], mappings, timeoutMs),
    stop: async () => {
      await Promise.all(mappings.map((m) => m.stop()));
    },
  };
}

/** Polls until `done` or throws after `timeoutMs`. */
async function until(done: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(100);
  }
}

const logged = (w: World, message: string) => w.logs.entries().filter((e) => e.message === message);

describeWithMoto('issue 10 through the buffer: grace period, heartbeat, OpsCenter, maintenance windows', () => {
  const w = useWorld();

  describe('the resolve grace period', () => {
    test('an OK resolves after the grace period, by its delayed message through the buffer', async () => {
      const world = w();
      const p = await pipeline(world, { RESOLVE_GRACE_SECONDS: '2', JIRA_RESOLVE_TRANSITION: 'Done' });
      try {
        const name = 'critical-db-latency';
        await p.send(alarmEvent({ alarmName: name, state: 'ALARM' }));
        await p.settle();
        const okAt = Date.now();
        await p.send(alarmEvent({ alarmName: name, state: 'OK' }));
        await until(async () => (await world.mailbox.emails()).length === 2);
        // The OK is emailed at once; the issue stays open until the delayed message comes back.
        expect(world.jira.issues[0].comments).toHaveLength(1);
        expect(world.jira.issues[0].status.name).not.toBe('Done');
        const emails = await world.mailbox.emails();
        expect(emails.map((e) => e.subject)).toEqual([
          expect.stringMatching(/^\[ALARM\] critical-db-latency .* OPS-1$/),
          expect.stringMatching(/^\[OK\] critical-db-latency .* OPS-1$/),
        ]);
        await p.settle();
        expect(Date.now() - okAt).toBeGreaterThanOrEqual(2_000);
        const issue = world.jira.issues[0];
        expect(issue.status.name).toBe('Done');
        expect(issue.comments.map((c) => JSON.stringify(c.body))).toEqual([
          expect.stringContaining('is resolved after a grace period of 2 s'),
          expect.stringContaining('Resolved: the alarm stayed OK through the grace period (2 s)'),
        ]);
        expect(await world.mailbox.emails()).toHaveLength(2);
        const alarm = (await world.items()).find((i) => i.pk === `ALARM#123456789012#${REGION}#${name}`);
        expect(alarm).toMatchObject({ status: 'CLOSED', closedAfterGraceAt: expect.any(String) });
        expect(await world.mailbox.dlq()).toEqual([]);
        expectCleanJiraTraffic(world.jira);
      } finally {
        await p.stop();
      }
    }, 60_000);

    test('a flap: an ALARM within the grace period keeps the one issue open; the delayed resolve does nothing', async () => {
      const world = w();
      const p = await pipeline(world, { RESOLVE_GRACE_SECONDS: '4', JIRA_RESOLVE_TRANSITION: 'Done' });
      try {
        const name = 'critical-payments-flapping';
        await p.send(alarmEvent({ alarmName: name, state: 'ALARM' }));
        await p.settle();
        await p.send(alarmEvent({ alarmName: name, state: 'OK' }));
        await until(() => world.jira.issues[0]?.comments.length === 1);
        await p.send(alarmEvent({ alarmName: name, state: 'ALARM', reason: 'breaching again' }));
        await p.settle();

        expect(world.jira.issues).toHaveLength(1);
        const issue = world.jira.issues[0];
        expect(issue.status.name).not.toBe('Done');
        expect(JSON.stringify(issue.comments[1].body)).toContain('The alarm is flapping');
        expect(logged(world, 'Delayed resolve handled')).toEqual([
          expect.objectContaining({
            outcome: 'noop',
            reason: expect.stringMatching(/^flap: the alarm went back to ALARM/),
          }),
        ]);
        expect(await world.mailbox.emails()).toHaveLength(3);
        expectCleanJiraTraffic(world.jira);
      } finally {
        await p.stop();
      }
    }, 60_000);
  });

  describe('the alert-path heartbeat', () => {
    const heartbeat = (id: string) => ({
      version: '0',
      id,
      'detail-type': ALARM_STATE_CHANGE,
      source: PRODUCT_EVENT_SOURCE,
      account: '123456789012',
      time: new Date().toISOString(),
      region: REGION,
      resources: [],
      detail: {
        alarmName: 'heartbeat-alert-path-it',
        heartbeat: true,
        state: { value: 'ALARM', reason: 'Scheduled alert-path heartbeat', timestamp: new Date().toISOString() },
        previousState: { value: 'OK' },
        configuration: { description: 'Synthetic state change that proves the alert path; pages nobody' },
      },
    });

    /**
     * The email subscription's filter policy of lib/hub/alert-topic.ts: every message but heartbeats, a message
     * without the attribute included. Its two values in the other order: SNS ORs the values of a filter policy's
     * array (SNS developer guide, "Filter policy constraints"), but moto 5.2 gives up on `anything-but` when the
     * attribute is missing without trying `exists: false` after it.
     */
    async function filterLikeTheStack(world: World): Promise<void> {
      const subs = await world.clients.sns.send(
        new ListSubscriptionsByTopicCommand({ TopicArn: world.resources.topicArn }),
      );
      for (const s of subs.Subscriptions ?? []) {
        await world.clients.sns.send(
          new SetSubscriptionAttributesCommand({
            SubscriptionArn: s.SubscriptionArn,
            AttributeName: 'FilterPolicy',
            AttributeValue: JSON.stringify({ kind: [{ exists: false }, { 'anything-but': [HEARTBEAT_MESSAGE_KIND] }] }),
          }),
        );
      }
    }

    async function heartbeatSums(world: World): Promise<number> {
      const cw = new CloudWatchClient({
        endpoint: world.moto.endpoint,
        region: REGION,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      });
      try {
        const out = await cw.send(
          new GetMetricStatisticsCommand({
            Namespace: PIPELINE_METRIC_NAMESPACE,
            MetricName: HEARTBEAT_METRIC,
            StartTime: new Date(Date.now() - 3600_000),
            EndTime: new Date(Date.now() + 3600_000),
            Period: 60,
            Statistics: ['Sum'],
          }),
        );
        return (out.Datapoints ?? []).reduce((n, d) => n + (d.Sum ?? 0), 0);
      } finally {
        cw.destroy();
      }
    }

    test('proves JIRA, SNS and the subscription, publishes HeartbeatSucceeded; the email filter drops it', async () => {
      const world = w();
      await filterLikeTheStack(world);
      const before = await heartbeatSums(world);
      const p = await pipeline(world, { PIPELINE_METRIC_NAMESPACE });
      try {
        await p.send(heartbeat('hb-ok'));
        await p.settle();
        expect(world.jira.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
          'GET /rest/api/3/myself',
          'GET /rest/api/3/project/OPS',
        ]);
        // Published to the topic, and dropped by the subscription's filter policy: nobody is paged...
        expect(await world.mailbox.emails()).toEqual([]);
        // ...while an alarm's email (no `kind` attribute) still goes through the same filter.
        await p.send(alarmEvent({ alarmName: 'warning-after-heartbeat', state: 'ALARM' }));
        await p.settle();
        expect((await world.mailbox.emails()).map((e) => e.subject)).toEqual([
          expect.stringContaining('[DIGEST] 1 state change'),
        ]);
      } finally {
        await p.stop();
      }
      expect(world.jira.requests.map((r) => r.operationId)).toEqual(['getCurrentUser', 'getProject']);
      expectCleanJiraTraffic(world.jira);
      expect((await heartbeatSums(world)) - before).toBe(1);
      expect(logged(world, 'Alert-path heartbeat succeeded')).toHaveLength(1);
      const item = (await world.items()).find((i) => i.pk === 'HEARTBEAT#alert-path');
      expect(item).toMatchObject({ status: 'OK', lastSuccessEventId: 'hb-ok' });
      // The heartbeat wrote nothing else to the table: no state change, no incident, no storm window (the one
      // CHANGE# is the warning's).
      const pks = (await world.items()).map((x) => String(x.pk));
      expect(pks.filter((pk) => !pk.startsWith('CHANGE#'))).toEqual(['HEARTBEAT#alert-path']);
      expect(pks.filter((pk) => pk.startsWith('CHANGE#'))).toHaveLength(1);
      expect(world.jira.issues).toEqual([]);
      expect(await world.mailbox.dlq()).toEqual([]);
    }, 60_000);

    test('a revoked token, then a topic without subscriptions: no metric, the step logged, nothing dead-lettered', async () => {
      const world = w();
      const before = await heartbeatSums(world);
      const p = await pipeline(world, { PIPELINE_METRIC_NAMESPACE });
      try {
        world.jira.rotateToken('a-new-token-nobody-put-in-the-secret');
        await p.send(heartbeat('hb-token'));
        await p.settle();
        world.jira.rotateToken(world.resources.secret.apiToken);
        const subs = await world.clients.sns.send(
          new ListSubscriptionsByTopicCommand({ TopicArn: world.resources.topicArn }),
        );
        for (const s of subs.Subscriptions ?? []) {
          await world.clients.sns.send(new UnsubscribeCommand({ SubscriptionArn: s.SubscriptionArn }));
        }
        await p.send(heartbeat('hb-subscriptions'));
        await p.settle();
      } finally {
        await p.stop();
      }
      expect((await heartbeatSums(world)) - before).toBe(0);
      const failed = logged(world, 'Alert-path heartbeat failed: no success metric, so the heartbeat alarm fires');
      expect(failed.map((f) => [f.heartbeatStep, f.heartbeatEventId])).toEqual([
        ['jira-token', 'hb-token'],
        ['subscriptions', 'hb-subscriptions'],
      ]);
      expect(failed[0].reason).toMatch(/token rejected after re-reading the secret/);
      expect(failed[1].reason).toMatch(/the alert topic has no subscription/);
      expect(await world.mailbox.dlq()).toEqual([]);
      expect((await world.items()).find((i) => i.pk === 'HEARTBEAT#alert-path')).toMatchObject({
        status: 'FAILED',
        lastFailureStep: 'subscriptions',
      });
      // The 401s are the point of the first heartbeat; the server saw nothing else wrong.
      expect(world.jira.violations).toEqual([]);
    }, 60_000);
  });

  test('OpsCenter failing (moto has no OpsItems API) never blocks the ticket or the email', async () => {
    const world = w();
    const p = await pipeline(world, { OPSCENTER_ENABLED: 'true' });
    try {
      await p.send(alarmEvent({ alarmName: 'critical-ledger-errors', state: 'ALARM' }));
      await p.settle();
    } finally {
      await p.stop();
    }
    expect(world.jira.issues).toHaveLength(1);
    const emails = await world.mailbox.emails();
    expect(emails).toHaveLength(1);
    expect(emails[0].message).toMatch(/Note: +.*OpsCenter: SSM CreateOpsItem failed/);
    expect(logged(world, 'OpsCenter: could not create the OpsItem; JIRA and the email go on')).toHaveLength(1);
    const change = (await world.items()).find((i) => String(i.pk).startsWith('CHANGE#'));
    expect(change).toMatchObject({ status: 'DONE', outcome: 'created' });
    expect(await world.mailbox.dlq()).toEqual([]);
  }, 60_000);

  test('a maintenance window mutes the ticket (emailed, recorded); its end opens it, once', async () => {
    const world = w();
    const now = Date.now();
    const end = new Date(Math.ceil((now + 3600_000) / 1000) * 1000);
    const window = { name: 'ledger-migration', start: new Date(now - 3600_000).toISOString(), end: end.toISOString() };
    const p = await pipeline(world, { MAINTENANCE_WINDOWS: JSON.stringify([window]) });
    const ended = {
      version: '0',
      id: 'mw-end-1',
      'detail-type': MAINTENANCE_WINDOW_ENDED,
      source: PRODUCT_EVENT_SOURCE,
      account: '123456789012',
      time: end.toISOString(),
      region: REGION,
      resources: [],
      detail: { window: window.name, endedAt: end.toISOString() },
    };
    try {
      await p.send(alarmEvent({ alarmName: 'critical-ledger-latency', state: 'ALARM' }));
      await p.settle();
      expect(world.jira.requests).toEqual([]);
      const muted = await world.mailbox.emails();
      expect(muted.map((e) => e.subject)).toEqual([expect.stringMatching(/^\[ALARM, muted\] critical-ledger-latency/)]);
      expect(muted[0].message).toContain(`muted by maintenance window ledger-migration until ${end.toISOString()}`);
      const change = (await world.items()).find((i) => String(i.pk).startsWith('CHANGE#'));
      expect(change).toMatchObject({ outcome: 'muted', maintenanceWindow: 'ledger-migration' });

      await p.send(ended);
      await p.settle();
      await p.send({ ...ended, id: 'mw-end-redelivered' });
      await p.settle();
    } finally {
      await p.stop();
    }
    expect(world.jira.issues).toHaveLength(1);
    expect(JSON.stringify(world.jira.issues[0].fields.description)).toContain(
      'Held back by maintenance window ledger-migration',
    );
    const emails = await world.mailbox.emails();
    expect(emails.map((e) => e.subject)).toEqual([
      expect.stringMatching(/^\[ALARM, muted\]/),
      '[MAINTENANCE ENDED] ledger-migration: 1 alarm still in ALARM, ticket opened',
    ]);
    const maint = (await world.items()).find((i) => String(i.pk).startsWith('MAINT#'));
    expect(maint).toMatchObject({ pk: `MAINT#ledger-migration#${end.toISOString()}`, window: 'ledger-migration' });
    expect([...(maint!.released as Set<string>)]).toEqual([`ALARM#123456789012#${REGION}#critical-ledger-latency`]);
    expect(await world.mailbox.dlq()).toEqual([]);
    expectCleanJiraTraffic(world.jira);
  }, 60_000);
});
