/**
 * Issue 9: the incident lifecycle under late, repeated and reordered events and under people who edit JIRA.
 * Each rule of lambda/jira-incident/README.md ("Late, repeated and reordered events", "Issues people delete
 * or move", "Rotated tokens", "Creates whose outcome is unknown", "One state change, many paths") has a test
 * here that fails when the rule breaks.
 */
import 'aws-sdk-client-mock-jest';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { IncidentBusyError } from '../../lambda/jira-incident/errors';
import type { ChangeResult } from '../../lambda/jira-incident/processor';
import { json } from './helpers/fake-jira';
import { BASE_ENV, changeIdOf, fixture, SECRET, setUp, type Harness, finish } from './helpers/harness';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- test data is mutated by path
type State = 'ALARM' | 'OK' | 'INSUFFICIENT_DATA';

const PK = 'ALARM#123456789012#us-east-1#ServerCpuTooHigh';
const ARN = 'arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh';
/** State times of the alarm, minutes past 17:00 on 2019-10-02 (the fixture's day). */
const t = (minute: number) => `2019-10-02T17:${String(minute).padStart(2, '0')}:40.989Z`;
const ms = (minute: number) => Date.parse(t(minute));

/** A state change of ServerCpuTooHigh (a ticketed alarm) as EventBridge delivers it. */
function eb(state: State, minute: number, id = `eb-${state}-${minute}`): Json {
  const e = fixture<Json>('eventbridge-alarm-state-change-single-metric.awsdocs.json');
  e.id = id;
  e.detail.state.value = state;
  e.detail.state.timestamp = t(minute).replace('Z', '+0000');
  if (state !== 'ALARM') e.detail.state.reason = `${state} at minute ${minute}`;
  return e;
}

/** The same state change as an SNS notification (the alarm's SNS action). */
function sns(state: State, minute: number, messageId = `sns-${state}-${minute}`): Json {
  const e = fixture<Json>('sns-event-cloudwatch-alarm-single-metric.aws-lambda-go.json');
  const message = JSON.parse(e.Records[0].Sns.Message);
  Object.assign(message, {
    AlarmName: 'ServerCpuTooHigh',
    AWSAccountId: '123456789012',
    AlarmArn: ARN,
    Region: 'US East (N. Virginia)',
    NewStateValue: state,
    StateChangeTime: t(minute).replace('Z', '+0000'),
  });
  e.Records[0].Sns.Message = JSON.stringify(message);
  e.Records[0].Sns.MessageId = messageId;
  return e;
}

/** The same state change as the event of a CloudWatch Lambda alarm action. */
function action(state: State, minute: number): Json {
  const e = fixture<Json>('lambda-alarm-action-metric.derived.json');
  Object.assign(e, { alarmArn: ARN, accountId: '123456789012', region: 'us-east-1' });
  e.alarmData.alarmName = 'ServerCpuTooHigh';
  e.alarmData.state.value = state;
  e.alarmData.state.timestamp = t(minute).replace('Z', '+0000');
  return e;
}

const single = (r: unknown): ChangeResult => (r as { results?: ChangeResult[] }).results?.[0] ?? (r as ChangeResult);
const texts = (doc: unknown) => JSON.stringify(doc);

let h: Harness;
afterEach(() => finish(h));

