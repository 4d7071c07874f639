/**
 * `npm run dlq:redrive` with SQS and Lambda mocked (aws-sdk-client-mock): the --to-function mode
 * (moto cannot run Lambda here), the classification of every message shape, and the safety rules
 * (delete only after acceptance, never delete what is not understood, stop when the intake is down).
 * The buffer-queue mode runs end to end against moto in test/integration/dlq-redrive.test.ts.
 */
import * as fs from 'fs';
import * as path from 'path';
import { InvokeCommand, LambdaClient, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { classify, dlqRedrive, MAX_CONSECUTIVE_FAILURES, redrive } from '../../scripts/lib/dlq-redrive';
import { captureOutput, runScript } from './support';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'events');
const fixture = (name: string) =>
  JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8')) as Record<string, unknown>;

const DLQ_URL = 'https://sqs.us-east-1.amazonaws.com/111111111111/sqs-incident-dlq-dev';
const BUFFER_URL = 'https://sqs.us-east-1.amazonaws.com/111111111111/sqs-incident-buffer-dev';
const FUNCTION = 'lambda-jira-incident-dev';

const sqs = mockClient(SQSClient);
const lambda = mockClient(LambdaClient);

const ALARM = fixture('eventbridge-alarm-state-change-single-metric.awsdocs.json');
const OK = fixture('eventbridge-alarm-state-change-ok.derived.json');
const COMPOSITE = fixture('eventbridge-alarm-state-change-composite.derived.json');
const SNS = fixture('sns-event-cloudwatch-alarm-single-metric.aws-lambda-go.json');
const ACTION = fixture('lambda-alarm-action-metric.derived.json');
const CONFIG_CHANGE = fixture('eventbridge-alarm-configuration-change.derived.json');

let n = 0;
function onFailure(event: unknown, errorMessage = 'JIRA is down'): Message {
  n++;
  return {
    MessageId: `m-${n}`,
    ReceiptHandle: `rh-${n}`,
    Body: JSON.stringify({
      version: '1.0',
      timestamp: '2024-05-14T10:00:00.000Z',
      requestContext: {
        requestId: `req-${n}`,
        functionArn: `arn:aws:lambda:us-east-1:111111111111:function:${FUNCTION}:$LATEST`,
        condition: 'RetriesExhausted',
        approximateInvokeCount: 3,
      },
      requestPayload: event,
      responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
      responsePayload: { errorType: 'JiraApiError', errorMessage },
    }),
  };
}
function eventBridgeDeadLetter(event: unknown): Message {
  n++;
  const str = (StringValue: string) => ({ DataType: 'String', StringValue });
  return {
    MessageId: `m-${n}`,
    ReceiptHandle: `rh-${n}`,
    Body: JSON.stringify(event),
    MessageAttributes: {
      ERROR_CODE: str('SDK_CLIENT_ERROR'),
      ERROR_MESSAGE: str('Lambda returned TooManyRequestsException'),
      RULE_ARN: str('arn:aws:events:us-east-1:111111111111:rule/rule-alarm-incidents-dev'),
      TARGET_ARN: str(`arn:aws:lambda:us-east-1:111111111111:function:${FUNCTION}`),
    },
  };
}
function raw(body: string): Message {
  n++;
  return { MessageId: `m-${n}`, ReceiptHandle: `rh-${n}`, Body: body };
}

/** The DLQ hands out `messages` in batches of up to the requested size, then nothing. */
function queueHolding(messages: Message[], depthAfter = 0) {
  const left = [...messages];
  sqs.on(GetQueueUrlCommand, { QueueName: 'sqs-incident-dlq-dev' }).resolves({ QueueUrl: DLQ_URL });
  sqs.on(GetQueueUrlCommand, { QueueName: 'sqs-incident-buffer-dev' }).resolves({ QueueUrl: BUFFER_URL });
  sqs
    .on(GetQueueAttributesCommand)
    .resolvesOnce({ Attributes: { ApproximateNumberOfMessages: String(messages.length) } })
    .resolves({ Attributes: { ApproximateNumberOfMessages: String(depthAfter) } });
  sqs.on(ReceiveMessageCommand).callsFake((input: { MaxNumberOfMessages?: number }) => ({
    Messages: left.splice(0, input.MaxNumberOfMessages ?? 1),
  }));
  sqs.on(DeleteMessageCommand).resolves({});
  sqs.on(SendMessageCommand).resolves({ MessageId: 'buffer-msg-1' });
  sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
}

