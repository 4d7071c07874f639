import 'aws-sdk-client-mock-jest';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { PublishCommand } from '@aws-sdk/client-sns';
import { IncidentBusyError, JiraApiError } from '../../lambda/jira-incident/errors';
import { CLAIM_LEASE_MS, CLAIM_WAIT_MS, type ChangeResult } from '../../lambda/jira-incident/processor';
import { json } from './helpers/fake-jira';
import { changeIdOf, fixture, setUp, SECRET, withStateTime, type Harness, finish } from './helpers/harness';

const ALARM = 'eventbridge-alarm-state-change-single-metric.awsdocs.json';
const OK = 'eventbridge-alarm-state-change-ok.derived.json';
const INSUFFICIENT = 'eventbridge-alarm-state-change-insufficient-data.derived.json';
const PK = 'ALARM#123456789012#us-east-1#ServerCpuTooHigh';

type Event = Record<string, unknown> & { id: string; detail: Record<string, unknown> };

/** The fixture ALARM (state time 2019-10-02T17:04:40.989Z); another id and state time make another state change. */
function alarmEvent(id?: string, stateTime?: string): Event {
  const e = fixture<Event>(ALARM);
  if (id) e.id = id;
  return stateTime ? withStateTime(e, stateTime) : e;
}

function event(name: string, id?: string): Event {
  const e = fixture<Event>(name);
  if (id) e.id = id;
  return e;
}

let h: Harness;
afterEach(() => finish(h));

