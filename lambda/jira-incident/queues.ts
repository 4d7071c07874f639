/**
 * The SQS side of the handler: recognising an SQS event and its queue (buffer or digest), forwarding bodies to
 * the digest queue, changing the visibility of records that come back later, and dead-lettering records with a
 * reason. Queue URLs are built from ARNs (`https://sqs.<region>.amazonaws.com/<account>/<name>`); the client
 * sends them to its own endpoint (`useQueueUrlAsEndpoint: false`), so AWS_ENDPOINT_URL keeps working.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { awsCall, errorMessage } from './errors';
import { logger } from './logger';

export type QueueRole = 'buffer' | 'digest';

/** SQS's limits for one SendMessageBatch: 10 entries, 256 KiB in total (a conservative reading of the quota). */
const BATCH_ENTRIES = 10;
const BATCH_BYTES = 256 * 1024;
/** SQS's longest visibility timeout. */
export const MAX_VISIBILITY_SECONDS = 12 * 3600;

export function isSqsEvent(event: unknown): event is SQSEvent {
  const records = (event as { Records?: unknown })?.Records;
  return Array.isArray(records) && records.length > 0 && (records[0] as SQSRecord)?.eventSource === 'aws:sqs';
}

export function queueNameOf(arn: string): string {
  return arn.split(':').pop() ?? arn;
}

