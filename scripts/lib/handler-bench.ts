/**
 * The incident handler, measured: bundle size, module init time, warm latency against the local JIRA-compatible
 * HTTP server (test/integration/support/jira-server.ts) with 0 and 200 ms of injected latency, and the worst case
 * of an invocation that meets one 429 (Retry-After: 1) or one 503. AWS is mocked in-process (aws-sdk-client-mock
 * and the unit tests' DynamoDB fake), so the AWS part of "overhead" is the SDK's own marshalling only.
 * Overhead = invocation time minus the time spent waiting for JIRA (measured around every fetch).
 */
import { spawnSync } from 'node:child_process';
import { deflateRawSync } from 'node:zlib';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { PutMetricDataCommand, CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ListSubscriptionsByTopicCommand, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { FakeTable } from '../../test/lambda/helpers/fake-dynamodb';
import { faults, FakeJira } from '../../test/integration/support/jira-server';
import { buildSync } from 'esbuild';
import { bundleOptions } from '../../lib/hub/hub-function';
import { HANDLER_SOURCE_MAP } from '../../lib/hub/incident-pipeline';
import { formatTable } from './table';

const root = path.join(__dirname, '..', '..');
const ENTRY = path.join(root, 'lambda', 'jira-incident', 'index.ts');
const SECRET = { email: 'bench@example.com', apiToken: 'bench-token-0123456789' };

export interface HandlerBench {
  readonly table: string;
  readonly markdown: string;
}

const percentile = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};

/** The handler as Lambda gets it: the stack's own bundling (lib/hub/hub-function.ts bundleOptions), with its source map. */
function bundle(): { bytes: number; mapBytes: number; zipBytes: number; file: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handler-bundle-'));
  buildSync(bundleOptions(ENTRY, dir, HANDLER_SOURCE_MAP));
  const file = path.join(dir, 'index.js');
  const map = `${file}.map`;
  // What Lambda downloads: the deployment package, compressed (deflate, as in a zip).
  const zipBytes = [file, map]
    .filter((f) => fs.existsSync(f))
    .reduce((n, f) => n + deflateRawSync(fs.readFileSync(f), { level: 9 }).length, 0);
  return { bytes: fs.statSync(file).size, mapBytes: fs.existsSync(map) ? fs.statSync(map).size : 0, zipBytes, file };
}

/**
 * Cold module load of the bundle in a fresh Node.js process (median of 5), with the NODE_OPTIONS the stack sets:
 * Lambda's init phase without the runtime.
 */
function moduleInit(file: string, nodeOptions: string[]): number {
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    const result = spawnSync(
      process.execPath,
      [
        ...nodeOptions,
        '-e',
        `const t=process.hrtime.bigint();require(${JSON.stringify(file)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`,
      ],
      { encoding: 'utf8', cwd: root, env: { ...process.env, NODE_PATH: path.join(root, 'node_modules') } },
    );
    samples.push(Number(result.stdout));
  }
  return percentile(samples, 50);
}