const payload = (value: unknown) => Buffer.from(JSON.stringify(value)) as unknown as InvokeCommandOutput['Payload'];
const invoked = () =>
  lambda
    .commandCalls(InvokeCommand)
    .map((c) => JSON.parse(Buffer.from(c.args[0].input.Payload as Uint8Array).toString()));
const deleted = () => sqs.commandCalls(DeleteMessageCommand).map((c) => c.args[0].input.ReceiptHandle);
const madeVisible = () =>
  sqs.commandCalls(ChangeMessageVisibilityBatchCommand).flatMap((c) =>
    (c.args[0].input.Entries ?? []).map((e) => {
      expect(e.VisibilityTimeout).toBe(0);
      return e.ReceiptHandle;
    }),
  );
const row = (stdout: string, label: string) => Number(new RegExp(`^${label} +(\\S+)$`, 'm').exec(stdout)?.[1]);

beforeEach(() => {
  sqs.reset();
  lambda.reset();
});

describe('dlq:redrive --to-function (Lambda and SQS mocked)', () => {
  test('invokes the handler synchronously with each original event; deletes only what it accepted', async () => {
    const a = onFailure(ALARM);
    const b = eventBridgeDeadLetter(COMPOSITE);
    const c = onFailure(ACTION); // an alarm-action event: only the function takes it
    const d = onFailure(OK, 'still broken');
    const garbage = raw('{"hello":"world"}');
    queueHolding([a, b, c, d, garbage], 2);
    lambda.on(InvokeCommand).callsFake((input: { Payload: Uint8Array }) => {
      const event = JSON.parse(Buffer.from(input.Payload).toString()) as { id?: string };
      if (event.id === OK.id) {
        return {
          StatusCode: 200,
          FunctionError: 'Unhandled',
          Payload: payload({ errorType: 'JiraApiError', errorMessage: 'JIRA answered 503' }),
        };
      }
      return { StatusCode: 200, Payload: payload({ outcome: 'created', issueKey: 'OPS-7' }) };
    });

    const out = captureOutput();
    const code = await dlqRedrive(['--suffix', 'dev', '--to-function'], out, { progressIntervalMs: 0 });
    expect(code).toBe(1);
    for (const call of lambda.commandCalls(InvokeCommand)) {
      expect(call.args[0].input).toMatchObject({ FunctionName: FUNCTION, InvocationType: 'RequestResponse' });
    }
    expect(invoked()).toEqual([ALARM, COMPOSITE, ACTION, OK]);
    expect(deleted()).toEqual([a.ReceiptHandle, b.ReceiptHandle, c.ReceiptHandle]);
    expect(madeVisible().sort()).toEqual([d.ReceiptHandle, garbage.ReceiptHandle].sort());
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);

    const stdout = out.stdout();
    expect(stdout).toMatch(new RegExp(`^sqs-incident-dlq-dev -> function ${FUNCTION} \\(RequestResponse\\)$`, 'm'));
    expect(stdout).toMatch(
      /^moved +ServerCpuTooHigh +123456789012 +ALARM +2019-10-02T17:04:40\.989Z +JiraApiError: JIRA is down \(3 attempts\) +handler: created OPS-7/m,
    );
    expect(stdout).toMatch(/^moved +lambda-demo-metric-alarm +444455556666 +ALARM /m);
    expect(stdout).toMatch(
      /^failed +ServerCpuTooHigh +123456789012 +OK .* handler failed \(Unhandled\): JiraApiError: JIRA answered 503/m,
    );
    expect(stdout).toMatch(/^skipped .* not a Lambda on-failure record nor an EventBridge event/m);
    expect([row(stdout, 'moved'), row(stdout, 'skipped'), row(stdout, 'failed'), row(stdout, 'left in DLQ')]).toEqual([
      3, 1, 1, 2,
    ]);
    // Progress on stderr, results on stdout.
    expect(out.stderr()).toMatch(
      /^dlq:redrive: reading sqs-incident-dlq-dev \(about 5 messages\) -> function lambda-jira-incident-dev$/m,
    );
    expect(out.stderr()).toMatch(/^dlq:redrive: done: 5 received, 3 moved, 1 skipped, 1 failed$/m);
    expect(stdout).not.toContain('dlq:redrive:');
  });

  test('--dry-run --to-function invokes nothing, deletes nothing and makes every message visible again', async () => {
    const msgs = [onFailure(ALARM), eventBridgeDeadLetter(COMPOSITE), raw('garbage')];
    queueHolding(msgs, 3);
    const out = captureOutput();
    expect(await dlqRedrive(['--suffix', 'dev', '--to-function', '--dry-run'], out)).toBe(0);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
    expect(deleted()).toEqual([]);
    expect(madeVisible().sort()).toEqual(msgs.map((m) => m.ReceiptHandle).sort());
    expect([row(out.stdout(), 'would move'), row(out.stdout(), 'skipped'), row(out.stdout(), 'failed')]).toEqual([
      2, 1, 0,
    ]);
    expect(out.stdout()).toMatch(/^DRY RUN \(nothing sent, nothing deleted\): /m);
  });

  test('an invocation error (throttled, not found) fails the message and keeps it', async () => {
    const m = onFailure(ALARM);
    queueHolding([m], 1);
    lambda.on(InvokeCommand).rejects(Object.assign(new Error('Rate Exceeded.'), { name: 'TooManyRequestsException' }));
    const out = captureOutput();
    expect(await dlqRedrive(['--suffix', 'dev', '--to-function'], out)).toBe(1);
    expect(deleted()).toEqual([]);
    expect(madeVisible()).toEqual([m.ReceiptHandle]);
    expect(out.stdout()).toMatch(/^failed .* not accepted: TooManyRequestsException: Rate Exceeded\./m);
  });

  test(`stops after ${MAX_CONSECUTIVE_FAILURES} failures in a row and hands the rest back`, async () => {
    const msgs = Array.from({ length: 8 }, () => onFailure(ALARM));
    queueHolding(msgs, 8);
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, FunctionError: 'Unhandled', Payload: payload({}) });
    const out = captureOutput();
    expect(await dlqRedrive(['--suffix', 'dev', '--to-function'], out)).toBe(1);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(MAX_CONSECUTIVE_FAILURES);
    expect(deleted()).toEqual([]);
    // The whole first batch (8 <= 10) was received: the 5 failed and the 3 not attempted go back at once.
    expect(madeVisible()).toHaveLength(8);
    expect(out.stdout()).toContain('Stopped early: 5 failures in a row');
    expect(out.stderr()).toContain('dlq:redrive: stopped early: 5 failures in a row');
  });

  test('a failed delete after the handler accepted the event is a failure, not a loss (the next run repeats it)', async () => {
    const m = onFailure(ALARM);
    queueHolding([m], 1);
    sqs.on(DeleteMessageCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDenied' }));
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload({ outcome: 'duplicate' }) });
    const out = captureOutput();
    expect(await dlqRedrive(['--suffix', 'dev', '--to-function'], out)).toBe(1);
    expect(out.stdout()).toMatch(
      /^failed .*handler: duplicate, but deleting it from the DLQ failed \(AccessDenied: denied\)/m,
    );
    expect(madeVisible()).toEqual([m.ReceiptHandle]);
  });

  test('--max counts moved events and limits how many are received', async () => {
    const msgs = Array.from({ length: 5 }, () => onFailure(ALARM));
    queueHolding(msgs, 3);
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: payload({ outcome: 'created' }) });
    const out = captureOutput();
    expect(await dlqRedrive(['--suffix', 'dev', '--to-function', '--max', '2'], out)).toBe(0);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(2);
    expect(sqs.commandCalls(ReceiveMessageCommand).map((c) => c.args[0].input.MaxNumberOfMessages)).toEqual([2]);
    expect(row(out.stdout(), 'moved')).toBe(2);
  });

  test('an interrupt (Ctrl-C) stops after the current message and hands the rest back', async () => {
    const msgs = Array.from({ length: 3 }, () => onFailure(ALARM));
    queueHolding(msgs, 2);
    const controller = new AbortController();
    lambda.on(InvokeCommand).callsFake(() => {
      controller.abort();
      return { StatusCode: 200, Payload: payload({ outcome: 'created' }) };
    });
    const r = await redrive({
      suffix: 'dev',
      aws: { region: 'us-east-1' },
      toFunction: true,
      signal: controller.signal,
    });
    expect(r.stopped).toBe('interrupted');
    expect(r.counts.moved).toBe(1);
    expect(madeVisible()).toEqual([msgs[1].ReceiptHandle, msgs[2].ReceiptHandle]);
  });
});

