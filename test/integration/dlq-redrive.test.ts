/**
 * `npm run dlq:redrive` end to end against moto: the real entry point (tsx scripts/dlq-redrive.ts)
 * with AWS_ENDPOINT_URL pointing at moto, a DLQ holding every message shape plus garbage, and the
 * buffer queue as the intake.
 */
import { randomUUID } from 'crypto';
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { awsClients, type AwsClients } from './support/aws';
import { describeWithMoto, startMoto, type Moto } from './support/moto';

const ROOT = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'events');
const fixture = (name: string) =>
  JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8')) as Record<string, unknown>;

interface Queues {
  suffix: string;
  dlqUrl: string;
  bufferUrl: string;
}

describeWithMoto('dlq:redrive against moto', () => {
  let moto: Moto;
  let c: AwsClients;
  let sqs: SQSClient;
  beforeAll(async () => {
    moto = await startMoto();
    c = awsClients(moto.endpoint);
    sqs = c.sqs;
  });
  afterAll(async () => {
    c?.destroy();
    await moto?.stop();
  });

  /** `npm run dlq:redrive -- ...args` with the default credential chain fed by env, and moto as the endpoint. */
  function cli(args: string[]) {
    const r = spawnSync(path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['scripts/dlq-redrive.ts', ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        AWS_ENDPOINT_URL: moto.endpoint,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  async function createQueues(bufferAttributes: Record<string, string> = {}): Promise<Queues> {
    const suffix = `t${randomUUID().slice(0, 8)}`;
    const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `sqs-incident-dlq-${suffix}` }));
    const dlqArn = (
      await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))
    ).Attributes!.QueueArn!;
    const buffer = await sqs.send(
      new CreateQueueCommand({
        QueueName: `sqs-incident-buffer-${suffix}`,
        // As deployed: the buffer dead-letters into the same DLQ.
        Attributes: {
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 1 }),
          ...bufferAttributes,
        },
      }),
    );
    return { suffix, dlqUrl: dlq.QueueUrl!, bufferUrl: buffer.QueueUrl! };
  }

  const withId = (name: string): Record<string, unknown> => ({ ...fixture(name), id: randomUUID() });

  /** The three ways an event lands in the DLQ, plus one body nobody can use. */
  async function fill(q: Queues, opts: { bigComposite?: boolean } = {}) {
    const lambdaFailed = withId('eventbridge-alarm-state-change-single-metric.awsdocs.json');
    const ebFailed = withId('eventbridge-alarm-state-change-composite.derived.json');
    if (opts.bigComposite) {
      (ebFailed.detail as { configuration: Record<string, unknown> }).configuration.description = 'x'.repeat(3000);
    }
    const bufferFailed = withId('eventbridge-alarm-state-change-ok.derived.json');
    // (a) Lambda on-failure destination record.
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: q.dlqUrl,
        MessageBody: JSON.stringify({
          version: '1.0',
          timestamp: '2024-05-14T10:00:00.000Z',
          requestContext: {
            requestId: randomUUID(),
            functionArn: `arn:aws:lambda:us-east-1:123456789012:function:lambda-jira-incident-${q.suffix}:$LATEST`,
            condition: 'RetriesExhausted',
            approximateInvokeCount: 3,
          },
          requestPayload: lambdaFailed,
          responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
          responsePayload: { errorType: 'JiraApiError', errorMessage: 'JIRA POST /rest/api/3/issue answered 401' },
        }),
      }),
    );
    // (b) EventBridge target DLQ: the event itself, the error in message attributes.
    const ebBody = JSON.stringify(ebFailed, null, 1); // not our serialisation: it must pass through byte for byte
    const str = (StringValue: string) => ({ DataType: 'String', StringValue });
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: q.dlqUrl,
        MessageBody: ebBody,
        MessageAttributes: {
          ERROR_CODE: str('SDK_CLIENT_ERROR'),
          ERROR_MESSAGE: str('Lambda returned TooManyRequestsException'),
          RULE_ARN: str(`arn:aws:events:us-east-1:123456789012:rule/rule-alarm-incidents-${q.suffix}`),
          TARGET_ARN: str(`arn:aws:lambda:us-east-1:123456789012:function:lambda-jira-incident-${q.suffix}`),
          RETRY_ATTEMPTS: str('20'),
        },
      }),
    );
    // (c) dead-lettered by the buffer queue itself (received more than maxReceiveCount times).
    const bufferBody = JSON.stringify(bufferFailed);
    await sqs.send(new SendMessageCommand({ QueueUrl: q.bufferUrl, MessageBody: bufferBody }));
    for (let i = 0; i < 2; i++)
      await sqs.send(new ReceiveMessageCommand({ QueueUrl: q.bufferUrl, VisibilityTimeout: 0 }));
    // Garbage.
    await sqs.send(new SendMessageCommand({ QueueUrl: q.dlqUrl, MessageBody: 'this is not an alarm event' }));
    expect(await depth(q.dlqUrl)).toEqual({ visible: 4, hidden: 0 });
    expect(await depth(q.bufferUrl)).toEqual({ visible: 0, hidden: 0 });
    return { lambdaFailed, ebFailed, ebBody, bufferFailed, bufferBody };
  }

  async function depth(url: string) {
    const a = (
      await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      )
    ).Attributes!;
    return { visible: Number(a.ApproximateNumberOfMessages), hidden: Number(a.ApproximateNumberOfMessagesNotVisible) };
  }

  /** Reads every message once and keeps it hidden (never twice: the buffer dead-letters after one receive). */
  async function drain(url: string): Promise<string[]> {
    const bodies: string[] = [];
    for (;;) {
      const r = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, VisibilityTimeout: 3600 }),
      );
      if (!r.Messages?.length) return bodies;
      bodies.push(...r.Messages.map((m) => m.Body!));
    }
  }

  const summary = (stdout: string, row: string) => Number(new RegExp(`^${row} +(\\d+)$`, 'm').exec(stdout)?.[1]);

  test('--dry-run lists what would move and changes nothing (every message visible again at once)', async () => {
    const q = await createQueues();
    await fill(q);
    const r = cli(['--suffix', q.suffix, '--dry-run']);
    expect(r.status).toBe(0);
    const out = r.stdout;
    expect(out).toMatch(
      new RegExp(
        `^DRY RUN \\(nothing sent, nothing deleted\\): sqs-incident-dlq-${q.suffix} -> queue sqs-incident-buffer-${q.suffix}$`,
        'm',
      ),
    );
    expect(out).toMatch(
      /^would move +ServerCpuTooHigh +123456789012 +ALARM +2019-10-02T17:04:40\.989Z +JiraApiError: JIRA POST \/rest\/api\/3\/issue answered 401 \(3 attempts\)/m,
    );
    expect(out).toMatch(
      /^would move +ServiceAggregatedAlarm +123456789012 +ALARM +2022-07-22T15:57:45\.394Z +SDK_CLIENT_ERROR: Lambda returned TooManyRequestsException \(20 retries\)/m,
    );
    expect(out).toMatch(
      /^would move +ServerCpuTooHigh +123456789012 +OK +2019-10-02T17:34:40\.989Z +SQS dead letter \(no failure details\)/m,
    );
    expect(out).toMatch(/^skipped +\? .* body is not JSON/m);
    expect([
      summary(out, 'would move'),
      summary(out, 'skipped'),
      summary(out, 'failed'),
      summary(out, 'left in DLQ'),
    ]).toEqual([3, 1, 0, 4]);
    // Nothing moved, nothing deleted, and nothing left hidden by the dry run.
    expect(await depth(q.dlqUrl)).toEqual({ visible: 4, hidden: 0 });
    expect(await depth(q.bufferUrl)).toEqual({ visible: 0, hidden: 0 });
  });

  test('a real run moves the events (bodies equal the originals), deletes only those, leaves the garbage', async () => {
    const q = await createQueues();
    const e = await fill(q);
    const r = cli(['--suffix', q.suffix]);
    expect(r.status).toBe(0);
    expect([
      summary(r.stdout, 'moved'),
      summary(r.stdout, 'skipped'),
      summary(r.stdout, 'failed'),
      summary(r.stdout, 'left in DLQ'),
    ]).toEqual([3, 1, 0, 1]);
    expect(r.stdout.match(/^moved +\S+ +\d{12} /gm)).toHaveLength(3);
    expect(r.stdout).toMatch(
      new RegExp(`^sqs-incident-dlq-${q.suffix} -> queue sqs-incident-buffer-${q.suffix}$`, 'm'),
    );
    expect(r.stderr).toMatch(/dlq:redrive: done: 4 received, 3 moved, 1 skipped, 0 failed/);

    const moved = await drain(q.bufferUrl);
    expect(moved.map((b) => JSON.parse(b))).toEqual(
      expect.arrayContaining([e.lambdaFailed, e.ebFailed, e.bufferFailed]),
    );
    expect(moved).toHaveLength(3);
    // Dead letters whose body is the event go back unchanged, byte for byte.
    expect(moved).toEqual(expect.arrayContaining([e.ebBody, e.bufferBody]));
    expect(await drain(q.dlqUrl)).toEqual(['this is not an alarm event']);
  });

  test('a repeat run finds only what is left: nothing moves twice', async () => {
    const q = await createQueues();
    await fill(q);
    expect(cli(['--suffix', q.suffix]).status).toBe(0);
    const again = cli(['--suffix', q.suffix]);
    expect(again.status).toBe(0);
    expect([
      summary(again.stdout, 'moved'),
      summary(again.stdout, 'skipped'),
      summary(again.stdout, 'left in DLQ'),
    ]).toEqual([0, 1, 1]);
    expect(await depth(q.bufferUrl)).toEqual({ visible: 3, hidden: 0 });
  });

  test('--max N moves at most N events; a second run moves the rest', async () => {
    const q = await createQueues();
    await fill(q);
    const first = cli(['--suffix', q.suffix, '--max', '2']);
    expect(first.status).toBe(0);
    expect(summary(first.stdout, 'moved')).toBe(2);
    expect(summary(first.stdout, 'left in DLQ')).toBe(2);
    expect(await depth(q.dlqUrl)).toEqual({ visible: 2, hidden: 0 });
    expect(await depth(q.bufferUrl)).toEqual({ visible: 2, hidden: 0 });

    const second = cli(['--suffix', q.suffix]);
    expect(second.status).toBe(0);
    expect([
      summary(second.stdout, 'moved'),
      summary(second.stdout, 'skipped'),
      summary(second.stdout, 'left in DLQ'),
    ]).toEqual([1, 1, 1]);
    const bodies = (await drain(q.bufferUrl)).map((b) => (JSON.parse(b) as { id: string }).id);
    expect(new Set(bodies).size).toBe(3);
  });

  test('a message the intake refuses is failed, kept in the DLQ and visible again; exit 1', async () => {
    // The buffer takes at most 2 KiB: the composite event with a long description is refused, the others fit.
    const q = await createQueues({ MaximumMessageSize: '2048' });
    await fill(q, { bigComposite: true });
    const r = cli(['--suffix', q.suffix]);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^failed +ServiceAggregatedAlarm .* not accepted: InvalidParameterValue: /m);
    expect([
      summary(r.stdout, 'moved'),
      summary(r.stdout, 'skipped'),
      summary(r.stdout, 'failed'),
      summary(r.stdout, 'left in DLQ'),
    ]).toEqual([2, 1, 1, 2]);
    expect(await depth(q.dlqUrl)).toEqual({ visible: 2, hidden: 0 });
  });

  test('an empty DLQ: nothing to do, exit 0', async () => {
    const q = await createQueues();
    const r = cli(['--suffix', q.suffix]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('No messages in the DLQ.');
    expect(summary(r.stdout, 'moved')).toBe(0);
  });

  test('usage errors exit 2 naming the fix: unknown suffix (no DLQ), no buffer queue, bad --max, --help', async () => {
    let r = cli(['--suffix', 'nosuchenv']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(
      'the DLQ sqs-incident-dlq-nosuchenv does not exist in us-east-1. Fix: check --suffix and --region',
    );

    const suffix = `t${randomUUID().slice(0, 8)}`;
    await sqs.send(new CreateQueueCommand({ QueueName: `sqs-incident-dlq-${suffix}` }));
    r = cli(['--suffix', suffix]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`the buffer queue sqs-incident-buffer-${suffix} does not exist`);
    expect(r.stderr).toContain('--to-function');

    r = cli(['--suffix', suffix, '--max', '0']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--max '0' is not a positive whole number");
    r = cli([]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--suffix is required');
    r = cli(['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^Usage: npm run dlq:redrive -- --suffix <s>/);
  });
});
