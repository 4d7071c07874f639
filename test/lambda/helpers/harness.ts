/** Shared set-up for handler tests: environment, AWS mocks, the fake JIRA and table, a fake clock, captured logs. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudWatchClient, PutMetricDataCommand, type PutMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  ListSubscriptionsByTopicCommand,
  PublishCommand,
  SNSClient,
  type PublishCommandInput,
} from '@aws-sdk/client-sns';
import {
  ChangeMessageVisibilityBatchCommand,
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  type SendMessageCommandInput,
} from '@aws-sdk/client-sqs';
import {
  CreateOpsItemCommand,
  SSMClient,
  UpdateOpsItemCommand,
  type CreateOpsItemCommandInput,
  type UpdateOpsItemCommandInput,
} from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import type { Clock } from '../../../lambda/jira-incident/clock';
import { parseEvent } from '../../../lambda/jira-incident/events';
import { handler, resetForTests, type HandlerResult } from '../../../lambda/jira-incident/index';
import { FakeTable } from './fake-dynamodb';
import { FakeJira } from './fake-jira';

export const FIXTURES = join(__dirname, '..', '..', 'fixtures', 'events');

export function fixture<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as T;
}

/** Sets the state time of an EventBridge or alarm-action event (another time: another state change). */
export function withStateTime<T>(event: T, stateTime: string): T {
  const e = event as { detail?: { state: { timestamp: string } }; alarmData?: { state: { timestamp: string } } };
  (e.detail ?? e.alarmData)!.state.timestamp = stateTime;
  return event;
}

/** The state change id the handler derives for a (single-change) event. */
export function changeIdOf(event: unknown): string {
  const parsed = parseEvent(structuredClone(event));
  if (parsed.kind === 'change') return parsed.change.changeId;
  if (parsed.kind === 'sns' && parsed.records.length === 1 && 'change' in parsed.records[0]) {
    return parsed.records[0].change.changeId;
  }
  throw new Error(`not a single state change: ${parsed.kind}`);
}

export const SECRET = { email: 'incident-bot@example.com', apiToken: 'tok-SuperSecret-0123456789' };
export const EXPECTED_AUTH = `Basic ${Buffer.from(`${SECRET.email}:${SECRET.apiToken}`).toString('base64')}`;

export const BASE_ENV = {
  JIRA_BASE_URL: 'https://example.atlassian.net',
  JIRA_PROJECT_KEY: 'OPS',
  JIRA_ISSUE_TYPE: 'Incident',
  JIRA_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:999999999999:secret:jira-incident-test-AbCdEf',
  ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:999999999999:sns-alerts-test',
  INCIDENT_TABLE_NAME: 'dynamodb-incidents-test',
  // Critical: the CPU, traffic, composite, anomaly, payments and Lambda-action fixtures; not: the SNS "EXAMPLE".
  JIRA_TICKET_ALARM_PATTERN: '^(ServerCpu|TotalNetwork|ServiceAggregated|payments-|lambda-demo-|crit)',
  JIRA_RESOLVE_TRANSITION: 'Done',
};
const TUNING_KEYS = [
  'JIRA_REQUEST_TIMEOUT_MS',
  'JIRA_MAX_ATTEMPTS',
  'JIRA_SEARCH_LAG_MS',
  'STORM_MAX_NEW_ISSUES',
  'STORM_WINDOW_SECONDS',
  'DIGEST_QUEUE_URL',
  'ACCOUNT_NAMES',
  'QUEUE_RETRY_BASE_SECONDS',
  'BUFFER_QUEUE_URL',
  'RESOLVE_GRACE_SECONDS',
  'OPSCENTER_ENABLED',
  'MAINTENANCE_WINDOWS',
  'PIPELINE_METRIC_NAMESPACE',
] as const;
const ENV_KEYS = [...Object.keys(BASE_ENV), ...TUNING_KEYS];

/** The queues of the deployed pipeline (names as lib/naming.ts builds them for suffix `test`). */
export const QUEUES = {
  buffer: 'arn:aws:sqs:us-east-1:999999999999:sqs-incident-buffer-test',
  digest: 'arn:aws:sqs:us-east-1:999999999999:sqs-incident-digest-test',
  dlq: 'arn:aws:sqs:us-east-1:999999999999:sqs-incident-dlq-test',
};
export const DIGEST_QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/999999999999/sqs-incident-digest-test';
export const BUFFER_QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/999999999999/sqs-incident-buffer-test';
const DLQ_URL = 'https://sqs.us-east-1.amazonaws.com/999999999999/sqs-incident-dlq-test';
export const MAX_RECEIVES = 20;

