/**
 * Alarm storms (issue 12, "one incident for one cause"): at most STORM_MAX_NEW_ISSUES new issues per storm
 * window; further critical ALARMs go to the window's one umbrella issue, created once, commented and updated;
 * the alarm's incident lives on the umbrella until its OK; the window passing ends the storm.
 */
import type { SQSBatchResponse } from 'aws-lambda';
import { IncidentBusyError } from '../../lambda/jira-incident/errors';
import { DIGEST_QUEUE_URL, setUp, sqsEvent, stateChange, type Harness, finish } from './helpers/harness';

let h: Harness;
afterEach(() => finish(h));

const WINDOW = 'STORM#2024-05-14T10:00:00.000Z'; // the fake clock starts at 10:00:00Z; windows of 900 s
const account = (i: number) => String(100000000000 + i);
const alarm = (i: number, state: 'ALARM' | 'OK' | 'INSUFFICIENT_DATA' = 'ALARM', at?: string) =>
  stateChange({ name: `crit-${i}`, state, account: account(i), at });
const incident = (i: number) => h.table.items.get(`ALARM#${account(i)}#us-east-1#crit-${i}`);
const text = (doc: unknown) => JSON.stringify(doc);
const failures = (r: unknown) => (r as SQSBatchResponse).batchItemFailures;

function names(): Record<string, string> {
  return Object.fromEntries(Array.from({ length: 20 }, (_, i) => [account(i), `team-${i}`]));
}

