/**
 * A simulator of Lambda's SQS event source mapping (ESM) over moto's SQS, for the storm load test and the queue
 * tests. What it models (AWS Lambda developer guide, "Using Lambda with Amazon SQS", and the ESM's
 * MaximumConcurrency, BatchSize, MaximumBatchingWindowInSeconds and ReportBatchItemFailures settings):
 *
 * - Polling: ReceiveMessage of up to 10 messages at a time (short polls: moto's long poll would hold its global
 *   request lock), until `batchSize` messages are gathered or the batching window has passed since the batch's
 *   first message; without a window, one receive's messages are the batch.
 * - MaximumConcurrency: at most that many invocations of the mapping at a time, and no receive while all are
 *   busy, so waiting messages stay in the queue (their receive count does not grow).
 * - Visibility: received messages are invisible for the queue's visibility timeout (moto applies it); the
 *   function's own ChangeMessageVisibility calls change it.
 * - Results: with ReportBatchItemFailures, every message not named in `batchItemFailures` is deleted; an error,
 *   a timeout or an invalid response (an identifier not in the batch, an empty one) deletes none.
 * - maxReceiveCount -> DLQ: the queue's RedrivePolicy, which moto applies on receive (harness-esm.test.ts).
 * - Containers: a function's invocations run in containers (separately loaded handler modules, own caches),
 *   reused when idle; a container whose invocation timed out is discarded, as Lambda does.
 */
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { REGION } from './aws';
import { invoke, type Handler, type InvokeOutcome } from './lambda';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A Lambda function: a pool of containers shared by its event source mappings. */
export class LambdaFunction {
  private readonly idle: Handler[] = [];
  containers = 0;
  running = 0;
  maxRunning = 0;

  constructor(
    private readonly load: () => Handler,
    readonly timeoutMs: number,
  ) {}

  async invoke(event: unknown): Promise<InvokeOutcome> {
    const handler = this.idle.pop() ?? this.coldStart();
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    try {
      const outcome = await invoke(handler, event, this.timeoutMs);
      if (!outcome.timedOut) this.idle.push(handler);
      return outcome;
    } finally {
      this.running--;
    }
  }

  private coldStart(): Handler {
    this.containers++;
    return this.load();
  }
}

export interface EventSourceMappingOptions {
  /** For reports, e.g. `buffer`. */
  readonly name: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly batchSize: number;
  /** 0 (default): invoke with what one receive returned. */
  readonly maximumBatchingWindowMs?: number;
  readonly maximumConcurrency: number;
  /** Default true, as the stack configures both mappings. */
  readonly reportBatchItemFailures?: boolean;
  /** Pause after an empty receive. */
  readonly pollIntervalMs?: number;
}

export interface MappingStats {
  invocations: number;
  records: number;
  maxBatch: number;
  maxConcurrent: number;
  batchItemFailures: number;
  fullBatchFailures: number;
  errors: string[];
  timeouts: number;
  deleted: number;
  receives: number;
  /** Receive count of the records the mapping delivered, at most. */
  maxReceiveCount: number;
}

export class EventSourceMapping {
  readonly stats: MappingStats = {
    invocations: 0,
    records: 0,
    maxBatch: 0,
    maxConcurrent: 0,
    batchItemFailures: 0,
    fullBatchFailures: 0,
    errors: [],
    timeouts: 0,
    deleted: 0,
    receives: 0,
    maxReceiveCount: 0,
  };
  private running = false;
  private loop?: Promise<void>;
  private readonly inFlight = new Set<Promise<void>>();
  private collecting = false;

  constructor(
    private readonly sqs: SQSClient,
    private readonly fn: LambdaFunction,
    readonly options: EventSourceMappingOptions,
  ) {}

  start(): this {
    this.running = true;
    this.loop = this.poll();
    return this;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
  }

  /** Nothing received and not yet returned (an invocation running, or a batch being gathered). */
  get idle(): boolean {
    return this.inFlight.size === 0 && !this.collecting;
  }

  private async poll(): Promise<void> {
    const { maximumConcurrency, pollIntervalMs = 100 } = this.options;
    while (this.running) {
      if (this.inFlight.size >= maximumConcurrency) {
        await Promise.race(this.inFlight);
        continue;
      }
      this.collecting = true;
      let batch: Message[];
      try {
        batch = await this.gather();
      } catch (err) {
        this.collecting = false;
        this.stats.errors.push(`receive: ${(err as Error).message}`);
        await sleep(pollIntervalMs);
        continue;
      }
      if (batch.length === 0) {
        this.collecting = false;
        await sleep(pollIntervalMs);
        continue;
      }
      const run: Promise<void> = this.invokeWith(batch).finally(() => this.inFlight.delete(run));
      this.inFlight.add(run);
      this.collecting = false;
      this.stats.maxConcurrent = Math.max(this.stats.maxConcurrent, this.inFlight.size);
    }
  }