let messageSeq = 0;
/** An SQS event of the buffer or digest mapping carrying these bodies (objects are JSON-encoded). */
export function sqsEvent(
  queue: 'buffer' | 'digest',
  bodies: unknown[],
  opts: { receiveCount?: number | ((i: number) => number) } = {},
): SQSEvent {
  const records: SQSRecord[] = bodies.map((body, i) => {
    const n = typeof opts.receiveCount === 'function' ? opts.receiveCount(i) : (opts.receiveCount ?? 1);
    const id = `msg-${++messageSeq}`;
    return {
      messageId: id,
      receiptHandle: `rh-${id}`,
      body: typeof body === 'string' ? body : JSON.stringify(body),
      attributes: {
        ApproximateReceiveCount: String(n),
        SentTimestamp: '1715680800000',
        SenderId: 'AIDAEXAMPLE',
        ApproximateFirstReceiveTimestamp: '1715680800001',
      },
      messageAttributes: {},
      md5OfBody: 'x',
      eventSource: 'aws:sqs',
      eventSourceARN: QUEUES[queue],
      awsRegion: 'us-east-1',
    };
  });
  return { Records: records };
}

export class FakeClock implements Clock {
  t = Date.parse('2024-05-14T10:00:00.000Z');
  readonly sleeps: number[] = [];
  jitter = 0.5;
  now = (): number => this.t;
  random = (): number => this.jitter;
  sleep = async (ms: number): Promise<void> => {
    this.sleeps.push(ms);
    this.t += ms;
    await new Promise((resolve) => setImmediate(resolve));
  };
}

export function lambdaContext(remainingMs = 30_000): Context {
  return {
    functionName: 'lambda-jira-incident-test',
    awsRequestId: 'req-1',
    getRemainingTimeInMillis: () => remainingMs,
  } as unknown as Context;
}

export interface Harness {
  readonly clock: FakeClock;
  readonly table: FakeTable;
  readonly jira: FakeJira;
  readonly sns: ReturnType<typeof mockClient>;
  readonly secrets: ReturnType<typeof mockClient>;
  readonly dynamo: ReturnType<typeof mockClient>;
  readonly sqs: ReturnType<typeof mockClient>;
  readonly cloudwatch: ReturnType<typeof mockClient>;
  readonly ssm: ReturnType<typeof mockClient>;
  readonly logs: string[];
  invoke(event: unknown, remainingMs?: number): Promise<HandlerResult>;
  emails(): PublishCommandInput[];
  /** Bodies sent to the digest queue (SendMessageBatch), in order. */
  forwarded(): string[];
  /** ChangeMessageVisibility entries: receipt handle -> seconds. */
  visibility(): Record<string, number>;
  /** Records put into the DLQ by the handler (parsed). */
  deadLetters(): Record<string, unknown>[];
  /** Messages the handler sent to the buffer queue itself (delayed resolves), parsed, with their delay. */
  delayed(): { body: Record<string, unknown>; delaySeconds?: number }[];
  /** PutMetricData calls. */
  metrics(): PutMetricDataCommandInput[];
  /** OpsCenter calls. */
  opsItems(): { created: CreateOpsItemCommandInput[]; updated: UpdateOpsItemCommandInput[] };
  logRecords(): Record<string, unknown>[];
  restore(): void;
}

/**
 * The end of a test: restores the environment and the mocks (always, also when the test broke the spec), then
 * requires that no JIRA request the handler sent broke the OpenAPI spec.
 */
export function finish(h: Harness | undefined): void {
  if (!h) return;
  const violations = [...h.jira.specViolations];
  h.restore();
  expect(violations).toEqual([]);
}

