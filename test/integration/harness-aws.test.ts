/**
 * Self-tests of the AWS side of the harness: the locked moto server (atomic conditional writes),
 * the per-test resources, the mailbox, the async invoker's DLQ records and log capture.
 * They do not need the handler.
 */
import { PublishCommand } from '@aws-sdk/client-sns';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { Logger } from '@aws-lambda-powertools/logger';
import { awsClients, createResources, Mailbox, tableItems, ttlAttribute, type AwsClients } from './support/aws';
import { AsyncInvoker, fakeContext, invoke, LogCapture, type Handler } from './support/lambda';
import { describeWithMoto, startMoto, type Moto } from './support/moto';

describeWithMoto('integration harness (moto)', () => {
  let moto: Moto;
  let c: AwsClients;
  beforeAll(async () => {
    moto = await startMoto();
    c = awsClients(moto.endpoint);
  });
  afterAll(async () => {
    c?.destroy();
    await moto?.stop();
  });

  test('conditional writes are atomic under concurrency (the global request lock)', async () => {
    const r = await createResources(c);
    let doubleWrites = 0;
    for (let trial = 0; trial < 15; trial++) {
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          c.doc.send(
            new PutCommand({
              TableName: r.tableName,
              Item: { pk: `race#${trial}`, writer: i },
              ConditionExpression: 'attribute_not_exists(pk)',
            }),
          ),
        ),
      );
      const won = results.filter((x) => x.status === 'fulfilled').length;
      const lost = results.filter(
        (x) => x.status === 'rejected' && (x.reason as Error).name === 'ConditionalCheckFailedException',
      ).length;
      expect(won + lost).toBe(10);
      if (won !== 1) doubleWrites++;
    }
    expect(doubleWrites).toBe(0);
  });

  test('resources: table with pk + TTL expiresAt, topic delivers SNS envelopes to the mailbox', async () => {
    const r = await createResources(c);
    expect(await ttlAttribute(c, r.tableName)).toBe('expiresAt');
    expect(await tableItems(c, r.tableName)).toEqual([]);
    await c.sns.send(new PublishCommand({ TopicArn: r.topicArn, Subject: 'ALARM: x', Message: 'hello' }));
    const box = new Mailbox(c, r);
    expect(await box.emails()).toEqual([expect.objectContaining({ subject: 'ALARM: x', message: 'hello' })]);
    await c.sns.send(new PublishCommand({ TopicArn: r.topicArn, Message: 'second' }));
    expect((await box.emails()).map((e) => e.message)).toEqual(['hello', 'second']);
  });

  test('async invoker: up to 3 attempts, then an on-failure destination record in the DLQ', async () => {
    const r = await createResources(c);
    let calls = 0;
    const flaky: Handler = async () => {
      calls++;
      if (calls === 1) throw new Error('transient');
      return { outcome: 'created' };
    };
    const broken: Handler = async () => {
      const e = new Error('JIRA is down');
      e.name = 'JiraApiError';
      throw e;
    };
    const ok = await new AsyncInvoker({ handler: flaky, clients: c, dlqUrl: r.dlqUrl }).invoke({ id: 'a' });
    expect([ok.final, ok.attempts.length, ok.result]).toEqual(['success', 2, { outcome: 'created' }]);

    const failed = await new AsyncInvoker({ handler: broken, clients: c, dlqUrl: r.dlqUrl }).invoke({ id: 'b' });
    expect([failed.final, failed.attempts.length]).toEqual(['dlq', 3]);
    const dlq = await new Mailbox(c, r).dlq();
    expect(dlq).toEqual([
      expect.objectContaining({
        requestContext: expect.objectContaining({ condition: 'RetriesExhausted', approximateInvokeCount: 3 }),
        requestPayload: { id: 'b' },
        responsePayload: expect.objectContaining({ errorType: 'JiraApiError', errorMessage: 'JIRA is down' }),
      }),
    ]);
  });

  test('invoke enforces the budget like a Lambda timeout; the context counts down', async () => {
    const ctx = fakeContext(1000);
    await new Promise((res) => setTimeout(res, 50));
    expect(ctx.getRemainingTimeInMillis()).toBeLessThanOrEqual(960);
    const slow: Handler = (_e, context) =>
      new Promise((res) => setTimeout(() => res(context.getRemainingTimeInMillis()), 400));
    const out = await invoke(slow, {}, 150);
    expect(out).toEqual(expect.objectContaining({ ok: false, timedOut: true }));
    expect(out.error?.errorMessage).toMatch(/Task timed out after 0.15 seconds/);
  });

  test('log capture sees Powertools Logger JSON lines and console output', async () => {
    const logs = new LogCapture().start();
    try {
      new Logger({ serviceName: 'probe' }).info('hello from powertools', { alarmName: 'x' });
      console.warn('plain console');
    } finally {
      logs.stop();
    }
    expect(logs.entries()).toContainEqual(
      expect.objectContaining({ message: 'hello from powertools', alarmName: 'x', level: 'INFO', service: 'probe' }),
    );
    expect(logs.has(/plain console/)).toBe(true);
  });
});