describe('ALARM -> repeat -> OK -> ALARM lifecycle', () => {
  beforeEach(() => {
    h = setUp();
  });

  test('first ALARM creates one issue, records it and emails the key and link', async () => {
    const result = await h.invoke(alarmEvent());

    expect(result).toMatchObject({ outcome: 'created', issueKey: 'OPS-1', alarmName: 'ServerCpuTooHigh' });
    expect(h.jira.creates).toHaveLength(1);
    const fields = (h.jira.creates[0].body as { fields: Record<string, unknown> }).fields;
    expect(fields).toMatchObject({ project: { key: 'OPS' }, issuetype: { name: 'Incident' } });
    expect(fields.summary).toBe('[ALARM] ServerCpuTooHigh (account 123456789012, us-east-1)');
    expect(fields.labels).toEqual(
      expect.arrayContaining(['cloudwatch-alarm', 'aws-account-123456789012', 'alarm-ServerCpuTooHigh']),
    );
    expect(h.table.items.get(PK)).toMatchObject({
      status: 'OPEN',
      issueKey: 'OPS-1',
      openedByChangeId: changeIdOf(alarmEvent()),
      lastAlarmStateAtMs: Date.parse('2019-10-02T17:04:40.989Z'),
    });
    expect(h.table.items.get(`CHANGE#${changeIdOf(alarmEvent())}`)).toMatchObject({
      status: 'DONE',
      issueKey: 'OPS-1',
      emailSent: 'final',
      lastDeliveryId: alarmEvent().id,
    });
    expect(h.table.items.get(`CHANGE#${changeIdOf(alarmEvent())}`)?.expiresAt).toEqual(expect.any(Number));
    const [email] = h.emails();
    expect(h.emails()).toHaveLength(1);
    expect(email.TopicArn).toBe('arn:aws:sns:us-east-1:999999999999:sns-alerts-test');
    expect(email.Subject).toBe('[ALARM] ServerCpuTooHigh (123456789012 us-east-1) OPS-1');
    expect(email.Message).toContain('https://example.atlassian.net/browse/OPS-1');
  });

  test('the same event delivered twice creates nothing and sends no second email', async () => {
    await h.invoke(alarmEvent());
    const second = await h.invoke(alarmEvent());

    expect(second).toMatchObject({ outcome: 'duplicate', issueKey: 'OPS-1' });
    expect(h.jira.creates).toHaveLength(1);
    expect(h.jira.comments).toHaveLength(0);
    expect(h.emails()).toHaveLength(1);
  });

  test('a repeat ALARM while the issue is open comments on it', async () => {
    await h.invoke(alarmEvent());
    const repeat = await h.invoke(alarmEvent('repeat-alarm-1', '2019-10-02T17:09:40.989Z'));

    expect(repeat).toMatchObject({ outcome: 'commented', issueKey: 'OPS-1' });
    expect(h.jira.creates).toHaveLength(1);
    expect(h.jira.comments.map((r) => r.path)).toEqual(['/rest/api/3/issue/OPS-1/comment']);
    expect(h.emails()[1].Message).toContain('OPS-1 (comment added)');
  });

  test('OK comments, applies the configured transition and closes the incident; the next ALARM opens a new issue', async () => {
    await h.invoke(alarmEvent());
    const ok = await h.invoke(event(OK));

    expect(ok).toMatchObject({ outcome: 'resolved', issueKey: 'OPS-1', reason: "transitioned with 'Done'" });
    expect(h.jira.comments).toHaveLength(1);
    expect(h.jira.requestsTo('GET', /\/transitions$/)).toHaveLength(1);
    expect(h.jira.requestsTo('POST', /\/transitions$/)[0].body).toEqual({ transition: { id: '31' } });
    expect(h.jira.issues.get('OPS-1')?.status).toBe('Done');
    expect(h.table.items.get(PK)).toMatchObject({ status: 'CLOSED', issueKey: 'OPS-1' });
    expect(h.table.items.get(PK)?.expiresAt).toEqual(expect.any(Number));

    const next = alarmEvent('second-incident');
    (next.detail.state as { timestamp: string }).timestamp = '2019-10-02T18:00:00.000+0000'; // after the OK
    expect(await h.invoke(next)).toMatchObject({ outcome: 'created', issueKey: 'OPS-2' });
    expect(h.table.items.get(PK)).toMatchObject({ status: 'OPEN', issueKey: 'OPS-2' });
  });

  test('an ALARM delivered after the OK that followed it is stale: email, no new issue', async () => {
    await h.invoke(alarmEvent()); // ALARM at 17:04, OPS-1
    await h.invoke(event(OK)); // OK at 17:34 closes OPS-1

    // A repeat ALARM of 17:20 (e.g. after INSUFFICIENT_DATA) whose delivery was delayed past the OK of 17:34.
    const late = alarmEvent('late-delivery-of-an-earlier-alarm', '2019-10-02T17:20:40.989Z');
    const result = await h.invoke(late);

    expect(result).toMatchObject({ outcome: 'notified' });
    expect(result).toHaveProperty(
      'reason',
      'this ALARM (state changed at 2019-10-02T17:20:40.989Z) is older than the OK of 2019-10-02T17:34:40.989Z that was already handled: no new issue',
    );
    expect(h.jira.creates).toHaveLength(1);
    expect(h.table.items.get(PK)).toMatchObject({ status: 'CLOSED', issueKey: 'OPS-1' });
    expect(h.emails()).toHaveLength(3);
    expect(h.emails()[2].Message).toMatch(/older than the OK/);
  });

  test('OK without an open issue only emails', async () => {
    const ok = await h.invoke(event(OK));

    expect(ok).toMatchObject({ outcome: 'notified', reason: 'no open JIRA issue for this alarm' });
    expect(h.jira.requests).toHaveLength(0);
    expect(h.emails()).toHaveLength(1);
  });

  test('INSUFFICIENT_DATA comments on an open issue, and only emails otherwise', async () => {
    expect(await h.invoke(event(INSUFFICIENT, 'insufficient-1'))).toMatchObject({ outcome: 'notified' });
    await h.invoke(alarmEvent());
    const later = withStateTime(event(INSUFFICIENT, 'insufficient-2'), '2019-10-02T17:55:40.989Z');
    expect(await h.invoke(later)).toMatchObject({
      outcome: 'commented',
      issueKey: 'OPS-1',
    });

    expect(h.table.items.get(PK)).toMatchObject({ status: 'OPEN' });
    expect(h.emails()).toHaveLength(3);
  });

  test('alarms not matching JIRA_TICKET_ALARM_PATTERN get email only', async () => {
    const e = alarmEvent();
    e.detail.alarmName = 'dev-sandbox-cpu';

    expect(await h.invoke(e)).toMatchObject({ outcome: 'notified' });
    expect(h.jira.requests).toHaveLength(0);
    expect(h.secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 0);
    expect(h.emails()[0].Message).toContain('JIRA ticket:  none (alarm name does not match JIRA_TICKET_ALARM_PATTERN');
  });
});