export function setUp(
  env: Partial<Record<keyof typeof BASE_ENV | (typeof TUNING_KEYS)[number], string | undefined>> = {},
): Harness {
  const saved = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));
  for (const k of ENV_KEYS) delete process.env[k];
  for (const [k, v] of Object.entries({ ...BASE_ENV, ...env })) if (v !== undefined) process.env[k] = v;

  const clock = new FakeClock();
  const table = new FakeTable();
  const jira = new FakeJira(process.env.JIRA_BASE_URL ?? '', EXPECTED_AUTH);
  const sns = mockClient(SNSClient);
  sns.on(PublishCommand).resolves({ MessageId: 'msg-1' });
  const secrets = mockClient(SecretsManagerClient);
  secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(SECRET) });
  const dynamo = mockClient(DynamoDBDocumentClient);
  dynamo.on(UpdateCommand).callsFake(async (input) => table.update(input));
  dynamo.on(GetCommand).callsFake(async (input) => table.get(input));
  const sqs = mockClient(SQSClient);
  sqs.on(SendMessageBatchCommand).callsFake(async (input: { Entries: { Id: string }[] }) => ({
    Successful: input.Entries.map((e) => ({ Id: e.Id, MessageId: `fwd-${e.Id}` })),
    Failed: [],
  }));
  sqs.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
  sqs.on(SendMessageCommand).resolves({ MessageId: 'dlq-1' });
  sqs.on(GetQueueAttributesCommand).resolves({
    Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: QUEUES.dlq, maxReceiveCount: MAX_RECEIVES }) },
  });
  sns.on(ListSubscriptionsByTopicCommand).resolves({
    Subscriptions: [
      {
        SubscriptionArn: 'arn:aws:sns:us-east-1:999999999999:sns-alerts-test:3f1c0a5e-1111-2222-3333-444455556666',
        Protocol: 'email',
        Endpoint: 'oncall@example.com',
        TopicArn: 'arn:aws:sns:us-east-1:999999999999:sns-alerts-test',
      },
    ],
  });
  const cloudwatch = mockClient(CloudWatchClient);
  cloudwatch.on(PutMetricDataCommand).resolves({});
  const ssm = mockClient(SSMClient);
  let opsItem = 0;
  ssm.on(CreateOpsItemCommand).callsFake(async () => ({ OpsItemId: `oi-${String(++opsItem).padStart(12, '0')}` }));
  ssm.on(UpdateOpsItemCommand).resolves({});
  const fetchSpy = jest.spyOn(globalThis, 'fetch').mockImplementation(jira.fetch);
  const logs: string[] = [];
  // Powertools writes INFO/WARN to stdout and ERROR to stderr.
  const capture = (chunk: string | Uint8Array) => {
    logs.push(String(chunk));
    return true;
  };
  const writeSpies = [
    jest.spyOn(process.stdout, 'write').mockImplementation(capture),
    jest.spyOn(process.stderr, 'write').mockImplementation(capture),
  ];
  resetForTests({ clock });

  return {
    clock,
    table,
    jira,
    sns,
    secrets,
    dynamo,
    sqs,
    cloudwatch,
    ssm,
    logs,
    invoke: (event, remainingMs) => handler(event, lambdaContext(remainingMs)),
    emails: () => sns.commandCalls(PublishCommand).map((c) => c.args[0].input as PublishCommandInput),
    forwarded: () =>
      sqs
        .commandCalls(SendMessageBatchCommand)
        .flatMap((c) => (c.args[0].input as { Entries: { MessageBody: string }[] }).Entries.map((e) => e.MessageBody)),
    visibility: () =>
      Object.fromEntries(
        sqs
          .commandCalls(ChangeMessageVisibilityBatchCommand)
          .flatMap((c) =>
            (c.args[0].input as { Entries: { ReceiptHandle: string; VisibilityTimeout: number }[] }).Entries.map(
              (e) => [e.ReceiptHandle, e.VisibilityTimeout] as const,
            ),
          ),
      ),
    deadLetters: () =>
      sqs
        .commandCalls(SendMessageCommand)
        .map((c) => c.args[0].input as SendMessageCommandInput)
        .filter((i) => i.QueueUrl === DLQ_URL)
        .map((i) => JSON.parse(i.MessageBody!) as Record<string, unknown>),
    delayed: () =>
      sqs
        .commandCalls(SendMessageCommand)
        .map((c) => c.args[0].input as SendMessageCommandInput)
        .filter((i) => i.QueueUrl === BUFFER_QUEUE_URL)
        .map((i) => ({ body: JSON.parse(i.MessageBody!) as Record<string, unknown>, delaySeconds: i.DelaySeconds })),
    metrics: () =>
      cloudwatch.commandCalls(PutMetricDataCommand).map((c) => c.args[0].input as PutMetricDataCommandInput),
    opsItems: () => ({
      created: ssm.commandCalls(CreateOpsItemCommand).map((c) => c.args[0].input as CreateOpsItemCommandInput),
      updated: ssm.commandCalls(UpdateOpsItemCommand).map((c) => c.args[0].input as UpdateOpsItemCommandInput),
    }),
    logRecords: () =>
      logs
        .join('')
        .split('\n')
        .filter((l) => l.trim().startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    restore: () => {
      fetchSpy.mockRestore();
      for (const spy of writeSpies) spy.mockRestore();
      sns.restore();
      secrets.restore();
      dynamo.restore();
      sqs.restore();
      cloudwatch.restore();
      ssm.restore();
      for (const k of ENV_KEYS) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
      resetForTests();
    },
  };
}

type State = 'ALARM' | 'OK' | 'INSUFFICIENT_DATA';
const STATE_FIXTURE: Record<State, string> = {
  ALARM: 'eventbridge-alarm-state-change-single-metric.awsdocs.json',
  OK: 'eventbridge-alarm-state-change-ok.derived.json',
  INSUFFICIENT_DATA: 'eventbridge-alarm-state-change-insufficient-data.derived.json',
};

let eventSeq = 0;
/**
 * An EventBridge state change of alarm `name` (from the fixtures): name, account, state time and previous state
 * as given. Critical names start with `crit` (BASE_ENV's pattern); `warn-...` alarms are email-only.
 */
export function stateChange(opts: {
  name: string;
  state: State;
  previous?: State;
  account?: string;
  at?: string;
  id?: string;
}): Record<string, unknown> & { id: string; detail: Record<string, unknown> } {
  const e = fixture<Record<string, unknown> & { id: string; detail: Record<string, unknown> }>(
    STATE_FIXTURE[opts.state],
  );
  const account = opts.account ?? '123456789012';
  e.id = opts.id ?? `evt-${++eventSeq}`;
  e.account = account;
  e.resources = [`arn:aws:cloudwatch:us-east-1:${account}:alarm:${opts.name}`];
  e.detail.alarmName = opts.name;
  const state = e.detail.state as { timestamp: string };
  state.timestamp = opts.at ?? state.timestamp;
  if (opts.previous) (e.detail.previousState as { value: string }).value = opts.previous;
  return e;
}