describe('the alarm state time orders everything', () => {
  beforeEach(() => {
    h = setUp();
  });

  test('a late OK older than the newest handled ALARM comments that it is out of order and resolves nothing', async () => {
    expect(await h.invoke(eb('ALARM', 4))).toMatchObject({ outcome: 'created', issueKey: 'OPS-1' });
    expect(await h.invoke(eb('ALARM', 30))).toMatchObject({ outcome: 'commented', issueKey: 'OPS-1' });

    const late = await h.invoke(eb('OK', 20));

    const reason =
      'this OK (state changed at 2019-10-02T17:20:40.989Z) is older than the ALARM of 2019-10-02T17:30:40.989Z ' +
      'that is already on the issue: the incident stays open';
    expect(late).toMatchObject({ outcome: 'commented', issueKey: 'OPS-1', reason });
    expect(texts(h.jira.issues.get('OPS-1')?.comments.at(-1))).toContain(reason);
    expect(h.jira.requestsTo('POST', /\/transitions$/)).toHaveLength(0);
    expect(h.jira.issues.get('OPS-1')?.status).toBe('To Do');
    expect(h.table.items.get(PK)).toMatchObject({
      status: 'OPEN',
      issueKey: 'OPS-1',
      lastAlarmStateAtMs: ms(30),
      lastOkStateAtMs: ms(20),
    });
    expect(h.emails()[2].Message).toContain(reason);

    // The alarm is still in ALARM: the next ALARM comments on the same issue; a newer OK resolves it.
    expect(await h.invoke(eb('ALARM', 40))).toMatchObject({ outcome: 'commented', issueKey: 'OPS-1' });
    expect(await h.invoke(eb('OK', 50))).toMatchObject({ outcome: 'resolved', issueKey: 'OPS-1' });
    expect(h.jira.issues.get('OPS-1')?.status).toBe('Done');
    expect(h.jira.creates).toHaveLength(1);
  });

  test('a retried ALARM older than an OK handled meanwhile opens no issue (the OK was handled with nothing open)', async () => {
    h.restore();
    h = setUp({ JIRA_MAX_ATTEMPTS: '1' });
    h.jira.failNext(1, 503);
    await expect(h.invoke(eb('ALARM', 4))).rejects.toThrow(/HTTP 503/);
    h.clock.t += 60_000; // Lambda retries about a minute later; meanwhile the alarm recovered

    expect(await h.invoke(eb('OK', 20))).toMatchObject({ outcome: 'notified' });
    const retry = await h.invoke(eb('ALARM', 4)); // Lambda's retry of the failed ALARM

    expect(retry).toMatchObject({
      outcome: 'notified',
      reason:
        'this ALARM (state changed at 2019-10-02T17:04:40.989Z) is older than the OK of 2019-10-02T17:20:40.989Z ' +
        'that was already handled: no new issue',
    });
    expect(h.jira.issues.size).toBe(0);
    expect(h.jira.creates).toHaveLength(1); // the failed one
    expect(h.table.items.get(PK)).toMatchObject({ lastOkStateAtMs: ms(20), lastAlarmStateAtMs: ms(4) });
    expect(h.table.items.get(PK)?.status).not.toBe('OPEN');
    expect(h.emails().at(-1)?.Message).toContain('no new issue');
  });

  test('an OK after an ALARM whose create was applied but unanswered finds that issue by label and resolves it', async () => {
    h.jira.applyThenFail(502).searchLagging(); // JIRA created OPS-1, answered 502; the search lags
    await expect(h.invoke(eb('ALARM', 4))).rejects.toThrow(/JIRA may have created the issue/);
    h.clock.t += 60_000;

    const ok = await h.invoke(eb('OK', 20));

    expect(ok).toMatchObject({
      outcome: 'resolved',
      issueKey: 'OPS-1',
      reason: "resolved the issue of an unanswered create, found by its claim label; transitioned with 'Done'",
    });
    expect(h.jira.issues.get('OPS-1')?.status).toBe('Done');
    expect(h.table.items.get(PK)).toMatchObject({ status: 'CLOSED', closedIssueKey: 'OPS-1' });
    expect(h.table.items.get(PK)).not.toHaveProperty('claimTokens');
    expect(await h.invoke(eb('ALARM', 4))).toMatchObject({ outcome: 'notified' }); // the ALARM's retry: stale
    expect(h.jira.issues.size).toBe(1);
  });

  test('equal times, different states: ALARM wins (an OK at the same time resolves nothing; an ALARM opens)', async () => {
    expect(await h.invoke(eb('ALARM', 4))).toMatchObject({ outcome: 'created' });
    expect(await h.invoke(eb('OK', 4))).toMatchObject({
      outcome: 'commented',
      reason:
        'this OK (state changed at 2019-10-02T17:04:40.989Z) is as old as the ALARM of 2019-10-02T17:04:40.989Z ' +
        'that is already on the issue: the incident stays open',
    });
    expect(h.table.items.get(PK)).toMatchObject({ status: 'OPEN' });

    // The other order, for another alarm: the OK first (nothing open), then the ALARM of the same instant.
    const other = (e: Json) => ((e.detail.alarmName = 'ServerCpuTooHigh-2'), e);
    expect(await h.invoke(other(eb('OK', 4, 'ok-2')))).toMatchObject({ outcome: 'notified' });
    expect(await h.invoke(other(eb('ALARM', 4, 'alarm-2')))).toMatchObject({ outcome: 'created', issueKey: 'OPS-2' });
  });

  test('same time and same state is the same state change: a repeat (duplicate), whatever the delivery id', async () => {
    await h.invoke(eb('ALARM', 4, 'first-delivery'));
    expect(await h.invoke(eb('ALARM', 4, 'eventbridge-retry'))).toMatchObject({ outcome: 'duplicate' });
    expect(h.jira.comments).toHaveLength(0);
    expect(h.emails()).toHaveLength(1);
  });

  test('out-of-order ALARM and INSUFFICIENT_DATA comments say so', async () => {
    await h.invoke(eb('ALARM', 4));
    await h.invoke(eb('ALARM', 30));

    expect(await h.invoke(eb('ALARM', 20))).toMatchObject({
      outcome: 'commented',
      reason:
        'this ALARM (state changed at 2019-10-02T17:20:40.989Z) is older than the ALARM of 2019-10-02T17:30:40.989Z that is already on the issue',
    });
    const insufficient = await h.invoke(eb('INSUFFICIENT_DATA', 10));
    expect(single(insufficient).reason).toMatch(
      /^this INSUFFICIENT_DATA \(state changed at .*17:10.*\) is older than the ALARM of .*17:30/,
    );
    expect(texts(h.jira.issues.get('OPS-1')?.comments.at(-1))).toContain('is older than the ALARM of');
    expect(h.table.items.get(PK)?.lastAlarmStateAtMs).toBe(ms(30)); // not lowered by the late ALARM
    expect(h.jira.creates).toHaveLength(1);
  });

  test.each([
    ['the late OK first', false],
    ['the newer ALARM first', true],
    ['both at once', undefined],
  ])(
    'a late OK racing a newer ALARM (%s): the alarm ends with exactly one issue open, never zero',
    async (_name, alarmFirst) => {
      await h.invoke(eb('ALARM', 4)); // OPS-1
      const ok = () => h.invoke(eb('OK', 20));
      const alarm = () => h.invoke(eb('ALARM', 30));
      if (alarmFirst === undefined) await Promise.all([ok(), alarm()]);
      else if (alarmFirst) await alarm().then(ok);
      else await ok().then(alarm);

      const open = [...h.jira.issues.values()].filter((i) => i.status !== 'Done');
      expect(open).toHaveLength(1);
      expect(h.table.items.get(PK)).toMatchObject({
        status: 'OPEN',
        issueKey: open[0].key,
        lastAlarmStateAtMs: ms(30),
        lastOkStateAtMs: ms(20),
      });
    },
  );
});

