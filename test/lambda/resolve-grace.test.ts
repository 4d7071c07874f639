/**
 * The resolve grace period (issue 10; README "Resolve grace period"): an OK that would resolve its alarm's own open
 * issue comments and is emailed at once, records the pending resolve and sends a delayed message to the buffer; the
 * message resolves only if no newer ALARM came and the incident is the same open one. A flap keeps one issue.
 */
import 'aws-sdk-client-mock-jest';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import { loadConfig } from '../../lambda/jira-incident/config';
import type { ChangeResult } from '../../lambda/jira-incident/processor';
import {
  BASE_ENV,
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
const at = (minute: number) => `2024-05-14T09:${String(minute).padStart(2, '0')}:00.000Z`;
const change = (state: 'ALARM' | 'OK' | 'INSUFFICIENT_DATA', minute: number, name = 'crit-db', account?: string) =>
  stateChange({ name, state, at: at(minute), account, previous: state === 'ALARM' ? 'OK' : 'ALARM' });
const text = (doc: unknown) => JSON.stringify(doc);
const failures = (r: unknown) => (r as SQSBatchResponse).batchItemFailures;
const item = () => h.table.items.get(PK)!;
/** The delayed messages come back through the buffer. */
const due = (i = 0) => sqsEvent('buffer', [h.delayed()[i].body]);

describe('with a grace period (RESOLVE_GRACE_SECONDS 600, BUFFER_QUEUE_URL set)', () => {
  beforeEach(() => {
    h = setUp({ BUFFER_QUEUE_URL, RESOLVE_GRACE_SECONDS: '600' });
  });

  test('the OK comments and is emailed at once, records the pending resolve and sends the delayed message', async () => {
    await h.invoke(change('ALARM', 0));
    const ok = (await h.invoke(change('OK', 5))) as ChangeResult;

    expect(ok).toMatchObject({ outcome: 'commented', issueKey: 'OPS-1' });
    const issue = h.jira.issues.get('OPS-1')!;
    expect(issue.status).toBe('To Do'); // not transitioned yet
    expect(issue.comments).toHaveLength(1);
    expect(text(issue.comments[0])).toContain(
      'OPS-1 is resolved after a grace period of 10 minutes (at 2024-05-14T10:10:00.000Z) unless the alarm goes back to ALARM first',
    );
    // The OK's email goes out now, with the ticket.
    expect(h.emails().map((e) => e.Subject)).toEqual([
      expect.stringMatching(/^\[ALARM\] crit-db .* OPS-1$/),
      expect.stringMatching(/^\[OK\] crit-db .* OPS-1$/),
    ]);
    expect(h.emails()[1].Message).toContain('resolved after the grace period, at 2024-05-14T10:10:00.000Z');
    expect(item()).toMatchObject({
      status: 'OPEN',
      pendingResolveChangeId: ok.changeId,
      pendingResolveStateAtMs: Date.parse(at(5)),
      pendingResolveDueAt: '2024-05-14T10:10:00.000Z',
    });
    expect(h.table.items.get(`CHANGE#${ok.changeId}`)).toMatchObject({
      status: 'DONE',
      outcome: 'commented',
      resolveDueAt: '2024-05-14T10:10:00.000Z',
    });
    // SQS delays a message by at most 900 s; this one by the grace period, to the buffer.
    expect(h.sqs).toHaveReceivedCommandWith(SendMessageCommand, { QueueUrl: BUFFER_QUEUE_URL, DelaySeconds: 600 });
    expect(h.delayed()[0].body).toMatchObject({
      source: 'observability.hub',
      'detail-type': 'Incident Resolve Due',
      detail: {
        accountId: '123456789012',
        region: 'us-east-1',
        alarmName: 'crit-db',
        changeId: ok.changeId,
        stateAt: at(5),
        issueKey: 'OPS-1',
        dueAt: '2024-05-14T10:10:00.000Z',
        graceSeconds: 600,
      },
    });
  });

  test('the delayed message resolves when no newer ALARM came: close, comment, transition; the next ALARM opens a new issue', async () => {
    await h.invoke(change('ALARM', 0));
    const ok = (await h.invoke(change('OK', 5))) as ChangeResult;
    h.clock.t += 600_000;

    const result = await h.invoke(due());

    expect(failures(result)).toEqual([]);
    const issue = h.jira.issues.get('OPS-1')!;
    expect(issue.status).toBe('Done');
    expect(issue.comments).toHaveLength(2);
    expect(text(issue.comments[1])).toContain(
      `Resolved: the alarm stayed OK through the grace period (10 minutes) after its OK of ${at(5)}.`,
    );
    expect(item()).toMatchObject({
      status: 'CLOSED',
      closedByChangeId: ok.changeId,
      closedIssueKey: 'OPS-1',
      graceResolvedChangeId: ok.changeId,
    });
    expect(item().pendingResolveChangeId).toBeUndefined();
    expect(h.logRecords().find((r) => r.message === 'Delayed resolve handled')).toMatchObject({ outcome: 'resolved' });
    // The resolve itself sends no email: the OK was emailed already.
    expect(h.emails()).toHaveLength(2);

    const next = (await h.invoke(change('ALARM', 30))) as ChangeResult;
    expect(next).toMatchObject({ outcome: 'created', issueKey: 'OPS-2' });
  });

  test('a flap: an ALARM within the grace period comments that the alarm is flapping; the delayed resolve does nothing', async () => {
    await h.invoke(change('ALARM', 0));
    await h.invoke(change('OK', 5));
    h.clock.t += 120_000;
    const again = (await h.invoke(change('ALARM', 7))) as ChangeResult;

    expect(again).toMatchObject({ outcome: 'commented', issueKey: 'OPS-1' });
    expect(again.reason).toContain('The alarm is flapping: it went back to ALARM within the grace period after its OK');
    const issue = h.jira.issues.get('OPS-1')!;
    expect(text(issue.comments[1])).toContain('The alarm is flapping');
    expect(item().pendingResolveChangeId).toBeUndefined();

    h.clock.t += 480_000;
    const result = await h.invoke(due());
    expect(failures(result)).toEqual([]);
    expect(issue.status).toBe('To Do');
    expect(issue.comments).toHaveLength(2);
    expect(item()).toMatchObject({ status: 'OPEN', issueKey: 'OPS-1' });
    expect(h.logRecords().find((r) => r.message === 'Delayed resolve handled')).toMatchObject({
      outcome: 'noop',
      reason: expect.stringContaining(`flap: the alarm went back to ALARM at ${at(7)}, within the grace period`),
    });
    expect(h.jira.creates).toHaveLength(1);
  });

  test('a redelivered resolve message does nothing twice; a redelivered OK is a duplicate', async () => {
    await h.invoke(change('ALARM', 0));
    await h.invoke(change('OK', 5));
    const message = h.delayed()[0].body;
    await h.invoke(sqsEvent('buffer', [message]));
    await h.invoke(sqsEvent('buffer', [message], { receiveCount: 2 }));

    const issue = h.jira.issues.get('OPS-1')!;
    expect(issue.comments).toHaveLength(2);
    expect(h.jira.requestsTo('POST', /\/transitions$/)).toHaveLength(1);
    expect(h.logRecords().filter((r) => r.message === 'Delayed resolve handled')[1]).toMatchObject({
      outcome: 'noop',
      reason: 'already resolved by an earlier delivery of this message',
    });
    expect(((await h.invoke(change('OK', 5))) as ChangeResult).outcome).toBe('duplicate');
    expect(h.delayed()).toHaveLength(1);
  });

  test('a redelivery after a crash between the close and the JIRA work finishes the work once', async () => {
    await h.invoke(change('ALARM', 0));
    await h.invoke(change('OK', 5));
    // The resolve comment fails (JIRA down): the close is recorded, the message comes back.
    h.jira.failNext(4, 503);
    const first = await h.invoke(due());
    expect(failures(first)).toHaveLength(1);
    expect(item()).toMatchObject({ status: 'CLOSED', closedAfterGraceAt: expect.any(String) });
    expect(item().graceResolvedChangeId).toBeUndefined();

    const retry = await h.invoke(due());
    expect(failures(retry)).toEqual([]);
    const issue = h.jira.issues.get('OPS-1')!;
    expect(issue.status).toBe('Done');
    expect(issue.comments.filter((c) => text(c).includes('Resolved: the alarm stayed OK'))).toHaveLength(1);
  });

  test('a newer OK supersedes the pending resolve: the first message does nothing, the second resolves', async () => {
    await h.invoke(change('ALARM', 0));
    await h.invoke(change('OK', 5));
    await h.invoke(change('ALARM', 6)); // flap: cancels the first
    await h.invoke(change('OK', 8));
    expect(h.delayed()).toHaveLength(2);

    await h.invoke(due(0));
    expect(h.jira.issues.get('OPS-1')!.status).toBe('To Do');
    expect(h.logRecords().filter((r) => r.message === 'Delayed resolve handled')[0]).toMatchObject({
      outcome: 'noop',
      reason: expect.stringContaining('flap'),
    });
    await h.invoke(due(1));
    expect(h.jira.issues.get('OPS-1')!.status).toBe('Done');
  });

  test("a late OK older than a newer OK whose resolve is pending is only emailed; the newer OK's resolve decides", async () => {
    await h.invoke(change('ALARM', 0));
    await h.invoke(change('OK', 8));
    const late = (await h.invoke(change('OK', 5))) as ChangeResult;
    expect(late).toMatchObject({
      outcome: 'notified',
      reason: `this OK (state changed at ${at(5)}) is older than the OK of ${at(8)} whose resolve is already pending (due at 2024-05-14T10:10:00.000Z)`,
    });
    expect(h.delayed()).toHaveLength(1);
    expect(h.jira.issues.get('OPS-1')!.comments).toHaveLength(1);
    await h.invoke(due());
    expect(h.jira.issues.get('OPS-1')!.status).toBe('Done');
  });

  test('an OK older than the newest ALARM still only comments, and starts no grace period', async () => {
    await h.invoke(change('ALARM', 0));
    await h.invoke(change('ALARM', 9));
    const stale = (await h.invoke(change('OK', 5))) as ChangeResult;
    expect(stale.reason).toContain('is older than the ALARM of');
    expect(h.delayed()).toEqual([]);
  });

  test('the delayed message fails to send: the OK fails (after its email) and its retry comments once', async () => {
    await h.invoke(change('ALARM', 0));
    h.sqs.on(SendMessageCommand, { QueueUrl: BUFFER_QUEUE_URL }).rejectsOnce(new Error('SQS is down'));
    const okEvent = change('OK', 5);
    await expect(h.invoke(okEvent)).rejects.toThrow(/SQS SendMessage to .*sqs-incident-buffer-test failed/);
    expect(h.jira.issues.get('OPS-1')!.comments).toHaveLength(0);

    await h.invoke(okEvent);
    expect(h.jira.issues.get('OPS-1')!.comments).toHaveLength(1);
    expect(h.delayed()).toHaveLength(2); // the failed send is recorded by the mock too
  });

  test('the issue was deleted during the OK: closed at once, the delayed message finds it closed', async () => {
    await h.invoke(change('ALARM', 0));
    h.jira.deleteIssue('OPS-1');
    const ok = (await h.invoke(change('OK', 5))) as ChangeResult;
    expect(ok).toMatchObject({ outcome: 'notified', reason: expect.stringContaining('OPS-1 was deleted or moved') });
    expect(item()).toMatchObject({ status: 'CLOSED' });
    await h.invoke(due());
    expect(h.logRecords().find((r) => r.message === 'Delayed resolve handled')).toMatchObject({ outcome: 'noop' });
  });
});

describe('incidents on a storm umbrella', () => {
  beforeEach(() => {
    h = setUp({ BUFFER_QUEUE_URL, RESOLVE_GRACE_SECONDS: '600', DIGEST_QUEUE_URL, STORM_MAX_NEW_ISSUES: '1' });
  });

  test('wait out the grace period too: counted as recovered (and the umbrella transitioned) by the delayed message', async () => {
    const a = (state: 'ALARM' | 'OK', minute: number, i: number) =>
      change(state, minute, `crit-${i}`, String(100000000000 + i));
    await h.invoke(sqsEvent('buffer', [a('ALARM', 0, 1), a('ALARM', 0, 2)]));
    const umbrella = h.jira.issues.get('OPS-2')!;
    expect(umbrella.fields.labels).toContain('alarm-storm');

    await h.invoke(sqsEvent('buffer', [a('OK', 5, 2)]));
    expect(text(umbrella.comments.at(-1))).toContain('It counts as recovered on this storm issue after a grace period');
    expect(h.delayed()[0].body).toMatchObject({
      detail: { issueKey: 'OPS-2', umbrella: 'STORM#2024-05-14T10:00:00.000Z' },
    });

    // After the storm window (15 minutes) and the grace period: the last member's recovery resolves the umbrella.
    h.clock.t += 900_000;
    await h.invoke(due());
    expect(text(umbrella.comments.at(-1))).toContain('1 of 1 alarms on this storm issue have recovered');
    expect(umbrella.status).toBe('Done');
  });
});

describe('without a grace period', () => {
  test.each([
    ['RESOLVE_GRACE_SECONDS 0', { BUFFER_QUEUE_URL, RESOLVE_GRACE_SECONDS: '0' }],
    ['no BUFFER_QUEUE_URL', { RESOLVE_GRACE_SECONDS: '600' }],
  ])('%s: the OK resolves at once, as before', async (_name, env) => {
    h = setUp(env);
    await h.invoke(change('ALARM', 0));
    const ok = (await h.invoke(change('OK', 5))) as ChangeResult;
    expect(ok).toMatchObject({ outcome: 'resolved', issueKey: 'OPS-1' });
    expect(h.jira.issues.get('OPS-1')!.status).toBe('Done');
    expect(h.delayed()).toEqual([]);
  });

  test("RESOLVE_GRACE_SECONDS is validated: at most SQS's 900 s delay, naming the variable", () => {
    h = setUp();
    expect(() => loadConfig({ ...BASE_ENV, RESOLVE_GRACE_SECONDS: '901' })).toThrow(
      /RESOLVE_GRACE_SECONDS must be a whole number between 0 and 900, got '901'/,
    );
    expect(() => loadConfig({ ...BASE_ENV, BUFFER_QUEUE_URL: 'buffer' })).toThrow(
      /BUFFER_QUEUE_URL must be an SQS queue URL/,
    );
  });
});
