/**
 * Issue 9 end to end (moto + the local JIRA server): events that arrive late, twice, reordered or by several
 * paths, and people who delete or move issues or rotate the API token. Assertions are on what JIRA, the
 * email queue, the DLQ and the incident table hold.
 */
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { ACCOUNT, REGION } from './support/aws';
import { alarmEvent, alarmName, lambdaAlarmActionEvent, snsAlarmEvent, type AlarmState } from './support/events';
import { expectCleanJiraTraffic, resultsOf, single } from './support/expectations';
import { faults } from './support/jira-server';
import { describeWithMoto } from './support/moto';
import { useWorld } from './support/world';

/** State times an hour ago, `minute` minutes apart: the order the alarm really went through. */
const BASE = Date.now() - 3_600_000;
const at = (minute: number) => new Date(BASE + minute * 60_000);
const iso = (minute: number) => at(minute).toISOString();

describeWithMoto('incident handler: late, repeated and reordered events; people who edit JIRA', () => {
  const w = useWorld();

  const incident = async (name: string) =>
    (await w().items()).find((i) => i.pk === `ALARM#${ACCOUNT}#${REGION}#${name}`);
  const change = (name: string, state: AlarmState, minute: number) =>
    alarmEvent({ alarmName: name, state, stateTime: at(minute) });
  const commentText = (issue: { comments: { body: unknown }[] }) => JSON.stringify(issue.comments.at(-1)?.body);

  describe('the alarm state time orders everything', () => {
    test('a late OK older than the newest handled ALARM resolves nothing, and its comment says so', async () => {
      w().configure({ JIRA_RESOLVE_TRANSITION: 'Done' });
      const { jira } = w();
      const name = alarmName('critical', 'late-ok');

      await w().invoke(change(name, 'ALARM', 1));
      await w().invoke(change(name, 'ALARM', 3));
      const late = await w().invoke(change(name, 'OK', 2));

      expect(single(late.result)).toEqual(
        expect.objectContaining({
          outcome: 'commented',
          issueKey: 'OPS-1',
          reason: `this OK (state changed at ${iso(2)}) is older than the ALARM of ${iso(3)} that is already on the issue: the incident stays open`,
        }),
      );
      expect(commentText(jira.issues[0])).toContain(`is older than the ALARM of ${iso(3)}`);
      expect(jira.requestsTo('doTransition')).toHaveLength(0);
      expect(jira.issues[0].status.name).toBe('To Do');
      expect(await incident(name)).toEqual(
        expect.objectContaining({
          status: 'OPEN',
          issueKey: 'OPS-1',
          lastAlarmStateAtMs: at(3).getTime(),
          lastOkStateAtMs: at(2).getTime(),
        }),
      );

      // Still in ALARM: the next ALARM comments on the same issue; a newer OK resolves it.
      expect(single((await w().invoke(change(name, 'ALARM', 4))).result).outcome).toBe('commented');
      expect(single((await w().invoke(change(name, 'OK', 5))).result).outcome).toBe('resolved');
      expect(jira.issues).toHaveLength(1);
      expect(jira.issues[0].status.name).toBe('Done');
      expectCleanJiraTraffic(jira);
    });

    test("Lambda's retry of an ALARM that failed (JIRA 503) after the OK that followed it opens no issue", async () => {
      w().configure({ JIRA_MAX_ATTEMPTS: '1' });
      const { jira, mailbox } = w();
      const name = alarmName('critical', 'retried-alarm');
      const alarm = change(name, 'ALARM', 1);
      jira.inject('createIssue', faults.serviceUnavailable());

      const failed = await w().invoke(alarm);
      const ok = await w().invoke(change(name, 'OK', 2));
      const retry = await w().invoke(alarm);

      expect(failed.error?.errorMessage).toMatch(/HTTP 503/);
      expect(single(ok.result).outcome).toBe('notified');
      expect(single(retry.result)).toEqual(
        expect.objectContaining({
          outcome: 'notified',
          reason: `this ALARM (state changed at ${iso(1)}) is older than the OK of ${iso(2)} that was already handled: no new issue`,
        }),
      );
      expect(jira.issues).toHaveLength(0);
      expect(await incident(name)).toEqual(expect.objectContaining({ lastOkStateAtMs: at(2).getTime() }));
      const emails = await mailbox.emails();
      expect(emails).toHaveLength(3); // the failure, the OK, then the ALARM's final news (no ticket)
      expect(emails[2].message).toContain('no new issue');
    });

    test('equal state times, different states: ALARM wins; equal time and state is the same change', async () => {
      const { jira } = w();
      const okFirst = alarmName('critical', 'tie-ok-first');
      const alarmFirst = alarmName('critical', 'tie-alarm-first');

      await w().invoke(change(okFirst, 'OK', 1)); // nothing open
      const opened = await w().invoke(change(okFirst, 'ALARM', 1));
      await w().invoke(change(alarmFirst, 'ALARM', 1));
      const kept = await w().invoke(change(alarmFirst, 'OK', 1));
      const again = await w().invoke(alarmEvent({ alarmName: alarmFirst, state: 'OK', stateTime: at(1), id: 'x' }));

      expect(single(opened.result)).toEqual(expect.objectContaining({ outcome: 'created' }));
      expect(single(kept.result)).toEqual(
        expect.objectContaining({
          outcome: 'commented',
          reason: `this OK (state changed at ${iso(1)}) is as old as the ALARM of ${iso(1)} that is already on the issue: the incident stays open`,
        }),
      );
      expect(single(again.result).outcome).toBe('duplicate');
      expect(await incident(alarmFirst)).toEqual(expect.objectContaining({ status: 'OPEN' }));
      expect(jira.openIssues()).toHaveLength(2);
    });
  });

  describe('issues people delete or move', () => {
    test('a deleted issue: the next ALARM releases the incident and opens a new issue naming it; no DLQ', async () => {
      const { jira, mailbox } = w();
      const name = alarmName('critical', 'deleted');
      await w().invoke(change(name, 'ALARM', 1));
      jira.deleteIssue('OPS-1');

      const inv = await w()
        .asyncInvoker()
        .invoke(change(name, 'ALARM', 2));

      expect(inv.final).toBe('success');
      expect(inv.attempts).toHaveLength(1);
      expect(single(inv.result)).toEqual(
        expect.objectContaining({
          outcome: 'created',
          issueKey: 'OPS-2',
          reason: expect.stringMatching(/^replaces OPS-1, which was deleted or moved \(.*comment failed with HTTP 404/),
        }),
      );
      expect(jira.requestsTo('addComment').map((r) => r.response)).toEqual([404]);
      expect(jira.requestsTo('getIssue').map((r) => r.response)).toEqual([404]);
      expect(JSON.stringify(jira.issues[0].fields.description)).toContain(
        'This issue replaces OPS-1, which was deleted or moved',
      );
      const item = await incident(name);
      expect(item).toEqual(expect.objectContaining({ status: 'OPEN', issueKey: 'OPS-2', replacesIssueKey: 'OPS-1' }));
      expect(item?.expiresAt).toEqual(expect.any(Number)); // an open incident expires too (renewed by activity)
      expect((await mailbox.emails())[1].message).toMatch(/OPS-2 \(created\)[\s\S]*replaces OPS-1/);

      const ok = await w()
        .asyncInvoker()
        .invoke(change(name, 'OK', 3));
      expect(single(ok.result)).toEqual(expect.objectContaining({ outcome: 'resolved', issueKey: 'OPS-2' }));
      expect(await mailbox.dlq()).toEqual([]);
      expectCleanJiraTraffic(jira);
    });

    test.each([
      ['the bot can still see it (403 on comment)', true, 403],
      ['the bot cannot see it (404)', false, 404],
    ])('an issue moved to another project, %s: a new issue in the project; no DLQ', async (_n, visible, status) => {
      const { jira, mailbox } = w();
      const name = alarmName('critical', `moved-${status}`);
      await w().invoke(change(name, 'ALARM', 1));
      const moved = jira.moveIssue('OPS-1', 'SEC', { visible });

      const inv = await w()
        .asyncInvoker()
        .invoke(change(name, 'ALARM', 2));

      expect(inv.final).toBe('success');
      const result = single(inv.result);
      expect(result.outcome).toBe('created');
      expect(result.issueKey).toMatch(/^OPS-\d+$/);
      expect(result.reason).toMatch(new RegExp(`^replaces OPS-1, which was deleted or moved.*HTTP ${status}`));
      if (visible) expect(result.reason).toContain(`moved to ${moved.key}`);
      expect(jira.requestsTo('addComment').map((r) => r.response)).toEqual([status]);
      expect(jira.issues.map((i) => i.key)).toEqual([moved.key, result.issueKey]);
      expect(await mailbox.dlq()).toEqual([]);
    });

    test('an OK for a deleted issue: emailed, the incident closed, no error; the next ALARM is a new incident', async () => {
      const { jira, mailbox } = w();
      const name = alarmName('critical', 'deleted-ok');
      await w().invoke(change(name, 'ALARM', 1));
      jira.deleteIssue('OPS-1');

      const inv = await w()
        .asyncInvoker()
        .invoke(change(name, 'OK', 2));

      expect(inv.final).toBe('success');
      expect(inv.attempts).toHaveLength(1);
      expect(single(inv.result)).toEqual(
        expect.objectContaining({
          outcome: 'notified',
          reason: expect.stringMatching(/^OPS-1 was deleted or moved .*: nothing to resolve; the incident is closed$/),
        }),
      );
      expect(await incident(name)).toEqual(expect.objectContaining({ status: 'CLOSED', closedIssueKey: 'OPS-1' }));
      const emails = await mailbox.emails();
      expect(emails[1].subject).not.toMatch(/FAILED/);
      expect(emails[1].message).toContain('OPS-1 was deleted or moved');

      const next = await w().invoke(change(name, 'ALARM', 3));
      expect(single(next.result)).toEqual(expect.objectContaining({ outcome: 'created', issueKey: 'OPS-2' }));
      expect(JSON.stringify(jira.issues[0].fields.description)).not.toContain('replaces');
      expect(await mailbox.dlq()).toEqual([]);
    });
  });

  describe('a rotated API token', () => {
    test('a second 401 (the secret still holds the old token): clear failure naming the secret, email sent', async () => {
      const { jira, mailbox, resources } = w();
      const name = alarmName('critical', 'stale-token');
      jira.rotateToken('token-nobody-stored');

      const inv = await w()
        .asyncInvoker({ retryAttempts: 0 })
        .invoke(change(name, 'ALARM', 1));

      expect(inv.final).toBe('dlq');
      const [dlq] = await mailbox.dlq();
      expect(dlq.responsePayload.errorMessage).toContain(
        `token rejected after re-reading the secret ${resources.secretArn}`,
      );
      expect(dlq.responsePayload.errorMessage).not.toContain(resources.secret.apiToken);
      expect(jira.requestsTo('createIssue').map((r) => r.response)).toEqual([401, 401]);
      const emails = await mailbox.emails();
      expect(emails).toHaveLength(1);
      expect(emails[0].subject).toMatch(/JIRA FAILED/);
      expect(emails[0].message).toContain('token rejected after re-reading the secret');
    });

    test('the token rotated under a warm container: the comment is retried with the new secret at once', async () => {
      const { jira, clients, resources, mailbox } = w();
      const name = alarmName('critical', 'rotated');
      await w().invoke(change(name, 'ALARM', 1)); // caches the old token
      jira.rotateToken('rotated-token');
      await clients.sm.send(
        new PutSecretValueCommand({
          SecretId: resources.secretArn,
          SecretString: JSON.stringify({ email: resources.secret.email, apiToken: 'rotated-token' }),
        }),
      );

      const inv = await w()
        .asyncInvoker()
        .invoke(change(name, 'ALARM', 2));

      expect(inv.attempts).toHaveLength(1);
      expect(single(inv.result)).toEqual(expect.objectContaining({ outcome: 'commented', issueKey: 'OPS-1' }));
      expect(jira.requestsTo('addComment').map((r) => r.response)).toEqual([401, 201]);
      expect((await mailbox.emails()).map((e) => /FAILED/.test(e.subject))).toEqual([false, false]);
    });
  });

  describe('a create that JIRA applied but did not answer never becomes a second issue', () => {
    test.each([
      ['answered 502', faults.lostResponse('502'), /HTTP 502/],
      ['timed out', faults.lostResponse('hang'), /timed out after 250 ms/],
    ])(
      '%s, with a search that lags: the claim is held (an SNS copy waits), and the retry adopts the issue',
      async (_name, fault, error) => {
        // JIRA's index shows a new issue only after 1.5 s; the handler trusts a label search after 2 s.
        w().configure({ JIRA_SEARCH_LAG_MS: '2000', JIRA_REQUEST_TIMEOUT_MS: '250' });
        const { jira, mailbox } = w();
        jira.searchLagMs = 1500;
        const name = alarmName('critical', 'lost-create');
        const event = change(name, 'ALARM', 1);
        jira.inject('createIssue', fault);

        const first = await w().invoke(event);
        expect(first.error?.errorMessage).toMatch(error);
        expect(first.error?.errorMessage).toMatch(/JIRA may have created the issue, so it is not posted again/);
        expect(jira.requestsTo('searchJql').map((r) => r.response)).toEqual([200]); // searched, saw nothing yet
        expect(jira.issues).toHaveLength(1);

        // The same state change by SNS, at once: deferred (not a second POST).
        const copy = await w().invoke(snsAlarmEvent({ alarmName: name, state: 'ALARM', stateTime: at(1) }));
        expect(copy.error?.errorType).toBe('IncidentBusyError');

        await new Promise((r) => setTimeout(r, 2100));
        const retry = await w().invoke(event);
        expect(single(retry.result)).toEqual(
          expect.objectContaining({
            outcome: 'created',
            issueKey: 'OPS-1',
            reason: 'adopted the issue of an interrupted earlier attempt',
          }),
        );
        expect(jira.requestsTo('createIssue')).toHaveLength(1);
        expect(jira.issues).toHaveLength(1);
        expect(await incident(name)).toEqual(expect.objectContaining({ status: 'OPEN', issueKey: 'OPS-1' }));
        const subjects = (await mailbox.emails()).map((e) => e.subject);
        expect(subjects).toEqual([expect.stringMatching(/JIRA FAILED/), expect.stringContaining('OPS-1')]);
      },
    );
  });

  describe('one state change delivered by EventBridge, SNS and a Lambda alarm action', () => {
    const paths = (name: string) => [
      alarmEvent({ alarmName: name, state: 'ALARM', stateTime: at(1) }),
      snsAlarmEvent({ alarmName: name, state: 'ALARM', stateTime: at(1) }),
      lambdaAlarmActionEvent({ alarmName: name, state: 'ALARM', stateTime: at(1) }),
    ];

    test('one after the other: one issue, one email, no comment; the others are duplicates', async () => {
      const { jira, mailbox, logs } = w();
      const name = alarmName('critical', 'three-paths');
      const invoker = w().asyncInvoker();

      const outcomes = [];
      for (const e of paths(name)) outcomes.push(resultsOf((await invoker.invoke(e)).result)[0]);

      expect(outcomes.map((o) => o.outcome)).toEqual(['created', 'duplicate', 'duplicate']);
      expect(outcomes[1].reason).toMatch(/was already handled$/);
      expect(jira.issues).toHaveLength(1);
      expect(jira.issues[0].comments).toHaveLength(0);
      expect(await mailbox.emails()).toHaveLength(1);
      const record = (await w().items()).find((i) => String(i.pk).startsWith('CHANGE#') && i.alarmName === name);
      expect((record?.deliveryIds as Set<string>).size).toBe(3);
      expect(logs.has(/Duplicate delivery.*"input":"sns"/)).toBe(true);
      expect(logs.has(/Duplicate delivery.*"input":"lambda-action"/)).toBe(true);
    });

    test('at the same time, in three containers: still one issue and one email', async () => {
      const { jira, mailbox } = w();
      w().configure({ JIRA_REQUEST_TIMEOUT_MS: '5000' });
      const name = alarmName('critical', 'three-paths-race');

      const invs = await Promise.all(
        paths(name).map((e) => w().asyncInvoker({ handler: w().newContainer() }).invoke(e)),
      );

      expect(invs.map((i) => i.final)).toEqual(['success', 'success', 'success']);
      expect(invs.map((i) => resultsOf(i.result)[0].outcome).sort()).toEqual(['created', 'duplicate', 'duplicate']);
      expect(jira.requestsTo('createIssue')).toHaveLength(1);
      expect(await mailbox.emails()).toHaveLength(1);
    });
  });
});