describe('the storm rule', () => {
  beforeEach(() => {
    h = setUp({ DIGEST_QUEUE_URL, STORM_MAX_NEW_ISSUES: '2', ACCOUNT_NAMES: JSON.stringify(names()) });
  });

  test('the first N ALARMs of a window get their own issue; the rest go to ONE umbrella issue, created once and updated', async () => {
    const result = await h.invoke(
      sqsEvent(
        'buffer',
        [1, 2, 3, 4, 5].map((i) => alarm(i)),
      ),
    );
    expect(failures(result)).toEqual([]);

    expect(h.jira.creates).toHaveLength(3);
    const [own1, own2, umbrella] = [...h.jira.issues.values()];
    expect([own1.fields.summary, own2.fields.summary]).toEqual([
      '[ALARM] crit-1 (account 100000000001 team-1, us-east-1)',
      '[ALARM] crit-2 (account 100000000002 team-2, us-east-1)',
    ]);
    // Created by the first ALARM over the limit; its summary rewritten once after the batch with the counts.
    expect(umbrella.key).toBe('OPS-3');
    expect(umbrella.fields.labels).toEqual(expect.arrayContaining(['alarm-storm', 'storm-window-20240514T100000Z']));
    expect(umbrella.fields.summary).toBe('Alarm storm: 5 alarms in 5 accounts since 2024-05-14 10:00 UTC');
    expect(h.jira.requestsTo('PUT', /^\/rest\/api\/3\/issue\/OPS-3$/)).toHaveLength(1);
    expect(text(umbrella.fields.description)).toContain('The first 2 opened their own issues: OPS-1, OPS-2');
    expect(text(umbrella.fields.description)).toContain('crit-3');
    // Each further ALARM is a comment naming alarm, account (with its name), region and time.
    expect(umbrella.comments).toHaveLength(2);
    expect(text(umbrella.comments[0])).toContain('crit-4');
    expect(text(umbrella.comments[0])).toContain(
      'in account 100000000004 (team-4), us-east-1: OK -> ALARM at 2019-10-02T17:04:40.989Z',
    );
    expect(text(umbrella.comments[1])).toContain('crit-5');

    // The alarms' incidents point to the umbrella, so their later state changes comment there.
    for (const i of [3, 4, 5])
      expect(incident(i)).toMatchObject({ status: 'OPEN', issueKey: 'OPS-3', umbrellaWindow: WINDOW });
    expect(h.table.items.get(WINDOW)).toMatchObject({ issues: 2, alarms: 5, members: 3, umbrellaKey: 'OPS-3' });

    // Emails: the own issues and the storm's opening at once; the ALARMs added to it go to the digest.
    expect(h.emails().map((e) => e.Subject)).toEqual([
      '[ALARM] crit-1 (team-1 100000000001 us-east-1) OPS-1',
      '[ALARM] crit-2 (team-2 100000000002 us-east-1) OPS-2',
      '[ALARM STORM] crit-3 (team-3 100000000003 us-east-1) OPS-3',
    ]);
    expect(h.emails()[2].Message).toContain(
      'Further ones are added to OPS-3 as comments; their emails come in the digest',
    );
    expect(h.forwarded().map((b) => (JSON.parse(b) as { detail: { alarmName: string } }).detail.alarmName)).toEqual([
      'crit-4',
      'crit-5',
    ]);
  });

  test("an umbrella alarm's repeat ALARM and OK comment on the umbrella; the OK closes the alarm's incident, not the umbrella", async () => {
    await h.invoke(
      sqsEvent(
        'buffer',
        [1, 2, 3, 4].map((i) => alarm(i)),
      ),
    );
    const repeat = alarm(4, 'ALARM', '2019-10-02T17:09:40.989Z');
    const ok = alarm(4, 'OK', '2019-10-02T17:34:40.989Z');
    await h.invoke(sqsEvent('buffer', [repeat, ok]));

    const umbrella = h.jira.issues.get('OPS-3')!;
    expect(umbrella.comments.map(text)).toEqual([
      expect.stringContaining('crit-4'), // joined
      expect.stringContaining('crit-4'), // repeat ALARM
      expect.stringMatching(/crit-4.*ALARM -> OK.*1 of 2 alarms on this storm issue have recovered/),
    ]);
    expect(umbrella.status).toBe('To Do'); // no transition: other alarms of the storm are still in ALARM
    expect(incident(4)).toMatchObject({ status: 'CLOSED', closedIssueKey: 'OPS-3' });
    expect(h.jira.creates).toHaveLength(3);
    expect(h.emails()).toHaveLength(3); // both went to the digest
    expect(h.forwarded()).toHaveLength(1 + 2);
  });

  test('when the window passes, critical ALARMs open their own issues again; the next ALARM of an umbrella alarm is a new incident', async () => {
    await h.invoke(
      sqsEvent(
        'buffer',
        [1, 2, 3].map((i) => alarm(i)),
      ),
    );
    await h.invoke(sqsEvent('buffer', [alarm(3, 'OK', '2019-10-02T17:34:40.989Z')]));
    h.clock.t += 900_000; // the next window

    await h.invoke(sqsEvent('buffer', [alarm(3, 'ALARM', '2019-10-02T18:00:00.000Z'), alarm(6), alarm(7)]));

    expect([...h.jira.issues.values()].map((i) => i.fields.summary)).toEqual([
      expect.stringContaining('crit-1'),
      expect.stringContaining('crit-2'),
      'Alarm storm: 3 alarms in 3 accounts since 2024-05-14 10:00 UTC',
      expect.stringContaining('crit-3'), // its own issue now: the first ALARM of the new window
      expect.stringContaining('crit-6'),
      'Alarm storm: 3 alarms in 3 accounts since 2024-05-14 10:15 UTC', // the storm goes on: the next umbrella
    ]);
    expect(incident(3)).toMatchObject({ status: 'OPEN', issueKey: 'OPS-4' });
    expect(incident(3)?.umbrellaWindow).toBeUndefined();
    expect(incident(7)).toMatchObject({ issueKey: 'OPS-6', umbrellaWindow: 'STORM#2024-05-14T10:15:00.000Z' });
  });

  test('every alarm on the umbrella OK again after its window ended: the umbrella gets the resolve transition', async () => {
    await h.invoke(
      sqsEvent(
        'buffer',
        [1, 2, 3, 4].map((i) => alarm(i)),
      ),
    );
    await h.invoke(sqsEvent('buffer', [alarm(3, 'OK', '2019-10-02T17:34:40.989Z')]));
    expect(h.jira.issues.get('OPS-3')?.status).toBe('To Do');
    h.clock.t += 900_000;
    await h.invoke(sqsEvent('buffer', [alarm(4, 'OK', '2019-10-02T17:34:40.989Z')]));

    expect(h.jira.issues.get('OPS-3')?.status).toBe('Done');
    expect(text(h.jira.issues.get('OPS-3')?.comments.at(-1))).toContain(
      '2 of 2 alarms on this storm issue have recovered',
    );
  });

  test('a create that certainly failed gives its slot back: the next ALARM still gets its own issue', async () => {
    h.jira.failNext(1, 400, { errorMessages: ["Field 'priority' is required"], errors: {} });
    const first = await h.invoke(sqsEvent('buffer', [alarm(1)]));
    expect(failures(first)).toHaveLength(1);
    await h.invoke(sqsEvent('buffer', [alarm(2), alarm(3)]));
    expect([...h.jira.issues.values()].map((i) => i.fields.summary)).toEqual([
      expect.stringContaining('crit-2'),
      expect.stringContaining('crit-3'),
    ]);
    expect(h.table.items.get(WINDOW)).toMatchObject({ issues: 2 });
  });

  test('a person deletes the umbrella issue: the next ALARM over the limit opens a new one', async () => {
    await h.invoke(
      sqsEvent(
        'buffer',
        [1, 2, 3].map((i) => alarm(i)),
      ),
    );
    h.jira.deleteIssue('OPS-3');
    await h.invoke(sqsEvent('buffer', [alarm(4)]));

    expect(h.jira.issues.get('OPS-4')?.fields.summary).toMatch(/^Alarm storm: /);
    expect(h.table.items.get(WINDOW)).toMatchObject({ umbrellaKey: 'OPS-4', lostUmbrellaKey: 'OPS-3' });
    expect(incident(4)).toMatchObject({ issueKey: 'OPS-4' });
  });
});

describe('exactly one umbrella under races', () => {
  test('overflow ALARMs of different alarms racing (direct invocations) create one umbrella; losers retry', async () => {
    h = setUp({ STORM_MAX_NEW_ISSUES: '2' });
    await h.invoke(alarm(1));
    await h.invoke(alarm(2));
    const racing = [3, 4, 5, 6, 7, 8, 9, 10].map((i) => alarm(i));

    const first = await Promise.allSettled(racing.map((e) => h.invoke(e)));
    const busy = racing.filter((_, i) => first[i].status === 'rejected');
    for (const r of first) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(IncidentBusyError);
    h.clock.t += 60_000;
    for (const e of busy) await h.invoke(e);

    const umbrellas = [...h.jira.issues.values()].filter((i) => i.fields.labels.includes('alarm-storm'));
    expect(umbrellas).toHaveLength(1);
    expect(h.jira.creates).toHaveLength(3);
    expect(umbrellas[0].comments).toHaveLength(7);
    for (const i of [3, 4, 5, 6, 7, 8, 9, 10]) expect(incident(i)).toMatchObject({ issueKey: umbrellas[0].key });
    // Direct invocations have no digest: every ALARM is emailed at once, as before.
    expect(h.emails().length).toBeGreaterThanOrEqual(10);
  });
});
