/**
 * Accounting: a batch of mixed events, some with JIRA faults injected, goes through the async invoker
 * (Lambda retries + on-failure destination). Every event must end as exactly one of: ticket created,
 * comment, notified only, ignored with a reason, or a DLQ entry, and the counts must add up to the
 * inputs and match what JIRA, the email queue and the DLQ actually hold. Nothing is silently dropped.
 */
import {
  alarmEvent,
  alarmName,
  compositeAlarmEvent,
  configChangeEvent,
  lambdaAlarmActionEvent,
  malformedAlarmEvent,
  otherServiceEvent,
  snsAlarmEvent,
} from './support/events';
import { expectCleanJiraTraffic, fateOf, type Fate } from './support/expectations';
import { faults, type FakeJira } from './support/jira-server';
import { describeWithMoto } from './support/moto';
import { useWorld } from './support/world';

interface Step {
  label: string;
  event: unknown;
  /** The expected fate of the event. */
  fate: Fate;
  /** Emails this event must produce. */
  emails: number;
  /** Faults to queue before the event. */
  before?: (jira: FakeJira) => void;
}

describeWithMoto('incident handler: accounting of a mixed batch', () => {
  const w = useWorld();

  test('every event ends in exactly one bucket; totals equal inputs and match JIRA, emails and DLQ', async () => {
    const { jira, mailbox, logs } = w();
    const a = alarmName('critical', 'acct-a');
    const b = alarmName('critical', 'acct-b');
    const warn = alarmName('warning', 'acct-c');
    const comp = alarmName('composite', 'acct-d');
    const e = alarmName('critical', 'acct-e');
    const f = alarmName('critical', 'acct-f');
    const g = alarmName('critical', 'acct-g');
    const h = alarmName('critical', 'acct-h');
    const firstA = alarmEvent({ alarmName: a, state: 'ALARM' });

    const steps: Step[] = [
      { label: 'critical ALARM', event: firstA, fate: 'ticket-created', emails: 1 },
      {
        label: 'critical ALARM again',
        event: alarmEvent({ alarmName: a, state: 'ALARM' }),
        fate: 'comment',
        emails: 1,
      },
      { label: 'duplicate delivery', event: structuredClone(firstA), fate: 'ignored-with-reason', emails: 0 },
      { label: 'critical OK', event: alarmEvent({ alarmName: a, state: 'OK' }), fate: 'comment', emails: 1 },
      {
        label: 'critical INSUFFICIENT_DATA, issue closed',
        event: alarmEvent({ alarmName: a, state: 'INSUFFICIENT_DATA' }),
        fate: 'notified-only',
        emails: 1,
      },
      {
        // A 503 may follow an applied create: the Lambda retry creates (or adopts) it, after a failure email.
        label: 'critical ALARM, JIRA 503 once',
        event: alarmEvent({ alarmName: b, state: 'ALARM' }),
        fate: 'ticket-created',
        emails: 2,
        before: (j) => j.inject('createIssue', faults.serviceUnavailable()),
      },
      {
        label: 'critical ALARM, comment gets 502 once',
        event: alarmEvent({ alarmName: b, state: 'ALARM' }),
        fate: 'comment',
        emails: 1,
        before: (j) => j.inject('addComment', faults.status(502)),
      },
      {
        label: 'warning ALARM',
        event: alarmEvent({ alarmName: warn, state: 'ALARM' }),
        fate: 'notified-only',
        emails: 1,
      },
      { label: 'warning OK', event: alarmEvent({ alarmName: warn, state: 'OK' }), fate: 'notified-only', emails: 1 },
      { label: 'configuration change', event: configChangeEvent(a), fate: 'ignored-with-reason', emails: 0 },
      { label: 'another service', event: otherServiceEvent(), fate: 'ignored-with-reason', emails: 0 },
      { label: 'malformed alarm event', event: malformedAlarmEvent(), fate: 'dlq', emails: 0 },
      {
        label: 'suppressed composite ALARM',
        event: compositeAlarmEvent({ alarmName: comp, state: 'ALARM', actionsSuppressedBy: 'WaitPeriod' }),
        fate: 'ignored-with-reason',
        emails: 1,
      },
      {
        label: 'composite ALARM',
        event: compositeAlarmEvent({ alarmName: comp, state: 'ALARM' }),
        fate: 'ticket-created',
        emails: 1,
      },
      {
        label: 'critical ALARM, JIRA 400 on every attempt',
        event: alarmEvent({ alarmName: e, state: 'ALARM' }),
        fate: 'dlq',
        emails: 1,
        before: (j) => j.inject('createIssue', faults.badRequest(), faults.badRequest(), faults.badRequest()),
      },
      {
        label: 'SNS-wrapped critical ALARM',
        event: snsAlarmEvent({ alarmName: f, state: 'ALARM' }),
        fate: 'ticket-created',
        emails: 1,
      },
      {
        label: 'SNS-wrapped warning ALARM',
        event: snsAlarmEvent({ alarmName: warn, state: 'ALARM' }),
        fate: 'notified-only',
        emails: 1,
      },
      {
        label: 'Lambda alarm action, critical ALARM, connection reset once',
        event: lambdaAlarmActionEvent({ alarmName: g, state: 'ALARM' }),
        fate: 'ticket-created',
        emails: 2,
        before: (j) => j.inject('createIssue', faults.reset()),
      },
      {
        label: 'critical OK without an issue',
        event: alarmEvent({ alarmName: h, state: 'OK' }),
        fate: 'notified-only',
        emails: 1,
      },
      {
        label: 'critical ALARM, JIRA down for the whole first attempt, then back',
        event: alarmEvent({ alarmName: h, state: 'ALARM' }),
        fate: 'ticket-created',
        // the failure email of the first attempt, then the final one
        emails: 2,
        // The create's 503 and the label search after it (every attempt): the Lambda retry creates it.
        before: (j) =>
          j
            .inject('createIssue', faults.status(503))
            .inject('searchJql', faults.status(503), faults.status(503), faults.status(503)),
      },
    ];

    const invoker = w().asyncInvoker({ budgetMs: 5000 });
    const fates: Fate[] = [];
    const mismatches: string[] = [];
    let emailsSoFar = 0;
    for (const step of steps) {
      step.before?.(jira);
      const inv = await invoker.invoke(step.event);
      const got = fateOf(inv);
      // exactly one bucket per event (SNS events here carry one record)
      if (got.length !== 1) mismatches.push(`${step.label}: ${got.length} results`);
      fates.push(...got);
      const emails = (await mailbox.emails()).length;
      if (got[0] !== step.fate || emails - emailsSoFar !== step.emails) {
        mismatches.push(
          `${step.label}: fate ${got.join(',')} (expected ${step.fate}), emails ${emails - emailsSoFar} (expected ${step.emails}); ` +
            `attempts ${JSON.stringify(inv.attempts.map((x) => x.error?.errorMessage ?? 'ok'))}, result ${JSON.stringify(inv.result)}`,
        );
      }
      emailsSoFar = emails;
    }
    expect(mismatches).toEqual([]);

    // Totals equal inputs.
    const count = (f: Fate) => fates.filter((x) => x === f).length;
    const buckets = {
      'ticket-created': count('ticket-created'),
      comment: count('comment'),
      'notified-only': count('notified-only'),
      'ignored-with-reason': count('ignored-with-reason'),
      dlq: count('dlq'),
    };
    expect(Object.values(buckets).reduce((x, y) => x + y, 0)).toBe(steps.length);
    expect(steps.length).toBeGreaterThanOrEqual(20);

    // The buckets match the observable state.
    expect(jira.issues).toHaveLength(buckets['ticket-created']);
    expect(jira.issues.reduce((n, i) => n + i.comments.length, 0)).toBe(buckets.comment);
    const dlq = await mailbox.dlq();
    expect(dlq).toHaveLength(buckets.dlq);
    expect(dlq.map((r) => r.requestContext.condition)).toEqual(dlq.map(() => 'RetriesExhausted'));
    expect((await mailbox.emails()).length).toBe(steps.reduce((n, s) => n + s.emails, 0));

    // The malformed event's DLQ record says what is wrong; every ignored event was logged with its reason.
    const malformed = dlq.find((r) => r.responsePayload.errorType === 'InvalidEventError');
    expect(malformed?.responsePayload.errorMessage).toMatch(/alarmName|state/);
    expect(logs.has(/Event ignored.*CloudWatch Alarm Configuration Change/)).toBe(true);
    expect(logs.has(/Event ignored.*EC2 Instance State-change Notification/)).toBe(true);
    expect(logs.has(/Duplicate delivery/)).toBe(true);
    expectCleanJiraTraffic(jira);
  });
});
