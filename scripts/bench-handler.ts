/**
 * Handler overhead, JIRA excluded: the AWS clients are mocked (aws-sdk-client-mock) and JIRA is the
 * in-memory fake of the unit tests (as `fetch`, with OpenAPI validation of every body). What is left
 * is the handler's own work: parsing, idempotency and claim bookkeeping, ADF, email composition, logs.
 * Usage: npx tsx scripts/bench-handler.ts [iterations]
 */
import { performance } from 'node:perf_hooks';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { FakeTable } from '../test/lambda/helpers/fake-dynamodb';
import { FakeJira } from '../test/lambda/helpers/fake-jira';
import { EXPECTED_AUTH, fixture, SECRET } from '../test/lambda/helpers/harness';

const iterations = Number(process.argv[2] ?? 1000);
Object.assign(process.env, {
  JIRA_BASE_URL: 'https://example.atlassian.net',
  JIRA_PROJECT_KEY: 'OPS',
  JIRA_ISSUE_TYPE: 'Incident',
  JIRA_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:jira-AbC123',
  ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111111111111:sns-alerts-bench',
  INCIDENT_TABLE_NAME: 'ddb-incidents-bench',
  JIRA_TICKET_ALARM_PATTERN: '^crit-',
  POWERTOOLS_LOG_LEVEL: 'INFO',
});

async function main() {
  const table = new FakeTable();
  const jira = new FakeJira(process.env.JIRA_BASE_URL as string, EXPECTED_AUTH);
  mockClient(SNSClient).on(PublishCommand).resolves({ MessageId: 'm' });
  mockClient(SecretsManagerClient)
    .on(GetSecretValueCommand)
    .resolves({ SecretString: JSON.stringify(SECRET) });
  const dynamo = mockClient(DynamoDBDocumentClient);
  dynamo.on(UpdateCommand).callsFake(async (input) => table.update(input));
  dynamo.on(GetCommand).callsFake(async (input) => table.get(input));
  globalThis.fetch = jira.fetch as typeof fetch;
  // Logs are part of the work (serialising JSON) but not of the output.
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  const { handler } = await import('../lambda/jira-incident/index');

  const base = fixture('eventbridge-alarm-state-change-single-metric.awsdocs.json');
  const context = { getRemainingTimeInMillis: () => 30_000 } as unknown as Context;
  const event = (i: number, alarmName: string, state = 'ALARM') => {
    const e = structuredClone(base) as { id: string; detail: { alarmName: string; state: { value: string } } };
    e.id = `bench-${i}-${alarmName}-${state}`;
    e.detail.alarmName = alarmName;
    e.detail.state.value = state;
    return e;
  };
  const measure = async (label: string, make: (i: number) => unknown) => {
    const samples: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const e = make(i);
      const start = performance.now();
      await handler(e, context);
      samples.push(performance.now() - start);
    }
    samples.sort((a, b) => a - b);
    const q = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))].toFixed(2);
    return `${label.padEnd(34)} p50 ${q(0.5)} ms  p95 ${q(0.95)} ms  p99 ${q(0.99)} ms`;
  };

  const coldStart = performance.now();
  await handler(event(-1, 'warmup'), context);
  const cold = performance.now() - coldStart;
  const lines = [
    `first invocation (config, clients, secret): ${cold.toFixed(1)} ms`,
    await measure('email only (not critical)', (i) => event(i, `notify-${i}`)),
    await measure('ALARM -> create issue + email', (i) => event(i, `crit-${i}`)),
    await measure('repeat ALARM -> comment + email', (i) => event(i + iterations, `crit-${i}`)),
    await measure('OK -> comment + email', (i) => event(i, `crit-${i}`, 'OK')),
    await measure('duplicate delivery', (i) => event(i, `crit-${i}`, 'OK')),
  ];
  process.stdout.write = write;
  console.log(`handler overhead, JIRA and AWS mocked, ${iterations} iterations each (Node ${process.version})`);
  for (const line of lines) console.log(line);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