describe('issues people delete or move', () => {
  beforeEach(() => {
    h = setUp();
  });

  const notFound =
    'JIRA POST /rest/api/3/issue/OPS-1/comment failed with HTTP 404: Issue does not exist or you do not have permission to see it.';

  test('a deleted issue: the next ALARM releases the incident and opens a new issue that names the lost one', async () => {
    await h.invoke(eb('ALARM', 4));
    h.jira.deleteIssue('OPS-1');

    const result = await h.invoke(eb('ALARM', 10));

    expect(result).toMatchObject({
      outcome: 'created',
      issueKey: 'OPS-2',
      reason: `replaces OPS-1, which was deleted or moved (${notFound})`,
    });
    expect(h.jira.requests.slice(1).map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /rest/api/3/issue/OPS-1/comment',
      'GET /rest/api/3/issue/OPS-1', // confirms the issue is gone before giving it up
      'POST /rest/api/3/issue',
    ]);
    expect(texts(h.jira.issues.get('OPS-2')?.fields.description)).toContain(
      'This issue replaces OPS-1, which was deleted or moved',
    );
    expect(h.table.items.get(PK)).toMatchObject({ status: 'OPEN', issueKey: 'OPS-2', replacesIssueKey: 'OPS-1' });
    expect(h.emails()[1].Message).toContain('OPS-2 (created)');
    expect(h.emails()[1].Message).toContain('replaces OPS-1, which was deleted or moved');

    expect(await h.invoke(eb('OK', 20))).toMatchObject({ outcome: 'resolved', issueKey: 'OPS-2' });
  });

  test.each([
    [
      'moved to a project the bot can see but not comment in (403)',
      true,
      /^replaces OPS-1, which was deleted or moved \(moved to SEC-\d+; .*HTTP 403/,
    ],
    ['moved to a project the bot cannot see (404)', false, /^replaces OPS-1, which was deleted or moved \(.*HTTP 404/],
  ])('an issue %s is lost the same way', async (_name, visible, reason) => {
    await h.invoke(eb('ALARM', 4));
    h.jira.moveIssue('OPS-1', 'SEC', visible);

    const result = await h.invoke(eb('ALARM', 10));

    expect(result).toMatchObject({ outcome: 'created' });
    expect(single(result).reason).toMatch(reason);
    expect(h.table.items.get(PK)).toMatchObject({ status: 'OPEN', replacesIssueKey: 'OPS-1' });
    expect(h.jira.creates).toHaveLength(2);
  });

  test('a 403 on an issue still in the project is a permission problem, not a lost issue: it fails', async () => {
    await h.invoke(eb('ALARM', 4));
    h.jira.once(() => json(403, { errorMessages: ['You do not have permission to add comments.'], errors: {} }));

    await expect(h.invoke(eb('ALARM', 10))).rejects.toThrow(/HTTP 403: You do not have permission to add comments/);
    expect(h.table.items.get(PK)).toMatchObject({ status: 'OPEN', issueKey: 'OPS-1' });
    expect(h.jira.creates).toHaveLength(1);
    expect(h.emails()[1].Subject).toContain('JIRA FAILED');
  });

  test('an OK whose issue was deleted: email, incident closed, no error; the next ALARM is a plain new incident', async () => {
    await h.invoke(eb('ALARM', 4));
    h.jira.deleteIssue('OPS-1');

    const ok = await h.invoke(eb('OK', 20));

    const reason = `OPS-1 was deleted or moved (${notFound}): nothing to resolve; the incident is closed`;
    expect(ok).toMatchObject({ outcome: 'notified', reason });
    expect(h.table.items.get(PK)).toMatchObject({ status: 'CLOSED', closedIssueKey: 'OPS-1', closedIssueLost: reason });
    expect(h.emails()[1].Message).toContain('nothing to resolve; the incident is closed');

    const next = await h.invoke(eb('ALARM', 30));
    expect(next).toMatchObject({ outcome: 'created', issueKey: 'OPS-2', reason: undefined });
  });

  test('INSUFFICIENT_DATA on a deleted issue releases it; the next ALARM replaces it; an OK then closes', async () => {
    await h.invoke(eb('ALARM', 4));
    h.jira.deleteIssue('OPS-1');

    expect(await h.invoke(eb('INSUFFICIENT_DATA', 10))).toMatchObject({
      outcome: 'notified',
      reason: `OPS-1 was deleted or moved (${notFound}): the next ALARM opens a new issue`,
    });
    expect(h.table.items.get(PK)).toMatchObject({ status: 'LOST', lostIssueKey: 'OPS-1', lostReason: notFound });

    expect(await h.invoke(eb('OK', 15))).toMatchObject({
      outcome: 'notified',
      reason: expect.stringMatching(/^OPS-1 was deleted or moved .*the incident is closed$/),
    });
    expect(h.table.items.get(PK)).toMatchObject({ status: 'CLOSED' });
    expect(h.table.items.get(PK)).not.toHaveProperty('lostIssueKey');
  });

  test('a late OK on a deleted issue also releases the incident, and the ALARM after it replaces the issue', async () => {
    await h.invoke(eb('ALARM', 4));
    await h.invoke(eb('ALARM', 30));
    h.jira.deleteIssue('OPS-1');

    expect(await h.invoke(eb('OK', 20))).toMatchObject({ outcome: 'notified' });
    expect(h.table.items.get(PK)).toMatchObject({ status: 'LOST', lostIssueKey: 'OPS-1' });
    expect(await h.invoke(eb('ALARM', 40))).toMatchObject({ outcome: 'created', issueKey: 'OPS-2' });
  });

  test('a late OK while the incident is LOST closes nothing: the alarm is still in ALARM, the next one replaces', async () => {
    await h.invoke(eb('ALARM', 4));
    await h.invoke(eb('ALARM', 30));
    h.jira.deleteIssue('OPS-1');
    await h.invoke(eb('INSUFFICIENT_DATA', 31)); // finds the issue gone: LOST

    expect(await h.invoke(eb('OK', 20))).toMatchObject({
      outcome: 'notified',
      reason:
        'this OK (state changed at 2019-10-02T17:20:40.989Z) is older than the ALARM of 2019-10-02T17:30:40.989Z ' +
        'that was already handled; OPS-1 was deleted or moved: the next ALARM opens a new issue',
    });
    expect(h.table.items.get(PK)).toMatchObject({ status: 'LOST', lostIssueKey: 'OPS-1' });
    expect(await h.invoke(eb('ALARM', 40))).toMatchObject({
      outcome: 'created',
      reason: expect.stringMatching(/^replaces OPS-1/),
    });
  });

  test('an open incident record expires 90 days after its last state change, renewed by each one', async () => {
    await h.invoke(eb('ALARM', 4));
    const first = h.table.items.get(PK)?.expiresAt as number;
    expect(first).toBe(Math.floor(h.clock.t / 1000) + 90 * 24 * 3600);
    h.clock.t += 24 * 3600_000;
    await h.invoke(eb('ALARM', 10));
    expect(h.table.items.get(PK)).toMatchObject({ status: 'OPEN', expiresAt: first + 24 * 3600 });
  });
});

describe('a rotated API token (401)', () => {
  const ROTATED = { ...SECRET, apiToken: 'tok-Rotated-9876543210' };
  const rotatedAuth = `Basic ${Buffer.from(`${ROTATED.email}:${ROTATED.apiToken}`).toString('base64')}`;

  beforeEach(() => {
    h = setUp();
  });

  test('the secret is read again and the request tried once more in the same invocation: one email, no failure', async () => {
    await h.invoke(eb('ALARM', 4)); // warm: the old token is cached
    h.jira.rotateAuth(rotatedAuth);
    h.secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(ROTATED) });

    const result = await h.invoke(eb('ALARM', 10));

    expect(result).toMatchObject({ outcome: 'commented', issueKey: 'OPS-1' });
    expect(h.jira.comments.map((r) => r.headers.authorization)).toEqual([
      expect.not.stringMatching(rotatedAuth),
      rotatedAuth,
    ]);
    expect(h.secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
    expect(h.emails()).toHaveLength(2);
    expect(h.emails()[1].Subject).not.toContain('FAILED');
    expect(h.logs.join('')).not.toContain(ROTATED.apiToken);
  });

  test('a second 401 fails clearly, naming the secret and not the token, and the email still goes out', async () => {
    h.jira.rotateAuth(rotatedAuth); // the secret was not updated

    const failure = h.invoke(eb('ALARM', 4));

    await expect(failure).rejects.toThrow(
      `token rejected after re-reading the secret ${BASE_ENV.JIRA_SECRET_ARN}: put a valid apiToken in it`,
    );
    expect(h.secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 2);
    expect(h.jira.creates).toHaveLength(2);
    const [email] = h.emails();
    expect(email.Subject).toContain('JIRA FAILED');
    expect(email.Message).toContain('token rejected after re-reading the secret');
    expect(email.Message).not.toContain(SECRET.apiToken);
    expect(h.logs.join('')).not.toContain(SECRET.apiToken);
  });
});