describe('resolve transition', () => {
  test('matches the configured transition by id', async () => {
    h = setUp({ JIRA_RESOLVE_TRANSITION: '21' });
    await h.invoke(alarmEvent());
    await h.invoke(event(OK));
    expect(h.jira.requestsTo('POST', /\/transitions$/)[0].body).toEqual({ transition: { id: '21' } });
  });

  test('an unavailable transition is reported but the incident still closes', async () => {
    h = setUp({ JIRA_RESOLVE_TRANSITION: 'Resolve Incident' });
    await h.invoke(alarmEvent());
    const ok = await h.invoke(event(OK));
    expect(ok).toMatchObject({ outcome: 'resolved' });
    expect((ok as ChangeResult).reason).toMatch(/'Resolve Incident' is not available .*Done \(31\)/);
    expect(h.jira.requestsTo('POST', /\/transitions$/)).toHaveLength(0);
    expect(h.table.items.get(PK)).toMatchObject({ status: 'CLOSED' });
  });

  test('without JIRA_RESOLVE_TRANSITION no transition is looked up', async () => {
    h = setUp({ JIRA_RESOLVE_TRANSITION: undefined });
    await h.invoke(alarmEvent());
    expect(await h.invoke(event(OK))).toMatchObject({ outcome: 'resolved' });
    expect(h.jira.requestsTo('GET', /\/transitions$/)).toHaveLength(0);
  });
});

