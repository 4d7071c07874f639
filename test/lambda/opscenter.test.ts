/**
 * OpsCenter (issue 10; README "OpsCenter"), OPSCENTER_ENABLED=true: a critical ALARM that opens an incident also
 * opens an OpsItem deduplicated per alarm, with the JIRA key in its operational data and its id in the JIRA issue and
 * on the ALARM# item; the OK that resolves the incident resolves it. OpsCenter failures never block JIRA or email.
 * moto has no OpsItems API, so these run against aws-sdk-client-mock (test/lambda/helpers/harness.ts).
 */
import 'aws-sdk-client-mock-jest';
import { PublishCommand } from '@aws-sdk/client-sns';
import { CreateOpsItemCommand, OpsItemAlreadyExistsException, UpdateOpsItemCommand } from '@aws-sdk/client-ssm';
import type { SQSBatchResponse } from 'aws-lambda';
import { alarmDedupString, OPS_ITEM_SOURCE } from '../../lambda/jira-incident/opscenter';
import type { ChangeResult } from '../../lambda/jira-incident/processor';
import {
  BUFFER_QUEUE_URL,
  DIGEST_QUEUE_URL,
  setUp,
  sqsEvent,
  stateChange,
  type Harness,
  finish,
} from './helpers/harness';

let h: Harness;
afterEach(() => finish(h));

const PK = 'ALARM#123456789012#us-east-1#crit-db';
const ARN = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:crit-db';
const at = (minute: number) => `2024-05-14T09:${String(minute).padStart(2, '0')}:00.000Z`;
const change = (state: 'ALARM' | 'OK', minute: number, name = 'crit-db', account?: string) =>
  stateChange({ name, state, at: at(minute), account, previous: state === 'ALARM' ? 'OK' : 'ALARM' });
const text = (doc: unknown) => JSON.stringify(doc);
const ALARM = { accountId: '123456789012', region: 'us-east-1', alarmName: 'crit-db' };
const failures = (r: unknown) => (r as SQSBatchResponse).batchItemFailures;