describe('dlq:redrive to the buffer queue (SQS mocked)', () => {
  test('sends the event as the body, then deletes; SNS and alarm-action events stay (only --to-function takes them)', async () => {
    const a = onFailure(ALARM);
    const sns = onFailure(SNS);
    const action = onFailure(ACTION);
    queueHolding([a, sns, action], 2);
    const out = captureOutput();
    expect(await dlqRedrive(['--suffix', 'dev'], out)).toBe(0);
    expect(sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input)).toEqual([
      { QueueUrl: BUFFER_URL, MessageBody: JSON.stringify(ALARM) },
    ]);
    // Sent first, deleted after.
    const order = sqs.calls().map((c) => c.args[0].constructor.name);
    expect(order.indexOf('SendMessageCommand')).toBeLessThan(order.indexOf('DeleteMessageCommand'));
    expect(deleted()).toEqual([a.ReceiptHandle]);
    expect(out.stdout()).toMatch(
      /^skipped +EXAMPLE .* an SNS notification; the buffer takes EventBridge events\. Fix: --to-function/m,
    );
    expect(out.stdout()).toMatch(/^skipped +lambda-demo-metric-alarm .* an alarm-action event; the buffer takes/m);
    expect(lambda.commandCalls(InvokeCommand)).toHaveLength(0);
  });

  test('a long reason is cut in the table but printed in full below it', async () => {
    const broken = onFailure({ ...ALARM, detail: { alarmName: 'x' } });
    queueHolding([broken], 1);
    const out = captureOutput();
    expect(await dlqRedrive(['--suffix', 'dev'], out)).toBe(0);
    const reason = classify(broken, 'buffer').skip!;
    expect(reason.length).toBeGreaterThan(90);
    expect(out.stdout()).toMatch(/^skipped +\? .*…/m);
    expect(out.stdout()).toContain(`Left in the DLQ, in full:\n  ${broken.MessageId} (skipped): ${reason}\n`);
    expect(deleted()).toEqual([]);
  });

  test('a failed SendMessage keeps the message (never deleted before the intake has it)', async () => {
    const a = onFailure(ALARM);
    queueHolding([a], 1);
    sqs
      .on(SendMessageCommand)
      .rejects(Object.assign(new Error('Access to the resource is denied'), { name: 'AccessDenied' }));
    const out = captureOutput();
    expect(await dlqRedrive(['--suffix', 'dev'], out)).toBe(1);
    expect(deleted()).toEqual([]);
    expect(madeVisible()).toEqual([a.ReceiptHandle]);
  });

  test('a message received again in the same run (its visibility ran out) is not handled twice', async () => {
    const a = onFailure(ALARM);
    const again = { ...onFailure(OK), MessageId: 'first-seen', ReceiptHandle: 'rh-old' };
    const batches = [[again, a], [{ ...again, ReceiptHandle: 'rh-new' }], []];
    sqs.on(GetQueueUrlCommand).resolves({ QueueUrl: DLQ_URL });
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: {} });
    sqs.on(ReceiveMessageCommand).callsFake(() => ({ Messages: batches.shift() ?? [] }));
    sqs.on(SendMessageCommand).callsFake((input: { MessageBody: string }) => {
      if (input.MessageBody.includes(String(OK.id))) throw Object.assign(new Error('nope'), { name: 'KMS.Throttled' });
      return { MessageId: 'x' };
    });
    sqs.on(ChangeMessageVisibilityBatchCommand).resolves({});
    const r = await redrive({ suffix: 'dev', aws: { region: 'us-east-1' } });
    expect(r.reports.map((x) => [x.messageId, x.action])).toEqual([
      ['first-seen', 'failed'],
      [a.MessageId, 'moved'],
    ]);
    // The newest receipt handle is the one that works.
    expect(madeVisible()).toEqual(['rh-new']);
  });
});