  private async gather(): Promise<Message[]> {
    const { batchSize, maximumBatchingWindowMs = 0, pollIntervalMs = 100 } = this.options;
    const batch: Message[] = [];
    let firstAt: number | undefined;
    while (this.running && batch.length < batchSize) {
      const out = await this.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: this.options.queueUrl,
          MaxNumberOfMessages: Math.min(10, batchSize - batch.length),
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      this.stats.receives++;
      const got = out.Messages ?? [];
      batch.push(...got);
      if (got.length && firstAt === undefined) firstAt = Date.now();
      if (firstAt === undefined) return batch; // empty queue: the caller waits before polling again
      if (maximumBatchingWindowMs === 0) break;
      const left = firstAt + maximumBatchingWindowMs - Date.now();
      if (left <= 0) break;
      if (got.length === 0) await sleep(Math.min(pollIntervalMs, left));
    }
    return batch;
  }

  private async invokeWith(batch: Message[]): Promise<void> {
    const event: SQSEvent = { Records: batch.map((m) => this.record(m)) };
    this.stats.invocations++;
    this.stats.records += batch.length;
    this.stats.maxBatch = Math.max(this.stats.maxBatch, batch.length);
    const outcome = await this.fn.invoke(event);
    if (!outcome.ok) {
      // The whole batch comes back after its visibility timeout.
      this.stats.fullBatchFailures++;
      if (outcome.timedOut) this.stats.timeouts++;
      this.stats.errors.push(`${outcome.error?.errorType}: ${outcome.error?.errorMessage}`);
      return;
    }
    let keep = new Set<string>();
    if (this.options.reportBatchItemFailures ?? true) {
      const failures = (outcome.result as SQSBatchResponse | null | undefined)?.batchItemFailures ?? [];
      const ids = new Set(batch.map((m) => m.MessageId));
      if (!Array.isArray(failures) || failures.some((f) => !f?.itemIdentifier || !ids.has(f.itemIdentifier))) {
        this.stats.fullBatchFailures++;
        this.stats.errors.push(`invalid batch response: ${JSON.stringify(outcome.result)}`);
        return;
      }
      keep = new Set(failures.map((f) => f.itemIdentifier));
      this.stats.batchItemFailures += keep.size;
    }
    const done = batch.filter((m) => !keep.has(m.MessageId!));
    for (let i = 0; i < done.length; i += 10) {
      const chunk = done.slice(i, i + 10);
      await this.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.options.queueUrl,
          Entries: chunk.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
      this.stats.deleted += chunk.length;
    }
  }

  private record(m: Message): SQSRecord {
    const a = m.Attributes ?? {};
    const receiveCount = Number(a.ApproximateReceiveCount ?? '1');
    this.stats.maxReceiveCount = Math.max(this.stats.maxReceiveCount, receiveCount);
    return {
      messageId: m.MessageId!,
      receiptHandle: m.ReceiptHandle!,
      body: m.Body ?? '',
      attributes: {
        ApproximateReceiveCount: String(receiveCount),
        SentTimestamp: a.SentTimestamp ?? String(Date.now()),
        SenderId: a.SenderId ?? 'AIDASIMULATOR',
        ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: this.options.queueArn,
      awsRegion: REGION,
    };
  }
}

/** Messages in the queue: visible, in flight (invisible) and delayed. */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  const at = out.Attributes ?? {};
  return (
    Number(at.ApproximateNumberOfMessages ?? 0) +
    Number(at.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(at.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}

/** Waits until every queue is empty and every mapping idle (checked twice in a row), or throws after `timeoutMs`. */
export async function settled(
  sqs: SQSClient,
  queueUrls: readonly string[],
  mappings: readonly EventSourceMapping[],
  timeoutMs: number,
  pollMs = 250,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  let quietRounds = 0;
  while (quietRounds < 2) {
    if (Date.now() > until) {
      const depths = await Promise.all(queueUrls.map((u) => queueDepth(sqs, u)));
      throw new Error(`not settled within ${timeoutMs} ms: queue depths ${depths.join(', ')}`);
    }
    await sleep(pollMs);
    // Busy mappings mean not settled; the queue depths (a costly call in moto) are read only when all are idle.
    const idle = mappings.every((m) => m.idle);
    const empty = idle && (await Promise.all(queueUrls.map((u) => queueDepth(sqs, u)))).every((d) => d === 0);
    quietRounds = empty ? quietRounds + 1 : 0;
  }
}

export interface PipelineQueues {
  buffer: { url: string; arn: string };
  digest: { url: string; arn: string };
}

/**
 * The buffer and digest queues as the stack builds them (lib/hub/incident-pipeline.ts): visibility 360 s (the
 * digest's plus its batching window), redrive to the DLQ after 20 receives.
 */
export async function pipelineQueues(
  sqs: SQSClient,
  resources: { suffix: string; dlqArn: string },
  digestWindowS: number,
): Promise<PipelineQueues> {
  const make = async (purpose: string, visibility: number) => {
    const out = await sqs.send(
      new CreateQueueCommand({
        QueueName: `sqs-incident-${purpose}-${resources.suffix}`,
        Attributes: {
          VisibilityTimeout: String(visibility),
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: resources.dlqArn, maxReceiveCount: 20 }),
        },
      }),
    );
    const a = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: out.QueueUrl, AttributeNames: ['QueueArn'] }));
    return { url: out.QueueUrl!, arn: a.Attributes!.QueueArn! };
  };
  return { buffer: await make('buffer', 360), digest: await make('digest', 360 + digestWindowS) };
}