describe('races and crashed claims', () => {
  beforeEach(() => {
    h = setUp();
  });

  test('10 concurrent ALARM events for one alarm create exactly one issue; losers that cannot wait are retried', async () => {
    // Ten state changes (ten state times): one issue; the others comment on it, or, when the winner is not
    // done within the wait, fail retryably (never swallowed) and comment on Lambda's retry.
    const events = Array.from({ length: 10 }, (_, i) =>
      alarmEvent(`race-${i}`, new Date(Date.parse('2019-10-02T17:04:40.989Z') + i).toISOString()),
    );
    const first = await Promise.allSettled(events.map((e) => h.invoke(e)));
    const busy = events.filter((_, i) => first[i].status === 'rejected');
    for (const r of first) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(IncidentBusyError);

    h.clock.t += 60_000;
    const retried = (await Promise.all(busy.map((e) => h.invoke(e)))) as ChangeResult[];
    const results = [...first.flatMap((r) => (r.status === 'fulfilled' ? [r.value as ChangeResult] : [])), ...retried];

    expect(h.jira.creates).toHaveLength(1);
    expect(h.jira.issues.size).toBe(1);
    expect(results.map((r) => r.outcome).sort()).toEqual([...Array(9).fill('commented'), 'created']);
    expect(h.jira.issues.get('OPS-1')?.comments).toHaveLength(9);
    expect(h.emails()).toHaveLength(10 + busy.length); // a loser that had to be retried said so first
  });

  test('the same event delivered twice at the same time creates one issue and one email', async () => {
    const results = (await Promise.all([h.invoke(alarmEvent()), h.invoke(alarmEvent())])) as ChangeResult[];

    expect(results.map((r) => r.outcome).sort()).toEqual(['created', 'duplicate']);
    expect(h.jira.creates).toHaveLength(1);
    expect(h.emails()).toHaveLength(1);
  });

  test('a loser of the claim race creates no issue: it waits, then fails to be retried (never swallowed)', async () => {
    h.table.put({
      pk: PK,
      status: 'CLAIMED',
      claimToken: 'other',
      claimChangeId: 'winner',
      leaseUntil: h.clock.t + 60_000,
    });

    await expect(h.invoke(alarmEvent())).rejects.toThrow(
      /state change winner holds the claim to create this alarm's issue until .*; retrying later/,
    );
    expect(h.jira.creates).toHaveLength(0);
    expect(h.clock.sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(CLAIM_WAIT_MS);
    expect(h.emails()).toHaveLength(1);
    expect(h.emails()[0].Message).toContain('will be retried automatically');
  });

  test("a loser that sees the winner's issue key while waiting comments on it", async () => {
    h.table.put({
      pk: PK,
      status: 'CLAIMED',
      claimToken: 'other',
      claimChangeId: 'winner',
      leaseUntil: h.clock.t + 60_000,
    });
    h.jira.issues.set('OPS-77', {
      key: 'OPS-77',
      fields: { summary: 's', labels: [], description: {} },
      comments: [],
      status: 'To Do',
    });
    const sleep = h.clock.sleep;
    h.clock.sleep = async (ms) => {
      h.table.put({ pk: PK, status: 'OPEN', issueKey: 'OPS-77', openedByChangeId: 'winner' });
      await sleep(ms);
    };

    expect(await h.invoke(alarmEvent())).toMatchObject({ outcome: 'commented', issueKey: 'OPS-77' });
    expect(h.jira.creates).toHaveLength(0);
  });

  test('a crashed claim (lease expired, no issue) is taken over: search by its claim label, then create', async () => {
    h.table.put({
      pk: PK,
      status: 'CLAIMED',
      claimToken: 'crashed-token',
      claimTokens: new Set(['crashed-token']),
      claimChangeId: 'crashed-event',
      leaseUntil: h.clock.t - 1,
    });

    expect(await h.invoke(alarmEvent())).toMatchObject({ outcome: 'created', issueKey: 'OPS-1' });
    const [search] = h.jira.requestsTo('POST', /\/search\/jql$/);
    expect((search.body as { jql: string }).jql).toBe(
      'project = "OPS" AND labels in ("cw-incident-claim-crashed-token") ORDER BY created ASC',
    );
    expect(h.table.items.get(PK)).toMatchObject({ status: 'OPEN', issueKey: 'OPS-1' });
    expect(h.table.items.get(PK)?.claimTokens).toBeUndefined();
  });

  test('a crashed claim whose issue did reach JIRA is adopted instead of creating a second issue', async () => {
    h.jira.issues.set('OPS-5', {
      key: 'OPS-5',
      fields: { summary: 's', labels: ['cw-incident-claim-crashed-token'], description: {} },
      comments: [],
      status: 'To Do',
    });
    h.table.put({
      pk: PK,
      status: 'CLAIMED',
      claimToken: 'crashed-token',
      claimTokens: new Set(['crashed-token']),
      claimChangeId: 'crashed-event',
      leaseUntil: h.clock.t - CLAIM_LEASE_MS,
    });

    const result = await h.invoke(alarmEvent());

    expect(result).toMatchObject({ outcome: 'commented', issueKey: 'OPS-5' });
    expect(h.jira.creates).toHaveLength(0);
    expect(h.table.items.get(PK)).toMatchObject({ status: 'OPEN', issueKey: 'OPS-5' });
  });

  test.each<[string, string, Record<string, string>, Record<string, unknown>, string, number]>([
    [
      'ALARM that created the issue',
      ALARM,
      { status: 'OPEN', issueKey: 'OPS-4', openedByChangeId: 'SELF' },
      {},
      'created',
      0,
    ],
    [
      'ALARM that commented',
      ALARM,
      { status: 'OPEN', issueKey: 'OPS-4', openedByChangeId: 'x' },
      { jira: { outcome: 'commented', issueKey: 'OPS-4' } },
      'commented',
      0,
    ],
    [
      'OK that resolved',
      OK,
      { status: 'CLOSED', issueKey: 'OPS-4', closedByChangeId: 'SELF', closedIssueKey: 'OPS-4' },
      { jira: { outcome: 'resolved', issueKey: 'OPS-4' } },
      'resolved',
      0,
    ],
    // The OK decides (closes) before telling JIRA: its retry does the comment and transition it missed.
    [
      'OK that closed the incident but crashed before JIRA',
      OK,
      { status: 'CLOSED', issueKey: 'OPS-4', closedByChangeId: 'SELF', closedIssueKey: 'OPS-4' },
      {},
      'resolved',
      2,
    ],
  ])(
    'an invocation that crashed (%s) is redone without repeating JIRA writes',
    async (_name, name, incident, changeRecord, outcome, posts) => {
      const e = event(name);
      h.jira.issues.set('OPS-4', {
        key: 'OPS-4',
        fields: { summary: 's', labels: [], description: {} },
        comments: [],
        status: 'To Do',
      });
      const changeId = changeIdOf(e);
      h.table.put({ pk: `CHANGE#${changeId}`, status: 'IN_PROGRESS', leaseUntil: h.clock.t - 1, ...changeRecord });
      const fix = (v: string) => (v === 'SELF' ? changeId : v);
      h.table.put({ pk: PK, ...Object.fromEntries(Object.entries(incident).map(([k, v]) => [k, fix(v)])) });

      expect(await h.invoke(e)).toMatchObject({ outcome, issueKey: 'OPS-4' });
      expect(h.jira.requests.filter((r) => r.method === 'POST')).toHaveLength(posts);
      expect(h.jira.issues.get('OPS-4')?.comments).toHaveLength(posts ? 1 : 0);
      expect(h.emails()).toHaveLength(1);
    },
  );

  test('OK while the issue is still being created fails (retryable) after emailing', async () => {
    h.table.put({
      pk: PK,
      status: 'CLAIMED',
      claimToken: 't',
      claimChangeId: 'winner',
      leaseUntil: h.clock.t + 60_000,
    });

    await expect(h.invoke(event(OK))).rejects.toThrow(/still being created/);
    expect(h.emails()[0].Message).toContain('could not be updated');
  });
});

describe('JIRA failures', () => {
  test('a failed create emails the failure, throws, releases the claim, and the retry creates the issue', async () => {
    h = setUp();
    h.jira.failNext(1, 400, { errorMessages: ["Field 'priority' is required"], errors: { summary: 'too long' } });

    const failure = h.invoke(alarmEvent());
    await expect(failure).rejects.toThrow(JiraApiError);
    await expect(failure).rejects.toThrow(/HTTP 400: Field 'priority' is required; summary: too long/);
    expect(h.emails()).toHaveLength(1);
    expect(h.emails()[0].Message).toContain(
      'could not be created or updated: JIRA POST /rest/api/3/issue failed with HTTP 400',
    );
    expect(h.emails()[0].Subject).toContain('JIRA FAILED');
    expect(h.table.items.get(PK)).toMatchObject({ status: 'RELEASED' });
    expect(h.table.items.get(PK)?.claimTokens).toBeUndefined();
    expect(h.table.items.get(`CHANGE#${changeIdOf(alarmEvent())}`)).toMatchObject({
      status: 'FAILED',
      emailSent: 'failure',
    });

    // Lambda's async retry delivers the same event again.
    const retry = await h.invoke(alarmEvent());
    expect(retry).toMatchObject({ outcome: 'created', issueKey: 'OPS-1' });
    expect(h.jira.requestsTo('POST', /\/search\/jql$/)).toHaveLength(0);
    expect(h.emails()).toHaveLength(2);
    expect(h.emails()[1].Message).toContain('https://example.atlassian.net/browse/OPS-1');
  });

  test('after a 5xx the create is not posted again in the invocation: search, email, fail, hold the claim', async () => {
    h = setUp({ JIRA_MAX_ATTEMPTS: '2' });
    h.jira.failNext(1, 503, 'Service Unavailable');

    await expect(h.invoke(alarmEvent())).rejects.toThrow(
      /HTTP 503.*JIRA may have created the issue, so it is not posted again in this invocation/,
    );
    expect(h.jira.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /rest/api/3/issue',
      'POST /rest/api/3/search/jql',
    ]);
    expect(h.emails()).toHaveLength(1);
    expect(h.emails()[0].Subject).toContain('JIRA FAILED');
    // The claim is held, with its token, for JIRA's search lag (JIRA_SEARCH_LAG_MS, 30 s by default).
    expect(h.table.items.get(PK)).toMatchObject({ status: 'CLAIMED', leaseUntil: h.clock.t + 30_000 });
    expect((h.table.items.get(PK)?.claimTokens as Set<string>).size).toBe(1);

    // Even this state change's own retry (or its SNS copy) does not post again before then.
    await expect(h.invoke(alarmEvent())).rejects.toThrow(IncidentBusyError);
    await expect(h.invoke(alarmEvent())).rejects.toThrow(
      /earlier attempt of this state change holds the claim .* \(its create may have reached JIRA\); retrying later/,
    );
    expect(h.jira.creates).toHaveLength(1);

    h.clock.t += 30_001; // Lambda's retry comes about a minute later
    expect(await h.invoke(alarmEvent())).toMatchObject({ outcome: 'created', issueKey: 'OPS-1' });
    expect(h.jira.requestsTo('POST', /\/search\/jql$/)).toHaveLength(2);
    expect(h.jira.creates).toHaveLength(2);
    expect(h.jira.issues.size).toBe(1);
    expect(h.emails()).toHaveLength(2);
  });

  test('when that search fails too, the outcome stays unknown; the retry after the lag searches again', async () => {
    h = setUp({ JIRA_MAX_ATTEMPTS: '2' });
    h.jira.failNext(3, 503, 'Service Unavailable');

    await expect(h.invoke(alarmEvent())).rejects.toThrow(
      /searching for it failed too: .*search\/jql failed with HTTP 503.*gave up after 2 attempts/,
    );
    expect(h.jira.creates).toHaveLength(1);
    expect(h.table.items.get(PK)?.claimTokens).toEqual(expect.any(Set));

    h.clock.t += 30_001;
    expect(await h.invoke(alarmEvent())).toMatchObject({ outcome: 'created', issueKey: 'OPS-1' });
    expect(h.jira.requestsTo('POST', /\/search\/jql$/)).toHaveLength(3);
    expect(h.jira.issues.size).toBe(1);
  });

  test('a create that timed out is not repeated in the same invocation (JIRA may still be creating it)', async () => {
    h = setUp({ JIRA_MAX_ATTEMPTS: '3', JIRA_REQUEST_TIMEOUT_MS: '200' });
    // The first create never answers: the client's timeout aborts it.
    h.jira.once(
      (_req, signal) =>
        new Promise<Response>((_resolve, reject) => signal?.addEventListener('abort', () => reject(signal.reason))),
    );

    await expect(h.invoke(alarmEvent())).rejects.toThrow(
      /timed out after 200 ms; JIRA may have created the issue, so it is not posted again in this invocation/,
    );
    expect(h.jira.requestsTo('POST', /\/issue$/)).toHaveLength(1);
    expect(h.emails()).toHaveLength(1);
  });

  test('a failed retry does not email the same failure twice', async () => {
    h = setUp({ JIRA_MAX_ATTEMPTS: '1' });
    h.jira.failNext(1, 500).failNext(2, 500);

    await expect(h.invoke(alarmEvent())).rejects.toThrow(JiraApiError);
    h.clock.t += 30_001; // past the held claim
    await expect(h.invoke(alarmEvent())).rejects.toThrow(JiraApiError);
    expect(h.emails()).toHaveLength(1);
  });

  test('when the email fails after JIRA succeeded, the retry re-sends only the email', async () => {
    h = setUp();
    h.sns.on(PublishCommand).rejectsOnce(new Error('SNS throttled')).resolves({ MessageId: 'm' });

    await expect(h.invoke(alarmEvent())).rejects.toThrow('SNS throttled');
    const retry = await h.invoke(alarmEvent());

    expect(retry).toMatchObject({ outcome: 'created', issueKey: 'OPS-1' });
    expect(h.jira.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(h.sns).toHaveReceivedCommandTimes(PublishCommand, 2);
  });

  test('JIRA down on a repeat ALARM: email still goes out, handler throws', async () => {
    h = setUp({ JIRA_MAX_ATTEMPTS: '1' });
    await h.invoke(alarmEvent());
    h.jira.once(() => {
      throw new TypeError('fetch failed', {
        cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
      });
    });

    await expect(h.invoke(alarmEvent('repeat', '2019-10-02T17:09:40.989Z'))).rejects.toThrow(
      /network error ECONNREFUSED/,
    );
    expect(h.emails()[1].Message).toMatch(/JIRA ticket: {2}could not be created or updated: .*ECONNREFUSED/);
  });
});

describe('inputs', () => {
  beforeEach(() => {
    h = setUp();
  });

  test('SNS with two records handles each and returns { results }', async () => {
    const result = await h.invoke(event('sns-event-cloudwatch-alarm-two-records.derived.json'));

    expect(result).toEqual({
      results: [
        expect.objectContaining({ outcome: 'notified', alarmName: 'EXAMPLE' }),
        expect.objectContaining({ outcome: 'created', alarmName: 'payments-errors-critical', issueKey: 'OPS-1' }),
      ],
    });
    expect(h.emails()).toHaveLength(2);
    expect(h.table.items.has('ALARM#210987654321#us-east-1#payments-errors-critical')).toBe(true);
  });

  test('SNS batch with a malformed record processes the good one, then throws naming the bad field', async () => {
    const e = event('sns-event-cloudwatch-alarm-two-records.derived.json') as unknown as {
      Records: { Sns: { Message: string } }[];
    };
    const message = JSON.parse(e.Records[0].Sns.Message) as Record<string, unknown>;
    delete message.NewStateValue;
    e.Records[0].Sns.Message = JSON.stringify(message);

    await expect(h.invoke(e)).rejects.toThrow(/1 of 2 SNS records failed.*Records\[0\]\.Sns\.Message\.NewStateValue/);
    expect(h.jira.creates).toHaveLength(1);
    expect(h.emails()).toHaveLength(1);
  });

  test('the Lambda alarm action event creates an issue, and its derived id deduplicates', async () => {
    const e = event('lambda-alarm-action-metric.derived.json');
    expect(await h.invoke(e)).toMatchObject({ outcome: 'created', accountId: '444455556666' });
    expect(await h.invoke(structuredClone(e))).toMatchObject({ outcome: 'duplicate' });
    expect(h.jira.creates).toHaveLength(1);
  });

  test.each([
    [
      'eventbridge-alarm-configuration-change.derived.json',
      "detail-type 'CloudWatch Alarm Configuration Change' is not handled",
    ],
    ['eventbridge-scheduled-event.derived.json', "detail-type 'Scheduled Event' is not handled"],
  ])('%s is ignored with a reason and a log line, touching nothing', async (name, reason) => {
    expect(await h.invoke(event(name))).toEqual({ outcome: 'ignored', reason });
    expect(h.jira.requests).toHaveLength(0);
    expect(h.emails()).toHaveLength(0);
    expect(h.table.updates).toHaveLength(0);
    expect(h.logRecords()).toContainEqual(expect.objectContaining({ message: 'Event ignored', reason }));
  });

  test('a suppressed composite ALARM creates no ticket and emails with the suppression note', async () => {
    const result = await h.invoke(event('eventbridge-alarm-state-change-composite-suppressed.derived.json'));

    expect(result).toMatchObject({
      outcome: 'suppressed',
      reason: 'actions suppressed by WaitPeriod: Actions suppressed by WaitPeriod',
    });
    expect(h.jira.requests).toHaveLength(0);
    const [email] = h.emails();
    expect(email.Subject).toBe('[ALARM, actions suppressed] ServiceAggregatedAlarm (123456789012 us-east-1)');
    expect(email.Message).toContain('Suppressed:   actions suppressed by WaitPeriod');
  });

  test('an unsuppressed composite ALARM creates a ticket describing the rule', async () => {
    expect(await h.invoke(event('eventbridge-alarm-state-change-composite.derived.json'))).toMatchObject({
      outcome: 'created',
    });
    expect(JSON.stringify(h.jira.creates[0].body)).toContain(
      'ALARM(ServerCpuTooHigh) OR ALARM(TotalNetworkTrafficTooHigh)',
    );
  });

  test('quotes, JQL syntax, unicode and a 10,000-character description still give a valid, bounded ticket', async () => {
    const e = alarmEvent();
    e.detail.alarmName = `crit "payments" OR labels = x \\ Überlauf 支付 🚨 ${'n'.repeat(200)}`.slice(0, 255);
    (e.detail.configuration as Record<string, unknown>).description = 'D'.repeat(10_000);
    (e.detail.state as Record<string, unknown>).reason = `R\n${'r'.repeat(20_000)}`;

    expect(await h.invoke(e)).toMatchObject({ outcome: 'created' });
    const fields = (h.jira.creates[0].body as { fields: { summary: string; labels: string[] } }).fields;
    expect(fields.summary.length).toBeLessThanOrEqual(255);
    expect(fields.summary.startsWith('[ALARM] crit "payments" OR labels = x \\ Überlauf 支付 🚨')).toBe(true);
    expect(fields.labels.every((l) => !/\s/.test(l) && l.length <= 255)).toBe(true);
    expect(JSON.stringify(h.jira.creates[0].body).length).toBeLessThan(20_000);
    expect(h.emails()[0].Subject?.length).toBeLessThan(100);
    expect(h.table.items.has(`ALARM#123456789012#us-east-1#${e.detail.alarmName as string}`)).toBe(true);
  });

  test('a malformed alarm event throws InvalidEventError and touches nothing', async () => {
    const e = alarmEvent();
    (e.detail.state as Record<string, unknown>).value = 'BROKEN';
    await expect(h.invoke(e)).rejects.toThrow(
      /detail\.state\.value: expected one of "OK", "ALARM", "INSUFFICIENT_DATA", got "BROKEN"/,
    );
    expect(h.emails()).toHaveLength(0);
    expect(h.table.updates).toHaveLength(0);
  });
});

describe('secret and logging', () => {
  beforeEach(() => {
    h = setUp();
  });

  test('the secret is fetched once for several invocations and sent as Basic auth', async () => {
    await h.invoke(alarmEvent());
    await h.invoke(alarmEvent('again'));

    expect(h.secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    expect(h.secrets).toHaveReceivedCommandWith(GetSecretValueCommand, {
      SecretId: 'arn:aws:secretsmanager:us-east-1:999999999999:secret:jira-incident-test-AbCdEf',
    });
    const auth = `Basic ${Buffer.from(`${SECRET.email}:${SECRET.apiToken}`).toString('base64')}`;
    expect(h.jira.requests.every((r) => r.headers.authorization === auth)).toBe(true);
  });

  test('log lines carry alarm name, account and ticket key; the secret and auth header never appear', async () => {
    h.jira.failNext(2, 401, { errorMessages: ['Client must be authenticated'], errors: {} });
    await expect(h.invoke(alarmEvent())).rejects.toThrow(/HTTP 401.*token rejected after re-reading the secret/);
    await h.invoke(alarmEvent());

    const all = h.logs.join('');
    expect(all).not.toContain(SECRET.apiToken);
    expect(all).not.toContain(Buffer.from(`${SECRET.email}:${SECRET.apiToken}`).toString('base64'));
    expect(all).not.toMatch(/Basic /);
    const handled = h.logRecords().find((r) => r.message === 'Alarm state change handled');
    expect(handled).toMatchObject({
      alarmName: 'ServerCpuTooHigh',
      accountId: '123456789012',
      ticketKey: 'OPS-1',
      outcome: 'created',
      service: 'jira-incident',
      // The delivery and the state change, for tracing one change across its deliveries.
      eventId: alarmEvent().id,
      changeId: changeIdOf(alarmEvent()),
    });
    const failed = h.logRecords().find((r) => String(r.message).startsWith('Alarm state change failed'));
    expect(failed).toMatchObject({ alarmName: 'ServerCpuTooHigh', accountId: '123456789012', level: 'ERROR' });
    // Each 401 drops the cached secret: read at start, after the first 401, and by the retry after the second.
    expect(h.secrets).toHaveReceivedCommandTimes(GetSecretValueCommand, 3);
  });

  test('keys of one state change do not leak into the next', async () => {
    await h.invoke(alarmEvent());
    h.logs.length = 0;
    await h.invoke(event('eventbridge-scheduled-event.derived.json'));
    const ignored = h.logRecords().find((r) => r.message === 'Event ignored');
    expect(ignored).toBeDefined();
    expect(ignored).not.toHaveProperty('alarmName');
    expect(ignored).not.toHaveProperty('ticketKey');
  });

  test('a secret without apiToken fails with a message naming the field and not leaking the secret', async () => {
    h.secrets
      .on(GetSecretValueCommand)
      .resolves({ SecretString: JSON.stringify({ email: 'x@example.com', token: 'leak-me' }) });

    const failure = h.invoke(alarmEvent());
    await expect(failure).rejects.toThrow(/has no non-empty string field "apiToken"/);
    await failure.catch((err: Error) => expect(err.message).not.toContain('leak-me'));
    expect(h.emails()[0].Message).toContain('"apiToken"');
    expect(h.logs.join('')).not.toContain('leak-me');
  });

  test('JIRA is given the remaining invocation time, not more', async () => {
    h.jira.once(() => json(429, {}, { 'Retry-After': '30' }));
    await expect(h.invoke(alarmEvent(), 10_000)).rejects.toThrow(
      /not retried: waiting 30000 ms would pass the invocation deadline/,
    );
    expect(h.clock.sleeps).toEqual([]);
  });
});