describe('a create JIRA applied but did not answer never leads to a second issue', () => {
  test.each([
    ['a 502 after applying it', (hh: Harness) => hh.jira.applyThenFail(502).searchLagging(), /HTTP 502/],
    ['a timeout after applying it', (hh: Harness) => hh.jira.applyThenHang().searchLagging(), /timed out after 200 ms/],
  ])(
    '%s, and a search that does not see the issue yet: nobody posts again until the search lag has passed',
    async (_name, inject, error) => {
      h = setUp({ JIRA_REQUEST_TIMEOUT_MS: '200' });
      inject(h);

      await expect(h.invoke(eb('ALARM', 4))).rejects.toThrow(error);
      expect(h.jira.issues.size).toBe(1); // JIRA did create it
      expect(h.emails()[0].Subject).toContain('JIRA FAILED');

      // Within the lag: the same change again (a retry, an SNS copy) and another ALARM all fail, to be retried.
      await expect(h.invoke(eb('ALARM', 4))).rejects.toThrow(IncidentBusyError);
      await expect(h.invoke(sns('ALARM', 4))).rejects.toThrow(IncidentBusyError);
      await expect(h.invoke(eb('ALARM', 5))).rejects.toThrow(/its create may have reached JIRA\); retrying later/);
      expect(h.jira.creates).toHaveLength(1);

      h.clock.t += 30_001;
      const retry = await h.invoke(eb('ALARM', 4));
      expect(retry).toMatchObject({
        outcome: 'created',
        issueKey: 'OPS-1',
        reason: 'adopted the issue of an interrupted earlier attempt',
      });
      expect(h.jira.creates).toHaveLength(1);
      expect(h.jira.issues.size).toBe(1);
      expect(h.table.items.get(PK)).toMatchObject({ status: 'OPEN', issueKey: 'OPS-1' });
      expect(h.table.items.get(PK)).not.toHaveProperty('claimTokens');
      // The other ALARM's retry comments on that one issue.
      expect(await h.invoke(eb('ALARM', 5))).toMatchObject({ outcome: 'commented', issueKey: 'OPS-1' });
    },
  );

  test('JIRA_SEARCH_LAG_MS sets how long the claim is held', async () => {
    h = setUp({ JIRA_SEARCH_LAG_MS: '5000', JIRA_MAX_ATTEMPTS: '1' });
    h.jira.failNext(1, 503);
    await expect(h.invoke(eb('ALARM', 4))).rejects.toThrow(/HTTP 503/);
    expect(h.table.items.get(PK)).toMatchObject({ status: 'CLAIMED', leaseUntil: h.clock.t + 5000 });
    h.clock.t += 5001;
    expect(await h.invoke(eb('ALARM', 4))).toMatchObject({ outcome: 'created', issueKey: 'OPS-1' });
  });
});