describe('OPSCENTER_ENABLED=true', () => {
  beforeEach(() => {
    h = setUp({ OPSCENTER_ENABLED: 'true' });
  });

  test('the ALARM that opens the incident creates one OpsItem, deduplicated per alarm, named in the issue', async () => {
    const out = (await h.invoke(change('ALARM', 0))) as ChangeResult;

    expect(out).toMatchObject({ outcome: 'created', issueKey: 'OPS-1' });
    expect(out.reason).toContain('OpsCenter OpsItem oi-000000000001');
    const [created] = h.opsItems().created;
    expect(created).toMatchObject({
      Title: '[ALARM] crit-db (account 123456789012, us-east-1)',
      Source: OPS_ITEM_SOURCE,
      Severity: '2',
      Priority: 2,
      Category: 'Availability',
      OperationalData: {
        '/aws/dedup': { Type: 'SearchableString', Value: JSON.stringify({ dedupString: alarmDedupString(ALARM) }) },
        '/aws/resources': { Type: 'SearchableString', Value: JSON.stringify([{ arn: ARN }]) },
        jiraIssueKey: { Type: 'SearchableString', Value: 'OPS-1' },
        jiraIssueUrl: { Type: 'String', Value: 'https://example.atlassian.net/browse/OPS-1' },
        alarmName: { Type: 'SearchableString', Value: 'crit-db' },
      },
    });
    // "The source name can't contain the following strings: aws, amazon, and amzn" (CreateOpsItem).
    expect(created.Source).not.toMatch(/aws|amazon|amzn/i);
    expect(created.Description).toContain('JIRA issue: OPS-1 https://example.atlassian.net/browse/OPS-1');
    expect(created.Description!.length).toBeLessThanOrEqual(2048);
    // The dedup string is per alarm (account, region, name), fixed length.
    expect(alarmDedupString({ accountId: '123456789012', region: 'us-east-1', alarmName: 'crit-db' })).toMatch(
      /^cw-alarm-[0-9a-f]{40}$/,
    );
    expect(alarmDedupString({ accountId: '123456789013', region: 'us-east-1', alarmName: 'crit-db' })).not.toBe(
      alarmDedupString({ accountId: '123456789012', region: 'us-east-1', alarmName: 'crit-db' }),
    );
    const issue = h.jira.issues.get('OPS-1')!;
    expect(issue.comments).toHaveLength(1);
    expect(text(issue.comments[0])).toContain('oi-000000000001');
    expect(h.table.items.get(PK)).toMatchObject({ status: 'OPEN', opsItemId: 'oi-000000000001' });
    expect(h.emails()[0].Message).toContain('OpsCenter OpsItem oi-000000000001');
  });

  test('a repeat ALARM opens no second OpsItem; the OK resolves it (Status Resolved)', async () => {
    await h.invoke(change('ALARM', 0));
    await h.invoke(change('ALARM', 2));
    expect(h.opsItems().created).toHaveLength(1);

    const ok = (await h.invoke(change('OK', 5))) as ChangeResult;
    expect(ok).toMatchObject({ outcome: 'resolved', issueKey: 'OPS-1' });
    expect(ok.reason).toContain('OpsCenter OpsItem oi-000000000001 resolved');
    expect(h.ssm).toHaveReceivedCommandWith(UpdateOpsItemCommand, { OpsItemId: 'oi-000000000001', Status: 'Resolved' });
    expect(h.table.items.get(PK)).toMatchObject({ status: 'CLOSED', closedOpsItemId: 'oi-000000000001' });

    // The next incident gets a new OpsItem (AWS creates one again once the old one is Resolved).
    await h.invoke(change('ALARM', 30));
    expect(h.opsItems().created).toHaveLength(2);
    expect(h.table.items.get(PK)).toMatchObject({ issueKey: 'OPS-2', opsItemId: 'oi-000000000002' });
  });

  test('an open duplicate (OpsItemAlreadyExistsException) is adopted', async () => {
    h.ssm.on(CreateOpsItemCommand).rejectsOnce(
      new OpsItemAlreadyExistsException({
        message: 'The OpsItem already exists.',
        OpsItemId: 'oi-0123456789ab',
        $metadata: {},
      }),
    );
    const out = (await h.invoke(change('ALARM', 0))) as ChangeResult;
    expect(out.reason).toContain('OpsCenter OpsItem oi-0123456789ab');
    expect(h.table.items.get(PK)).toMatchObject({ opsItemId: 'oi-0123456789ab' });
  });

  test('OpsCenter failing never blocks JIRA or the email: logged and reported in the result', async () => {
    h.ssm.on(CreateOpsItemCommand).rejects(new Error('Rate exceeded'));
    const out = (await h.invoke(change('ALARM', 0))) as ChangeResult;

    expect(out).toMatchObject({ outcome: 'created', issueKey: 'OPS-1' });
    expect(out.reason).toContain('OpsCenter: SSM CreateOpsItem failed: Error: Rate exceeded');
    expect(h.sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(h.table.items.get(`CHANGE#${out.changeId}`)).toMatchObject({ status: 'DONE', outcome: 'created' });
    expect(h.logRecords().find((r) => r.message?.toString().startsWith('OpsCenter: could not create'))).toBeDefined();

    h.ssm.on(UpdateOpsItemCommand).rejects(new Error('nope'));
    const ok = (await h.invoke(change('OK', 5))) as ChangeResult;
    expect(ok).toMatchObject({ outcome: 'resolved' });
    expect(h.ssm).not.toHaveReceivedCommand(UpdateOpsItemCommand); // nothing to resolve: none was created
  });

  test('a failing UpdateOpsItem is reported; the incident still closes and the issue resolves', async () => {
    await h.invoke(change('ALARM', 0));
    h.ssm.on(UpdateOpsItemCommand).rejects(new Error('ThrottlingException'));
    const ok = (await h.invoke(change('OK', 5))) as ChangeResult;
    expect(ok).toMatchObject({ outcome: 'resolved', issueKey: 'OPS-1' });
    expect(ok.reason).toContain('OpsCenter: SSM UpdateOpsItem oi-000000000001 failed');
    expect(h.jira.issues.get('OPS-1')!.status).toBe('Done');
  });

  test('a retry of the ALARM (its email failed) names the OpsItem in the issue once', async () => {
    h.sns.on(PublishCommand).rejectsOnce(new Error('SNS down'));
    const event = change('ALARM', 0);
    await expect(h.invoke(event)).rejects.toThrow(/SNS down/);
    await h.invoke(event);
    expect(h.jira.issues.get('OPS-1')!.comments).toHaveLength(1);
    expect(h.table.items.get(PK)).toMatchObject({ opsItemId: 'oi-000000000001' });
  });
});

describe('OpsCenter with the grace period and storms', () => {
  test('with a grace period, the delayed resolve resolves the OpsItem', async () => {
    h = setUp({ OPSCENTER_ENABLED: 'true', BUFFER_QUEUE_URL, RESOLVE_GRACE_SECONDS: '600' });
    await h.invoke(change('ALARM', 0));
    await h.invoke(change('OK', 5));
    expect(h.opsItems().updated).toEqual([]);
    await h.invoke(sqsEvent('buffer', [h.delayed()[0].body]));
    expect(h.opsItems().updated).toEqual([{ OpsItemId: 'oi-000000000001', Status: 'Resolved' }]);
  });

  test("a storm: the umbrella issue gets the storm's one OpsItem, its members none; resolved with the umbrella", async () => {
    h = setUp({ OPSCENTER_ENABLED: 'true', DIGEST_QUEUE_URL, STORM_MAX_NEW_ISSUES: '1' });
    const a = (state: 'ALARM' | 'OK', minute: number, i: number) =>
      change(state, minute, `crit-${i}`, String(100000000000 + i));
    const result = await h.invoke(sqsEvent('buffer', [a('ALARM', 0, 1), a('ALARM', 0, 2), a('ALARM', 0, 3)]));
    expect(failures(result)).toEqual([]);

    const created = h.opsItems().created;
    expect(created.map((c) => c.OperationalData?.jiraIssueKey?.Value)).toEqual(['OPS-1', 'OPS-2']);
    expect(created[1].Title).toBe('Alarm storm since 2024-05-14T10:00:00.000Z (JIRA OPS-2)');
    expect(h.table.items.get('STORM#2024-05-14T10:00:00.000Z')).toMatchObject({ umbrellaOpsItemId: 'oi-000000000002' });
    expect(text(h.jira.issues.get('OPS-2')!.comments)).toContain('oi-000000000002');

    h.clock.t += 900_000; // the window ended
    await h.invoke(sqsEvent('buffer', [a('OK', 20, 2), a('OK', 20, 3)]));
    expect(h.jira.issues.get('OPS-2')!.status).toBe('Done');
    expect(h.opsItems().updated).toEqual([{ OpsItemId: 'oi-000000000002', Status: 'Resolved' }]);
  });
});

test('off by default: no OpsCenter call', async () => {
  h = setUp();
  await h.invoke(change('ALARM', 0));
  await h.invoke(change('OK', 5));
  expect(h.ssm).not.toHaveReceivedAnyCommand();
});