describe('classify: message shapes and what the handler would accept', () => {
  test('Lambda on-failure record: the event is requestPayload; the reason is the error and the attempts', () => {
    const c = classify(onFailure(ALARM, 'boom'), 'buffer');
    expect(c).toMatchObject({
      shape: 'lambda on-failure',
      event: ALARM,
      body: JSON.stringify(ALARM),
      alarm: 'ServerCpuTooHigh',
      account: '123456789012',
      state: 'ALARM',
      stateTime: '2019-10-02T17:04:40.989Z',
      failure: 'JiraApiError: boom (3 attempts)',
    });
    expect(c.skip).toBeUndefined();
  });

  test('EventBridge dead letter: the body itself, byte for byte; the reason from ERROR_CODE / ERROR_MESSAGE', () => {
    const m = eventBridgeDeadLetter(COMPOSITE);
    m.Body = JSON.stringify(COMPOSITE, null, 2);
    expect(classify(m, 'buffer')).toMatchObject({
      shape: 'eventbridge dlq',
      body: m.Body,
      alarm: 'ServiceAggregatedAlarm',
      failure: 'SDK_CLIENT_ERROR: Lambda returned TooManyRequestsException',
    });
  });

  test('SQS dead letter from the buffer: the body is the event; the source queue when SQS names it', () => {
    const m = raw(JSON.stringify(OK));
    m.Attributes = { DeadLetterQueueSourceArn: 'arn:aws:sqs:us-east-1:111111111111:sqs-incident-buffer-dev' };
    expect(classify(m, 'buffer')).toMatchObject({
      shape: 'buffer redrive',
      body: m.Body,
      state: 'OK',
      failure: 'receive limit exceeded in sqs-incident-buffer-dev',
    });
  });

  test("the product's own events: a delayed resolve or a window end can be redriven, a heartbeat is left", () => {
    const due = {
      version: '0',
      id: 'resolve-due-1',
      source: 'observability.hub',
      'detail-type': 'Incident Resolve Due',
      detail: {
        accountId: '123456789012',
        region: 'us-east-1',
        alarmName: 'ServerCpuTooHigh',
        alarmArn: 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh',
        changeId: `sc-${'a'.repeat(40)}`,
        stateAt: '2019-10-02T17:04:40.989Z',
        stateAtMs: Date.parse('2019-10-02T17:04:40.989Z'),
        issueKey: 'OPS-1',
        dueAt: '2019-10-02T17:14:40.989Z',
        graceSeconds: 600,
      },
    };
    expect(classify(raw(JSON.stringify(due)), 'buffer')).toMatchObject({
      shape: 'buffer redrive',
      alarm: 'ServerCpuTooHigh',
      state: 'OK (delayed resolve)',
    });
    expect(classify(raw(JSON.stringify(due)), 'buffer').skip).toBeUndefined();
    const ended = {
      ...due,
      'detail-type': 'Maintenance Window Ended',
      detail: { window: 'db', endedAt: '2024-05-14T11:00:00Z' },
    };
    expect(classify(onFailure(ended), 'function')).toMatchObject({
      alarm: 'maintenance window db',
      state: 'window ended',
    });
    const heartbeat = { ...due, 'detail-type': 'CloudWatch Alarm State Change', detail: { heartbeat: true } };
    expect(classify(raw(JSON.stringify(heartbeat)), 'buffer').skip).toMatch(/an alert-path heartbeat/);
  });

  test('SNS notifications with several records list every alarm', () => {
    const c = classify(onFailure(fixture('sns-event-cloudwatch-alarm-two-records.derived.json')), 'function');
    expect(c.skip).toBeUndefined();
    expect(c.alarm).toContain(', ');
  });

  test.each([
    ['not JSON', raw('{"truncated":'), 'body is not JSON'],
    ['unknown JSON', raw('[1,2,3]'), 'not a Lambda on-failure record nor an EventBridge event'],
    [
      'a Lambda record around something else',
      onFailure({ hello: 'world' }),
      'the handler ignores it: not an EventBridge event',
    ],
    [
      'a non-state-change EventBridge event',
      raw(JSON.stringify(CONFIG_CHANGE)),
      "the handler ignores it: detail-type 'CloudWatch Alarm Configuration Change'",
    ],
    [
      'an alarm event the handler rejects',
      onFailure({ ...ALARM, detail: { alarmName: 'x' } }),
      'the handler rejects it: Invalid CloudWatch Alarm State Change event: detail.state',
    ],
  ])('%s is skipped, never moved', (_name, m, reason) => {
    for (const intake of ['buffer', 'function'] as const) {
      const c = classify(m, intake);
      expect(c.skip).toContain(reason);
    }
  });
});

