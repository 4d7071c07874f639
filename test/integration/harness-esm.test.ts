/**
 * Self-tests of the event source mapping simulator (support/esm.ts) against moto's SQS, with toy handlers:
 * partial batch failures, full batch failures, MaximumConcurrency, the batching window, maxReceiveCount -> DLQ.
 */
import { randomUUID } from 'crypto';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { awsClients, type AwsClients } from './support/aws';
import { EventSourceMapping, LambdaFunction, queueDepth, settled } from './support/esm';
import type { Handler } from './support/lambda';
import { describeWithMoto, startMoto, type Moto } from './support/moto';

interface Queue {
  url: string;
  arn: string;
}

describeWithMoto('event source mapping simulator (moto SQS)', () => {
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

  async function queue(attributes: Record<string, string> = {}): Promise<Queue> {
    const out = await c.sqs.send(
      new CreateQueueCommand({ QueueName: `esm-${randomUUID().slice(0, 8)}`, Attributes: attributes }),
    );
    const a = await c.sqs.send(new GetQueueAttributesCommand({ QueueUrl: out.QueueUrl, AttributeNames: ['QueueArn'] }));
    return { url: out.QueueUrl!, arn: a.Attributes!.QueueArn! };
  }

  async function send(q: Queue, bodies: string[]): Promise<void> {
    for (let i = 0; i < bodies.length; i += 10) {
      await c.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: q.url,
          Entries: bodies.slice(i, i + 10).map((b, j) => ({ Id: String(j), MessageBody: b })),
        }),
      );
    }
  }

  function mapping(
    q: Queue,
    handler: Handler,
    opts: Partial<ConstructorParameters<typeof EventSourceMapping>[2]> = {},
  ) {
    const fn = new LambdaFunction(() => handler, 5_000);
    const esm = new EventSourceMapping(c.sqs, fn, {
      name: 'test',
      queueUrl: q.url,
      queueArn: q.arn,
      batchSize: 10,
      maximumConcurrency: 2,
      pollIntervalMs: 20,
      ...opts,
    });
    return { fn, esm };
  }

  test('partial batch failures: only the named records come back; every other one is deleted once', async () => {
    const q = await queue({ VisibilityTimeout: '1' });
    const seen = new Map<string, number[]>();
    const handler: Handler = async (event) => {
      const failures: SQSBatchResponse['batchItemFailures'] = [];
      for (const r of (event as SQSEvent).Records) {
        const n = Number(r.attributes.ApproximateReceiveCount);
        seen.set(r.body, [...(seen.get(r.body) ?? []), n]);
        if (Number(r.body) % 3 === 0 && n === 1) failures.push({ itemIdentifier: r.messageId });
      }
      return { batchItemFailures: failures };
    };
    const { esm } = mapping(q, handler);
    await send(
      q,
      Array.from({ length: 30 }, (_, i) => String(i)),
    );
    esm.start();
    await settled(c.sqs, [q.url], [esm], 20_000);
    await esm.stop();

    for (let i = 0; i < 30; i++) expect(seen.get(String(i))).toEqual(i % 3 === 0 ? [1, 2] : [1]);
    expect(esm.stats).toMatchObject({ batchItemFailures: 10, deleted: 30, fullBatchFailures: 0 });
  });

  test('an error, or a response naming a record not in the batch, fails the whole batch (nothing deleted)', async () => {
    const q = await queue({ VisibilityTimeout: '1' });
    let calls = 0;
    const handler: Handler = async () => {
      calls++;
      if (calls === 1) throw new Error('boom');
      if (calls === 2) return { batchItemFailures: [{ itemIdentifier: 'not-in-the-batch' }] };
      return { batchItemFailures: [] };
    };
    const { esm } = mapping(q, handler, { maximumConcurrency: 1 });
    await send(q, ['a', 'b']);
    esm.start();
    await settled(c.sqs, [q.url], [esm], 20_000);
    await esm.stop();
    expect(esm.stats.fullBatchFailures).toBe(2);
    expect(esm.stats.errors[0]).toBe('Error: boom');
    expect(esm.stats.deleted).toBe(2);
  });

  test('MaximumConcurrency bounds the invocations; waiting messages are not received meanwhile', async () => {
    const q = await queue({ VisibilityTimeout: '30' });
    const handler: Handler = async () => {
      await new Promise((r) => setTimeout(r, 150));
      return { batchItemFailures: [] };
    };
    const { esm, fn } = mapping(q, handler, { maximumConcurrency: 2, batchSize: 5 });
    await send(
      q,
      Array.from({ length: 40 }, (_, i) => String(i)),
    );
    esm.start();
    await settled(c.sqs, [q.url], [esm], 20_000);
    await esm.stop();
    expect(esm.stats.maxConcurrent).toBe(2);
    expect(fn.maxRunning).toBe(2);
    expect(esm.stats.maxReceiveCount).toBe(1); // nothing was received twice
    expect(esm.stats.records).toBe(40);
  });

  test('the batching window gathers one large batch', async () => {
    const q = await queue({ VisibilityTimeout: '30' });
    const sizes: number[] = [];
    const handler: Handler = async (event) => {
      sizes.push((event as SQSEvent).Records.length);
      return { batchItemFailures: [] };
    };
    const { esm } = mapping(q, handler, { batchSize: 1000, maximumBatchingWindowMs: 1500, maximumConcurrency: 1 });
    esm.start();
    await send(
      q,
      Array.from({ length: 15 }, (_, i) => String(i)),
    );
    await new Promise((r) => setTimeout(r, 300));
    await send(
      q,
      Array.from({ length: 15 }, (_, i) => String(100 + i)),
    );
    await settled(c.sqs, [q.url], [esm], 20_000);
    await esm.stop();
    expect(sizes).toEqual([30]);
  });

  test("maxReceiveCount: a record that keeps failing is moved to the queue's DLQ by SQS (moto)", async () => {
    const dlq = await queue();
    const q = await queue({
      VisibilityTimeout: '1',
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 3 }),
    });
    const receives: number[] = [];
    const handler: Handler = async (event) => {
      const records = (event as SQSEvent).Records;
      receives.push(...records.map((r) => Number(r.attributes.ApproximateReceiveCount)));
      return { batchItemFailures: records.map((r) => ({ itemIdentifier: r.messageId })) };
    };
    const { esm } = mapping(q, handler);
    await send(q, ['poison']);
    esm.start();
    await settled(c.sqs, [q.url], [esm], 20_000);
    await esm.stop();
    expect(receives).toEqual([1, 2, 3]);
    expect(await queueDepth(c.sqs, dlq.url)).toBe(1);
  });
});
