/**
 * The incident handler end to end against moto (SNS, SQS, DynamoDB, Secrets Manager) and the local
 * JIRA-compatible server: the issue lifecycle, retries that succeed, JIRA outages, races.
 * Assertions are on observable effects: JIRA state, published emails, DLQ records, DynamoDB items.
 */
import { alarmEvent, alarmName, snsAlarmEvent } from './support/events';
import { closedPortUrl, faults } from './support/jira-server';
import { expectCleanJiraTraffic, resultsOf, single } from './support/expectations';
import { describeWithMoto } from './support/moto';
import { useWorld } from './support/world';

describeWithMoto('incident handler: issue lifecycle', () => {
  const w = useWorld();

  test('the first ALARM of a critical alarm creates one issue and emails its key and link', async () => {
    const { jira, mailbox } = w();
    const name = alarmName('critical', 'payments-errors');
    const event = alarmEvent({ alarmName: name, state: 'ALARM' });

    const out = await w().invoke(event);

    expect(out.error).toBeUndefined();
    expect(single(out.result)).toEqual(expect.objectContaining({ outcome: 'created', issueKey: 'OPS-1' }));
    expect(jira.issues).toHaveLength(1);
    const issue = jira.issues[0];
    expect(issue.fields).toEqual(
      expect.objectContaining({
        project: { key: 'OPS' },
        issuetype: { name: 'Incident' },
        summary: expect.stringContaining(name),
        labels: expect.arrayContaining([`alarm-${name}`]),
      }),
    );
    expect(JSON.stringify(issue.fields.description)).toContain(name);
    expectCleanJiraTraffic(jira);

    const emails = await mailbox.emails();
    expect(emails).toHaveLength(1);
    expect(emails[0].subject).toContain('ALARM');
    expect(emails[0].subject).toContain(name);
    expect(emails[0].subject).toContain('OPS-1');
    for (const text of [name, '123456789012', 'ALARM', 'Threshold Crossed', 'OPS-1', `${jira.url}/browse/OPS-1`]) {
      expect(emails[0].message).toContain(text);
    }

    const items = await w().items();
    expect(items.length).toBeGreaterThan(0);
    const nowSeconds = Date.now() / 1000;
    for (const item of items) {
      expect(typeof item.pk).toBe('string');
      // TTL attribute in epoch seconds (not milliseconds), in the future, when present.
      if (item.expiresAt !== undefined) {
        expect(item.expiresAt).toBeGreaterThan(nowSeconds);
        expect(item.expiresAt).toBeLessThan(nowSeconds + 400 * 24 * 3600);
      }
    }
    expect(items.some((i) => i.issueKey === 'OPS-1')).toBe(true);
  });

  test('the same event delivered again creates nothing and sends no second email', async () => {
    const { jira, mailbox } = w();
    const event = alarmEvent({ alarmName: alarmName('critical', 'dup'), state: 'ALARM' });

    const first = await w().invoke(event);
    const again = await w().invoke(event);

    expect(single(first.result).outcome).toBe('created');
    expect(single(again.result)).toEqual(expect.objectContaining({ outcome: 'duplicate', reason: expect.any(String) }));
    expect(jira.issues).toHaveLength(1);
    expect(jira.issues[0].comments).toHaveLength(0);
    expect(jira.requestsTo('createIssue')).toHaveLength(1);
    expect(await mailbox.emails()).toHaveLength(1);
    expectCleanJiraTraffic(jira);
  });

  test('a second ALARM (new event id) while the issue is open adds a comment', async () => {
    const { jira, mailbox } = w();
    const name = alarmName('critical', 'repeat');

    await w().invoke(alarmEvent({ alarmName: name, state: 'ALARM' }));
    const second = await w().invoke(alarmEvent({ alarmName: name, state: 'ALARM', reason: 'still breaching' }));

    expect(single(second.result)).toEqual(expect.objectContaining({ outcome: 'commented', issueKey: 'OPS-1' }));
    expect(second.durationMs).toBeLessThan(3000); // a warm invocation with JIRA answering normally
    expect(jira.issues).toHaveLength(1);
    expect(jira.issues[0].comments).toHaveLength(1);
    expect(JSON.stringify(jira.issues[0].comments[0].body)).toContain('still breaching');
    const emails = await mailbox.emails();
    expect(emails).toHaveLength(2);
    expect(emails[1].message).toContain('OPS-1');
    expectCleanJiraTraffic(jira);
  });

  test('OK comments on the issue, and the next ALARM opens a NEW issue', async () => {
    const { jira, mailbox } = w();
    const name = alarmName('critical', 'recover');

    await w().invoke(alarmEvent({ alarmName: name, state: 'ALARM' }));
    const ok = await w().invoke(alarmEvent({ alarmName: name, state: 'OK' }));
    const next = await w().invoke(alarmEvent({ alarmName: name, state: 'ALARM' }));

    expect(single(ok.result)).toEqual(expect.objectContaining({ outcome: 'resolved', issueKey: 'OPS-1' }));
    expect(jira.issues[0].comments).toHaveLength(1);
    expect(jira.requestsTo('doTransition')).toHaveLength(0); // no JIRA_RESOLVE_TRANSITION configured
    expect(single(next.result)).toEqual(expect.objectContaining({ outcome: 'created', issueKey: 'OPS-2' }));
    expect(jira.issues.map((i) => i.key)).toEqual(['OPS-1', 'OPS-2']);
    const emails = await mailbox.emails();
    expect(emails.map((e) => e.subject)).toEqual([
      expect.stringMatching(/ALARM.*OPS-1/),
      expect.stringMatching(/OK.*OPS-1/),
      expect.stringMatching(/ALARM.*OPS-2/),
    ]);
    expectCleanJiraTraffic(jira);
  });

  test('with JIRA_RESOLVE_TRANSITION=Done, OK comments and transitions the issue to Done', async () => {
    w().configure({ JIRA_RESOLVE_TRANSITION: 'Done' });
    const { jira } = w();
    const name = alarmName('critical', 'resolve');

    await w().invoke(alarmEvent({ alarmName: name, state: 'ALARM' }));
    const ok = await w().invoke(alarmEvent({ alarmName: name, state: 'OK' }));
    const next = await w().invoke(alarmEvent({ alarmName: name, state: 'ALARM' }));

    expect(single(ok.result).outcome).toBe('resolved');
    expect(jira.issues[0].status.name).toBe('Done');
    expect(jira.issues[0].transitions).toEqual([expect.objectContaining({ id: '31', name: 'Done' })]);
    expect(jira.issues[0].comments).toHaveLength(1);
    expect(single(next.result)).toEqual(expect.objectContaining({ outcome: 'created', issueKey: 'OPS-2' }));
    expect(jira.openIssues().map((i) => i.key)).toEqual(['OPS-2']);
    expectCleanJiraTraffic(jira);
  });

  test('a resolve transition the workflow does not offer: OK still comments and closes the incident', async () => {
    w().configure({ JIRA_RESOLVE_TRANSITION: 'Closed' });
    const { jira, logs } = w();
    const name = alarmName('critical', 'no-transition');

    await w().invoke(alarmEvent({ alarmName: name, state: 'ALARM' }));
    const ok = await w().invoke(alarmEvent({ alarmName: name, state: 'OK' }));
    const next = await w().invoke(alarmEvent({ alarmName: name, state: 'ALARM' }));

    expect(single(ok.result)).toEqual(
      expect.objectContaining({ outcome: 'resolved', reason: expect.stringMatching(/Closed.*not available/) }),
    );
    expect(jira.requestsTo('doTransition')).toHaveLength(0);
    expect(jira.issues[0].comments).toHaveLength(1);
    expect(logs.has(/Resolve transition not available/)).toBe(true);
    expect(single(next.result)).toEqual(expect.objectContaining({ outcome: 'created', issueKey: 'OPS-2' }));
    expectCleanJiraTraffic(jira);
  });

  test('an alarm name with spaces, quotes, dots and unicode, 255 characters long: valid issue, labels and email', async () => {
    const { jira, mailbox } = w();
    const name = (`critical- Zahlungen "EU" ünïcode.v2 – 支付 ${alarmName('critical', 'x')} ` + 'x'.repeat(255)).slice(
      0,
      255,
    );

    const first = await w().invoke(alarmEvent({ alarmName: name, state: 'ALARM' }));
    const again = await w().invoke(alarmEvent({ alarmName: name, state: 'ALARM' }));

    expect(single(first.result).outcome).toBe('created');
    expect(single(again.result).outcome).toBe('commented');
    expect(jira.issues).toHaveLength(1);
    const fields = jira.issues[0].fields as { summary: string; labels: string[] };
    expect(fields.summary.length).toBeLessThanOrEqual(255);
    expect(fields.summary).toContain('Zahlungen "EU" ünïcode.v2');
    expect(fields.labels.every((l) => !/\s/.test(l) && l.length <= 255)).toBe(true);
    expectCleanJiraTraffic(jira); // summary one line <= 255, labels without whitespace, ADF bodies
    const emails = await mailbox.emails();
    expect(emails).toHaveLength(2);
    for (const e of emails) {
      expect(e.subject.length).toBeLessThan(100);
      expect(e.subject).toMatch(/^[\x20-\x7e]+$/);
      expect(e.message).toContain(name);
    }
  });

  test('503 then 201: not re-posted in the invocation (JIRA may have applied it); the Lambda retry creates one issue', async () => {
    const { jira, logs, mailbox } = w();
    jira.inject('createIssue', faults.serviceUnavailable());

    const inv = await w()
      .asyncInvoker()
      .invoke(alarmEvent({ alarmName: alarmName('critical', 'r503'), state: 'ALARM' }));

    expect(inv.final).toBe('success');
    expect(inv.attempts.map((a) => a.ok)).toEqual([false, true]);
    expect(single(inv.result).outcome).toBe('created');
    expect(jira.requestsTo('createIssue').map((r) => r.response)).toEqual([503, 201]);
    expect(jira.issues).toHaveLength(1);
    expect(logs.has(/Create outcome unknown: the claim is held/)).toBe(true);
    expect((await mailbox.emails()).map((e) => e.subject)).toEqual([
      expect.stringContaining('JIRA FAILED'),
      expect.stringContaining('OPS-1'),
    ]);
    expectCleanJiraTraffic(jira);
  });

  test('429 with Retry-After: 1 then 201: waits about a second, exactly one issue', async () => {
    const { jira } = w();
    jira.inject('createIssue', faults.rateLimited(1));

    const out = await w().invoke(alarmEvent({ alarmName: alarmName('critical', 'r429'), state: 'ALARM' }));

    expect(single(out.result).outcome).toBe('created');
    const [first, second] = jira.requestsTo('createIssue');
    expect([first.response, second.response]).toEqual([429, 201]);
    expect(second.at - first.at).toBeGreaterThanOrEqual(950);
    expect(jira.issues).toHaveLength(1);
    expectCleanJiraTraffic(jira);
  });

  test.each([
    ['every request answers 503', 'down' as const],
    ['connection refused', 'refused' as const],
  ])('JIRA down (%s): the email still goes out and says so; the event ends in the DLQ', async (_label, mode) => {
    const { jira, mailbox } = w();
    w().configure({ JIRA_MAX_ATTEMPTS: '2' });
    if (mode === 'down') jira.injectAlways('*', faults.serviceUnavailable());
    else w().configure({ JIRA_BASE_URL: await closedPortUrl() });
    const name = alarmName('critical', `down-${mode}`);
    const event = alarmEvent({ alarmName: name, state: 'ALARM' });

    const inv = await w().asyncInvoker({ budgetMs: 5000 }).invoke(event);

    expect(inv.final).toBe('dlq');
    expect(inv.attempts).toHaveLength(3);
    const dlq = await mailbox.dlq();
    expect(dlq).toHaveLength(1);
    expect(dlq[0].requestPayload).toEqual(event);
    expect(dlq[0].requestContext).toEqual(
      expect.objectContaining({ condition: 'RetriesExhausted', approximateInvokeCount: 3 }),
    );
    expect(dlq[0].responsePayload.errorMessage).toMatch(mode === 'down' ? /HTTP 503/ : /ECONNREFUSED|network/i);
    expect(jira.issues).toHaveLength(0);
    const emails = await mailbox.emails();
    expect(emails.length).toBeGreaterThanOrEqual(1);
    for (const e of emails) {
      expect(e.subject).toContain(name);
      expect(e.subject).toMatch(/JIRA FAILED/);
      expect(e.message).toMatch(/could not be created/i);
    }
    expect(emails).toHaveLength(1); // the failure email is not repeated by the retries
    if (mode === 'down') expectCleanJiraTraffic(jira);
  });

  test('10 concurrent events for the same alarm create exactly one issue; the rest comment or dedupe', async () => {
    const { jira, mailbox } = w();
    jira.latencyMs = 40; // let the invocations overlap inside JIRA calls
    // A generous client timeout: this test is about the claim lock, not about lost responses (see the
    // fault-injection suite), which a short timeout on a busy machine would also produce.
    w().configure({ JIRA_REQUEST_TIMEOUT_MS: '5000' });
    const name = alarmName('critical', 'race');
    const events = Array.from({ length: 10 }, () => alarmEvent({ alarmName: name, state: 'ALARM' }));
    // Concurrent invocations run in separate execution environments: one handler module each.
    const invokers = events.map(() => w().asyncInvoker({ budgetMs: 10_000, handler: w().newContainer() }));

    const invs = await Promise.all(events.map((e, i) => invokers[i].invoke(e)));

    const summary = invs.map((i) => ({
      final: i.final,
      attempts: i.attempts.map((a) => a.error?.errorMessage ?? 'ok'),
      outcome: i.final === 'success' ? single(i.result).outcome : undefined,
      reason: i.final === 'success' ? single(i.result).reason : undefined,
    }));
    const diagnostics = JSON.stringify({ summary, jira: JSON.parse(jira.describe()) }, null, 1);
    expect({ issues: jira.issues.length, creates: jira.requestsTo('createIssue').length, diagnostics }).toEqual({
      issues: 1,
      creates: 1,
      diagnostics,
    });
    expect({ finals: summary.map((s) => s.final), diagnostics }).toEqual({
      finals: summary.map(() => 'success'),
      diagnostics,
    });
    const outcomes = summary.map((s) => s.outcome);
    expect(outcomes.filter((o) => o === 'created')).toHaveLength(1);
    expect(outcomes.every((o) => o === 'created' || o === 'commented' || o === 'duplicate')).toBe(true);
    expect(jira.issues[0].comments).toHaveLength(outcomes.filter((o) => o === 'commented').length);
    expect((await mailbox.emails()).length).toBe(10);
    expect(await mailbox.dlq()).toEqual([]);
    expectCleanJiraTraffic(jira);
  });

  test('a non-critical alarm gets an email only, and no JIRA request', async () => {
    const { jira, mailbox } = w();
    const name = alarmName('warning', 'disk');

    const out = await w().invoke(alarmEvent({ alarmName: name, state: 'ALARM' }));

    expect(single(out.result)).toEqual(expect.objectContaining({ outcome: 'notified', reason: expect.any(String) }));
    expect(jira.requests).toEqual([]);
    const emails = await mailbox.emails();
    expect(emails).toHaveLength(1);
    expect(emails[0].subject).toContain(name);
    expect(emails[0].message).toMatch(/JIRA ticket:\s+none/);
  });

  test('an SNS-wrapped alarm notification creates the issue like an EventBridge event', async () => {
    const { jira, mailbox } = w();
    const name = alarmName('critical', 'sns');

    const out = await w().invoke(snsAlarmEvent({ alarmName: name, state: 'ALARM' }));
    const again = await w().invoke(snsAlarmEvent({ alarmName: name, state: 'ALARM' }));

    expect(resultsOf(out.result)).toEqual([expect.objectContaining({ outcome: 'created', issueKey: 'OPS-1' })]);
    expect(resultsOf(again.result)).toEqual([expect.objectContaining({ outcome: 'commented', issueKey: 'OPS-1' })]);
    expect(jira.issues).toHaveLength(1);
    expect(jira.issues[0].fields.summary).toContain(name);
    expect((await mailbox.emails()).map((e) => e.subject)).toEqual([
      expect.stringContaining('OPS-1'),
      expect.stringContaining('OPS-1'),
    ]);
    expectCleanJiraTraffic(jira);
  });

  test('an SNS event with two records (critical and warning) returns one result per record', async () => {
    const { jira, mailbox } = w();
    const critical = alarmName('critical', 'sns-batch');
    const warning = alarmName('warning', 'sns-batch');

    const out = await w().invoke(
      snsAlarmEvent({ alarmName: critical, state: 'ALARM' }, { alarmName: warning, state: 'ALARM' }),
    );

    expect(resultsOf(out.result)).toEqual([
      expect.objectContaining({ outcome: 'created', issueKey: 'OPS-1' }),
      expect.objectContaining({ outcome: 'notified' }),
    ]);
    expect(jira.issues).toHaveLength(1);
    const subjects = (await mailbox.emails()).map((e) => e.subject);
    expect(subjects).toHaveLength(2);
    expect(subjects.some((s) => s.includes(critical) && s.includes('OPS-1'))).toBe(true);
    expect(subjects.some((s) => s.includes(warning))).toBe(true);
  });
});