export async function benchHandler(iterations = 200): Promise<HandlerBench> {
  const { bytes, mapBytes, zipBytes, file } = bundle();
  const initMs = moduleInit(file, HANDLER_SOURCE_MAP ? ['--enable-source-maps'] : []);
  const initNoMapMs = moduleInit(file, []);

  const jira = await new FakeJira({ email: SECRET.email, apiToken: SECRET.apiToken }).start();
  Object.assign(process.env, {
    JIRA_BASE_URL: jira.url,
    JIRA_PROJECT_KEY: 'OPS',
    JIRA_ISSUE_TYPE: 'Incident',
    JIRA_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:jira-AbC123',
    ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111111111111:sns-alerts-bench',
    INCIDENT_TABLE_NAME: 'ddb-incidents-bench',
    JIRA_TICKET_ALARM_PATTERN: '^crit-',
    JIRA_SEARCH_LAG_MS: '0',
    // Every ALARM here opens its own issue: the storm rule (at most 5 new issues per window) would turn all but the
    // first five into umbrella comments and measure something else.
    STORM_MAX_NEW_ISSUES: '1000',
    STORM_WINDOW_SECONDS: '86400',
    POWERTOOLS_LOG_LEVEL: 'WARN',
    POWERTOOLS_TRACE_ENABLED: 'false',
    AWS_REGION: 'us-east-1',
  });
  const fakeTable = new FakeTable() as unknown as Record<string, (input: unknown) => unknown>;
  const dynamo = mockClient(DynamoDBDocumentClient);
  // The DynamoDB commands the handler uses, on the unit tests' in-memory table.
  for (const [command, method] of [
    [GetCommand, 'get'],
    [UpdateCommand, 'update'],
    [PutCommand, 'put'],
    [QueryCommand, 'query'],
  ] as const) {
    if (typeof fakeTable[method] !== 'function') continue;
    dynamo
      .on(command as never)
      .callsFake(async (input: { Item?: unknown }) =>
        method === 'put' ? (fakeTable.put(input.Item), {}) : fakeTable[method](input),
      );
  }
  mockClient(SNSClient)
    .on(PublishCommand)
    .resolves({ MessageId: 'm' })
    .on(ListSubscriptionsByTopicCommand)
    .resolves({ Subscriptions: [] });
  mockClient(SecretsManagerClient)
    .on(GetSecretValueCommand)
    .resolves({ SecretString: JSON.stringify(SECRET) });
  mockClient(SQSClient).on(SendMessageCommand).resolves({}).on(SendMessageBatchCommand).resolves({ Successful: [] });
  mockClient(CloudWatchClient).on(PutMetricDataCommand).resolves({});

  let jiraMs = 0;
  const realFetch = globalThis.fetch;
  globalThis.fetch = (async (...args: Parameters<typeof fetch>) => {
    const started = performance.now();
    try {
      return await realFetch(...args);
    } finally {
      jiraMs += performance.now() - started;
    }
  }) as typeof fetch;
  // The handler's JSON logs are part of its work (serialising them) but not of the output.
  const stdout = process.stdout.write.bind(process.stdout);
  const stderr = process.stderr.write.bind(process.stderr);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  const { handler } = (await import(ENTRY)) as { handler: (e: unknown, c: Context) => Promise<unknown> };
  const context = { getRemainingTimeInMillis: () => 30_000 } as unknown as Context;
  let n = 0;
  const alarmEvent = () => {
    n += 1;
    return {
      version: '0',
      id: `bench-${n}`,
      'detail-type': 'CloudWatch Alarm State Change',
      source: 'aws.cloudwatch',
      account: '222222222222',
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: [`arn:aws:cloudwatch:us-east-1:222222222222:alarm:crit-bench-${n}`],
      detail: {
        alarmName: `crit-bench-${n}`,
        state: {
          value: 'ALARM',
          reason: 'Threshold Crossed: bench',
          timestamp: new Date(Date.now() - n).toISOString(),
        },
        previousState: { value: 'OK', reason: 'bench', timestamp: new Date(0).toISOString() },
        configuration: { description: 'bench', metrics: [] },
      },
    };
  };
  const run = async () => {
    jiraMs = 0;
    const started = performance.now();
    let failed: string | undefined;
    try {
      await handler(alarmEvent(), context);
    } catch (err) {
      failed = (err as Error).name;
    }
    const total = performance.now() - started;
    return { total, overhead: total - jiraMs, failed };
  };
  await run(); // first invocation: configuration, clients, secret
  const rows: string[][] = [];
  const results: Record<string, { total: number; overhead: number }[]> = {};
  for (const latency of [0, 200]) {
    jira.latencyMs = latency;
    const samples = [];
    for (let i = 0; i < (latency ? Math.min(iterations, 50) : iterations); i++) samples.push(await run());
    results[`${latency} ms`] = samples;
    const total = samples.map((s) => s.total);
    const overhead = samples.map((s) => s.overhead);
    rows.push([
      `ALARM -> create + email, JIRA +${latency} ms`,
      String(samples.length),
      percentile(total, 50).toFixed(1),
      percentile(total, 99).toFixed(1),
      percentile(overhead, 50).toFixed(2),
      percentile(overhead, 99).toFixed(2),
    ]);
  }
  jira.latencyMs = 0;
  for (const [label, fault] of [
    ['create meets one 429 (Retry-After: 1): retried', faults.rateLimited(1)],
    [
      'create meets one 503: email, then fail for the retry (issue 9: never re-post an unknown create)',
      faults.serviceUnavailable(),
    ],
  ] as const) {
    jira.inject('createIssue', fault);
    const sample = await run();
    const outcome = sample.failed ? ` (${sample.failed})` : '';
    // The Retry-After wait is time spent on JIRA's behalf, not handler overhead: only the total is shown.
    rows.push([`worst case: ${label}${outcome}`, '1', sample.total.toFixed(1), '', '', '']);
  }
  process.stdout.write = stdout;
  process.stderr.write = stderr;
  globalThis.fetch = realFetch;
  await jira.stop();

  const table = formatTable(['invocation', 'n', 'p50 ms', 'p99 ms', 'overhead p50 ms', 'overhead p99 ms'], rows);
  const summary = formatTable(
    ['measure', 'value', 'target'],
    [
      ['bundle (index.js, minified, AWS SDK external)', `${(bytes / 1024).toFixed(1)} KB`, '< 100 KB'],
      ['source map (index.js.map)', `${(mapBytes / 1024).toFixed(1)} KB`, ''],
      ['deployment package, compressed', `${(zipBytes / 1024).toFixed(1)} KB`, ''],
      ['module init, as deployed (cold require, median of 5)', `${initMs.toFixed(0)} ms`, ''],
      ['module init without --enable-source-maps', `${initNoMapMs.toFixed(0)} ms`, ''],
    ],
  );
  const markdown = `## Incident handler\n\nIn-process, AWS mocked (aws-sdk-client-mock and the unit tests' DynamoDB fake), JIRA the local JIRA-compatible HTTP server on loopback (OpenAPI-validated). Overhead is the invocation time minus the time spent in JIRA requests. Targets: overhead p99 under 10 ms; an invocation with a 429 or a 503 under 3 s.\n\n\`\`\`\n${summary}\n\n${table}\n\`\`\`\n`;
  return { table: `${summary}\n\n${table}`, markdown };
}