describe('one state change delivered by several paths is handled once', () => {
  beforeEach(() => {
    h = setUp();
  });

  test('EventBridge, SNS and the Lambda alarm action: one issue, one email, the others are duplicates', async () => {
    const first = await h.invoke(eb('ALARM', 4));
    const viaSns = single(await h.invoke(sns('ALARM', 4)));
    const viaAction = await h.invoke(action('ALARM', 4));

    expect(first).toMatchObject({ outcome: 'created', issueKey: 'OPS-1' });
    for (const copy of [viaSns, viaAction]) {
      expect(copy).toMatchObject({
        outcome: 'duplicate',
        issueKey: 'OPS-1',
        changeId: changeIdOf(eb('ALARM', 4)),
        reason: expect.stringMatching(/was already handled$/),
      });
      expect(single(copy).reason).toContain('delivered as eventbridge eb-ALARM-4');
    }
    expect(h.jira.creates).toHaveLength(1);
    expect(h.jira.comments).toHaveLength(0);
    expect(h.emails()).toHaveLength(1);
    // Every delivery id is kept for tracing, and each duplicate is logged with its own.
    const record = h.table.items.get(`CHANGE#${changeIdOf(eb('ALARM', 4))}`);
    expect(record).toMatchObject({ duplicates: 2, lastDeliveryId: 'eb-ALARM-4' });
    expect((record?.deliveryIds as Set<string>).size).toBe(3);
    const duplicates = h.logRecords().filter((r) => r.message === 'Duplicate delivery');
    expect(duplicates.map((r) => r.input)).toEqual(['sns', 'lambda-action']);
    expect(duplicates.every((r) => r.changeId === changeIdOf(eb('ALARM', 4)))).toBe(true);
  });

  test('arriving at the same time, the three paths still make one issue and one email', async () => {
    const results = await Promise.all([
      h.invoke(eb('ALARM', 4)),
      h.invoke(sns('ALARM', 4)),
      h.invoke(action('ALARM', 4)),
    ]);

    expect(results.map((r) => single(r).outcome).sort()).toEqual(['created', 'duplicate', 'duplicate']);
    expect(h.jira.creates).toHaveLength(1);
    expect(h.emails()).toHaveLength(1);
  });

  test("a failed delivery's state change is completed by another path's copy, and the retry is then a duplicate", async () => {
    h.jira.failNext(1, 400, { errorMessages: ["Field 'priority' is required"], errors: {} });
    await expect(h.invoke(eb('ALARM', 4))).rejects.toThrow(/HTTP 400/);

    expect(single(await h.invoke(sns('ALARM', 4)))).toMatchObject({ outcome: 'created', issueKey: 'OPS-1' });
    expect(await h.invoke(eb('ALARM', 4))).toMatchObject({ outcome: 'duplicate' });
    expect(h.jira.issues.size).toBe(1);
    expect(h.emails()).toHaveLength(2); // the failure, then the ticket
  });

  test('another state change of the same alarm by another path is not a duplicate', async () => {
    await h.invoke(eb('ALARM', 4));
    expect(single(await h.invoke(sns('ALARM', 10)))).toMatchObject({ outcome: 'commented', issueKey: 'OPS-1' });
    expect(await h.invoke(action('OK', 20))).toMatchObject({ outcome: 'resolved', issueKey: 'OPS-1' });
  });
});