describe('dlq:redrive command line', () => {
  test.each([
    [[], '--suffix is required. Fix: pass the suffix the hub was deployed with'],
    [['--suffix', 'dev', '--max', 'ten'], "--max 'ten' is not a positive whole number. Fix: e.g. --max 10"],
    [['--suffix', 'dev', '--max', '-1'], '--max needs a value'],
    [['--suffix', 'DEV'], "--suffix 'DEV' is not an environment suffix"],
    [['--suffix', 'dev', '--region', 'useast1'], "--region 'useast1' is not an AWS region code"],
    [['--suffix', 'dev', '--dry-run=yes'], '--dry-run is a switch and takes no value'],
    [['--suffix', 'dev', '--force'], 'unknown flag --force'],
  ])('%j is a usage error (exit 2) that names the fix', async (argv, message) => {
    const out = captureOutput();
    expect(await dlqRedrive(argv, out)).toBe(2);
    expect(out.stderr()).toContain(message);
    expect(sqs.calls()).toHaveLength(0);
  });

  test('--region (default us-east-1) and --profile reach the AWS clients', async () => {
    const seen: unknown[] = [];
    sqs.on(GetQueueUrlCommand).callsFake(async (_input, getClient) => {
      const config = getClient().config;
      seen.push([await config.region(), config.profile]);
      throw Object.assign(new Error('The specified queue does not exist.'), { name: 'QueueDoesNotExist' });
    });
    await dlqRedrive(['--suffix', 'dev', '--region', 'eu-central-1', '--profile', 'hub-admin'], captureOutput());
    await dlqRedrive(['--suffix', 'dev'], captureOutput());
    expect(seen).toEqual([
      ['eu-central-1', 'hub-admin'],
      ['us-east-1', undefined],
    ]);
  });

  test('a DLQ that does not exist is a usage error naming --suffix and --region', async () => {
    sqs
      .on(GetQueueUrlCommand)
      .rejects(Object.assign(new Error('The specified queue does not exist.'), { name: 'QueueDoesNotExist' }));
    const out = captureOutput();
    expect(await dlqRedrive(['--suffix', 'gone', '--region', 'eu-west-1'], out)).toBe(2);
    expect(out.stderr()).toContain(
      'the DLQ sqs-incident-dlq-gone does not exist in eu-west-1. Fix: check --suffix and --region',
    );
  });

  test('--help: usage, what it does, that a repeat is safe, examples', async () => {
    const out = captureOutput();
    expect(await dlqRedrive(['--help'], out)).toBe(0);
    const help = out.stdout();
    expect(help).toMatch(/^Usage: npm run dlq:redrive -- --suffix <s> \[--dry-run\] \[--max N\] \[--to-function\]/);
    expect(help).toContain('Safe to repeat: the handler is idempotent per event id');
    expect(help).toContain('Examples:');
    expect(help).toContain('Exit code: 0 nothing failed');
  });

  test('the entry point sets the exit code (tsx scripts/dlq-redrive.ts)', () => {
    expect(runScript('scripts/dlq-redrive.ts', ['--help'])).toMatchObject({ status: 0 });
    const r = runScript('scripts/dlq-redrive.ts', ['--max', '3']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--suffix is required');
  });
});