export function queueUrlOf(arn: string): string {
  const [, partition, , region, account, name] = arn.split(':');
  const domain = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sqs.${region}.${domain}/${account}/${name}`;
}

/** Which queue a batch came from: the digest queue (DIGEST_QUEUE_URL's name, or the naming rule), else the buffer. */
export function queueRole(eventSourceArn: string, digestQueueUrl: string | undefined): QueueRole {
  const name = queueNameOf(eventSourceArn);
  if (digestQueueUrl) return name === digestQueueUrl.split('/').pop() ? 'digest' : 'buffer';
  return /^sqs-incident-digest-/.test(name) ? 'digest' : 'buffer';
}

export function receiveCount(record: SQSRecord): number {
  return Number(record.attributes?.ApproximateReceiveCount ?? '1') || 1;
}

export interface RedrivePolicy {
  readonly deadLetterTargetArn: string;
  readonly maxReceiveCount: number;
}

export class Queues {
  private readonly policies = new Map<string, Promise<RedrivePolicy | undefined>>();

  constructor(
    private readonly sqs: SQSClient,
    private readonly digestQueueUrl: string | undefined,
  ) {}

  get hasDigest(): boolean {
    return this.digestQueueUrl !== undefined;
  }

  /** Sends bodies to the digest queue (SendMessageBatch); returns the ids that were not accepted, with why. */
  async forwardToDigest(entries: readonly { id: string; body: string }[]): Promise<Map<string, string>> {
    const failed = new Map<string, string>();
    const url = this.digestQueueUrl;
    if (!url) {
      for (const e of entries) failed.set(e.id, 'DIGEST_QUEUE_URL is not set');
      return failed;
    }
    for (const batch of chunks(entries)) {
      try {
        const out = await awsCall(`SQS SendMessageBatch to ${url}`, () =>
          this.sqs.send(
            new SendMessageBatchCommand({
              QueueUrl: url,
              Entries: batch.map((e, i) => ({ Id: String(i), MessageBody: e.body })),
            }),
          ),
        );
        for (const f of out.Failed ?? []) {
          const entry = batch[Number(f.Id)];
          if (entry) failed.set(entry.id, `${f.Code ?? 'error'}: ${f.Message ?? 'not accepted'}`);
        }
      } catch (err) {
        for (const e of batch) failed.set(e.id, errorMessage(err));
      }
    }
    return failed;
  }

  /**
   * Sends a message to a queue that becomes visible after `delaySeconds` (a message timer: 0 to 900 seconds, SQS
   * developer guide, "Amazon SQS message timers"). Throws when SQS does not take it.
   */
  async sendDelayed(queueUrl: string, body: unknown, delaySeconds: number): Promise<void> {
    await awsCall(`SQS SendMessage to ${queueUrl}`, () =>
      this.sqs.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: JSON.stringify(body),
          DelaySeconds: Math.min(900, Math.max(0, Math.round(delaySeconds))),
        }),
      ),
    );
  }

  /** Sets when records come back (best effort: a failure leaves the queue's visibility timeout). */
  async changeVisibility(
    queueArn: string,
    entries: readonly { receiptHandle: string; seconds: number }[],
  ): Promise<void> {
    const url = queueUrlOf(queueArn);
    for (let i = 0; i < entries.length; i += BATCH_ENTRIES) {
      const batch = entries.slice(i, i + BATCH_ENTRIES);
      try {
        const out = await this.sqs.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: url,
            Entries: batch.map((e, j) => ({
              Id: String(j),
              ReceiptHandle: e.receiptHandle,
              VisibilityTimeout: Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(e.seconds))),
            })),
          }),
        );
        if (out.Failed?.length) logger.warn('Could not change the visibility of some records', { failed: out.Failed });
      } catch (err) {
        logger.warn('Could not change the visibility of records; they come back after the visibility timeout', {
          error: err as Error,
        });
      }
    }
  }

  /** The source queue's redrive policy (its DLQ and maxReceiveCount), read once per container. */
  redrivePolicy(queueArn: string): Promise<RedrivePolicy | undefined> {
    let policy = this.policies.get(queueArn);
    if (!policy) {
      policy = this.readPolicy(queueArn);
      this.policies.set(queueArn, policy);
    }
    return policy;
  }

  private async readPolicy(queueArn: string): Promise<RedrivePolicy | undefined> {
    try {
      const out = await this.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrlOf(queueArn), AttributeNames: ['RedrivePolicy'] }),
      );
      const raw = out.Attributes?.RedrivePolicy;
      if (!raw) return undefined;
      const parsed = JSON.parse(raw) as { deadLetterTargetArn?: string; maxReceiveCount?: number | string };
      if (!parsed.deadLetterTargetArn || !parsed.maxReceiveCount) return undefined;
      return { deadLetterTargetArn: parsed.deadLetterTargetArn, maxReceiveCount: Number(parsed.maxReceiveCount) };
    } catch (err) {
      // Without it, SQS still moves the record to the DLQ after maxReceiveCount (without the reason).
      this.policies.delete(queueArn);
      logger.warn('Could not read the queue redrive policy', { queueArn, error: err as Error });
      return undefined;
    }
  }

  /**
   * Puts a record into the source queue's DLQ with the reason, in the shape of Lambda's on-failure destination
   * record (what `npm run dlq:redrive` reads: the event in `requestPayload`, the reason in `responsePayload`).
   * False when the record could not be dead-lettered (then it must stay in its queue).
   */
  async deadLetter(
    record: SQSRecord,
    error: Error,
    condition: 'RetriesExhausted' | 'InvalidEvent',
    context: { requestId?: string; functionArn?: string },
    now: number,
  ): Promise<boolean> {
    const policy = await this.redrivePolicy(record.eventSourceARN);
    if (!policy) return false;
    let payload: unknown = record.body;
    try {
      payload = JSON.parse(record.body);
    } catch {
      // Not JSON: kept as the raw text.
    }
    const dead = {
      version: '1.0',
      timestamp: new Date(now).toISOString(),
      requestContext: {
        requestId: context.requestId,
        functionArn: context.functionArn,
        condition,
        approximateInvokeCount: receiveCount(record),
      },
      requestPayload: payload,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Handled' },
      responsePayload: { errorType: error.name, errorMessage: error.message.slice(0, 4000) },
      source: { queue: queueNameOf(record.eventSourceARN), messageId: record.messageId },
    };
    try {
      await this.sqs.send(
        new SendMessageCommand({ QueueUrl: queueUrlOf(policy.deadLetterTargetArn), MessageBody: JSON.stringify(dead) }),
      );
      return true;
    } catch (err) {
      logger.error('Could not dead-letter the record; it stays in its queue', { error: err as Error });
      return false;
    }
  }
}

function* chunks<T extends { body: string }>(entries: readonly T[]): Generator<T[]> {
  let batch: T[] = [];
  let size = 0;
  for (const e of entries) {
    const b = Buffer.byteLength(e.body, 'utf8');
    if (batch.length && (batch.length === BATCH_ENTRIES || size + b > BATCH_BYTES)) {
      yield batch;
      batch = [];
      size = 0;
    }
    batch.push(e);
    size += b;
  }
  if (batch.length) yield batch;
}
