/**
 * Maintenance windows (issue 10; README "Maintenance windows"): a critical ALARM inside a window covering it opens no
 * ticket (emailed "muted", recorded, remembered); OK and INSUFFICIENT_DATA behave as usual; when the window ends, the
 * alarms still in ALARM without an open incident open their tickets through the claim and storm rules, once.
 */
import 'aws-sdk-client-mock-jest';
import type { SQSBatchResponse } from 'aws-lambda';
import { EXAMPLE_CONFIG, loadConfig as loadStackConfig } from '../../lib/config';
import { loadConfig, parseMaintenanceWindows, type MaintenanceWindow } from '../../lambda/jira-incident/config';
import { coveringOccurrence, maintenanceKey, occurrenceAt } from '../../lambda/jira-incident/maintenance';
import type { ChangeResult } from '../../lambda/jira-incident/processor';
import { BASE_ENV, DIGEST_QUEUE_URL, setUp, sqsEvent, stateChange, type Harness, finish } from './helpers/harness';

let h: Harness | undefined;
afterEach(() => {
  finish(h);
  h = undefined;
});

const ACCOUNT = '123456789012';
const PK = `ALARM#${ACCOUNT}#us-east-1#crit-db`;
const at = (hhmm: string) => `2024-05-14T${hhmm}:00.000Z`;
const change = (state: 'ALARM' | 'OK' | 'INSUFFICIENT_DATA', hhmm: string, name = 'crit-db', account = ACCOUNT) =>
  stateChange({ name, state, at: at(hhmm), account, previous: state === 'ALARM' ? 'OK' : 'ALARM' });
const ended = (window: string, endedAt: string, id = `mw-${window}-${endedAt}`) => ({
  version: '0',
  id,
  'detail-type': 'Maintenance Window Ended',
  source: 'observability.hub',
  account: '999999999999',
  time: endedAt,
  region: 'us-east-1',
  resources: [],
  detail: { window, endedAt },
});
const failures = (r: unknown) => (r as SQSBatchResponse).batchItemFailures;
const text = (doc: unknown) => JSON.stringify(doc);
const windows = (...w: Record<string, unknown>[]) => ({ MAINTENANCE_WINDOWS: JSON.stringify(w) });
const DB_UPGRADE = { name: 'db-upgrade', start: '2024-05-14T09:00:00Z', end: '2024-05-14T11:00:00Z' };
const harness = (env: Record<string, string> = {}) => (h = setUp({ ...windows(DB_UPGRADE), ...env }));
const MAINT = 'MAINT#db-upgrade#2024-05-14T11:00:00.000Z';

describe('a critical ALARM inside a window', () => {
  test('opens no ticket: emailed at once marked muted, recorded with the window, remembered on the occurrence', async () => {
    const x = harness();
    const out = (await x.invoke(change('ALARM', '09:30'))) as ChangeResult;

    expect(out).toMatchObject({
      outcome: 'muted',
      reason: 'muted by maintenance window db-upgrade until 2024-05-14T11:00:00.000Z',
    });
    expect(x.jira.requests).toEqual([]);
    const [email] = x.emails();
    expect(email.Subject).toMatch(/^\[ALARM, muted\] crit-db \(123456789012 us-east-1\)$/);
    expect(email.Message).toContain('muted by maintenance window db-upgrade until 2024-05-14T11:00:00.000Z');
    expect(x.table.items.get(`CHANGE#${out.changeId}`)).toMatchObject({
      status: 'DONE',
      outcome: 'muted',
      maintenanceWindow: 'db-upgrade',
      mutedUntil: '2024-05-14T11:00:00.000Z',
      emailSent: 'final',
    });
    expect(x.table.items.get(MAINT)).toMatchObject({
      window: 'db-upgrade',
      startsAt: '2024-05-14T09:00:00.000Z',
      endsAt: '2024-05-14T11:00:00.000Z',
      alarms: new Set([PK]),
    });
    expect(x.table.items.get(PK)).toMatchObject({
      lastAlarmStateAtMs: Date.parse(at('09:30')),
      heldBy: MAINT,
      heldAlarmStateAtMs: Date.parse(at('09:30')),
      heldAlarm: expect.objectContaining({ changeId: out.changeId, alarmName: 'crit-db' }),
    });
    expect(x.table.items.get(PK)?.status).toBeUndefined();
  });

  test('the window is [start, end) of the state time; outside it tickets open as usual', async () => {
    const x = harness();
    const outcome = async (name: string, hhmm: string) =>
      ((await x.invoke(change('ALARM', hhmm, name))) as ChangeResult).outcome;
    expect(await outcome('crit-before', '08:59')).toBe('created');
    expect(await outcome('crit-start', '09:00')).toBe('muted');
    expect(await outcome('crit-last', '10:59')).toBe('muted');
    expect(await outcome('crit-end', '11:00')).toBe('created');
  });

  test('accounts and alarmNamePattern narrow what a window covers; email-only alarms are untouched', async () => {
    const x = (h = setUp({
      DIGEST_QUEUE_URL,
      ...windows({ ...DB_UPGRADE, accounts: ['111111111111'], alarmNamePattern: '^crit-db' }),
    }));
    const muted = (await x.invoke(change('ALARM', '09:30', 'crit-db', '111111111111'))) as ChangeResult;
    const otherAccount = (await x.invoke(change('ALARM', '09:30', 'crit-db', '222222222222'))) as ChangeResult;
    const otherName = (await x.invoke(change('ALARM', '09:30', 'crit-api', '111111111111'))) as ChangeResult;
    const emailOnly = (await x.invoke(change('ALARM', '09:30', 'warn-db', '111111111111'))) as ChangeResult;
    expect([muted, otherAccount, otherName, emailOnly].map((r) => r.outcome)).toEqual([
      'muted',
      'created',
      'created',
      'notified',
    ]);
  });

  test('OK and INSUFFICIENT_DATA during a window behave as usual: the OK closes an incident opened before it', async () => {
    const x = harness();
    await x.invoke(change('ALARM', '08:30'));
    const insufficient = (await x.invoke(change('INSUFFICIENT_DATA', '09:10'))) as ChangeResult;
    const ok = (await x.invoke(change('OK', '09:20'))) as ChangeResult;
    expect([insufficient.outcome, ok.outcome]).toEqual(['commented', 'resolved']);
    expect(x.jira.issues.get('OPS-1')!.status).toBe('Done');
  });

  test('a repeat ALARM of an incident opened before the window is muted too (no comment); the end leaves it', async () => {
    const x = harness();
    await x.invoke(change('ALARM', '08:30'));
    expect(((await x.invoke(change('ALARM', '09:30'))) as ChangeResult).outcome).toBe('muted');
    expect(x.jira.issues.get('OPS-1')!.comments).toEqual([]);
    await x.invoke(sqsEvent('buffer', [ended('db-upgrade', '2024-05-14T11:00:00Z')]));
    expect(x.jira.creates).toHaveLength(1);
    expect(x.logRecords().find((r) => r.message === 'Maintenance window ended')).toMatchObject({
      skipped: { 'incident open': 1 },
    });
  });
});

describe('the window ends', () => {
  test('an alarm still in ALARM opens its ticket now (held back, said in the description), one summary email', async () => {
    const x = harness();
    const muted = (await x.invoke(change('ALARM', '09:30'))) as ChangeResult;
    x.clock.t = Date.parse('2024-05-14T11:00:05Z');

    const result = await x.invoke(sqsEvent('buffer', [ended('db-upgrade', '2024-05-14T11:00:00Z')]));

    expect(failures(result)).toEqual([]);
    const issue = x.jira.issues.get('OPS-1')!;
    expect(issue.fields.summary).toBe('[ALARM] crit-db (account 123456789012, us-east-1)');
    expect(text(issue.fields.description)).toContain(
      'Held back by maintenance window db-upgrade: this ALARM came during the window, which muted its ticket. ' +
        'The window ended at 2024-05-14T11:00:00.000Z and the alarm is still in ALARM, so the ticket opens now.',
    );
    expect(x.table.items.get(PK)).toMatchObject({
      status: 'OPEN',
      issueKey: 'OPS-1',
      openedByChangeId: muted.changeId,
    });
    const summary = x.emails().at(-1)!;
    expect(summary.Subject).toBe('[MAINTENANCE ENDED] db-upgrade: 1 alarm still in ALARM, ticket opened');
    expect(summary.Message).toContain(
      '- crit-db (account 123456789012, us-east-1): ALARM since 2024-05-14T09:30:00.000Z -> OPS-1 https://example.atlassian.net/browse/OPS-1',
    );
    expect(x.table.items.get(MAINT)).toMatchObject({ released: new Set([PK]), endedAt: '2024-05-14T11:00:00.000Z' });

    // Redelivered: nothing twice.
    await x.invoke(sqsEvent('buffer', [ended('db-upgrade', '2024-05-14T11:00:00Z')], { receiveCount: 2 }));
    expect(x.jira.creates).toHaveLength(1);
    expect(x.emails()).toHaveLength(2);
    // The next ALARM comments on the open issue.
    expect(((await x.invoke(change('ALARM', '11:30'))) as ChangeResult).outcome).toBe('commented');
  });

  test('an alarm that recovered during the window opens nothing; nor one that went INSUFFICIENT_DATA', async () => {
    const x = harness();
    await x.invoke(change('ALARM', '09:30'));
    await x.invoke(change('OK', '09:40'));
    await x.invoke(change('ALARM', '09:30', 'crit-api'));
    await x.invoke(change('INSUFFICIENT_DATA', '09:45', 'crit-api'));
    await x.invoke(sqsEvent('buffer', [ended('db-upgrade', '2024-05-14T11:00:00Z')]));
    expect(x.jira.requests).toEqual([]);
    expect(x.logRecords().find((r) => r.message === 'Maintenance window ended')).toMatchObject({
      held: 2,
      opened: 0,
      skipped: { recovered: 2 },
    });
    expect(x.emails().filter((e) => e.Subject?.startsWith('[MAINTENANCE ENDED]'))).toEqual([]);
  });

  test('the storm rules hold: held-back ALARMs past the limit go to the umbrella issue', async () => {
    const x = harness({ STORM_MAX_NEW_ISSUES: '1', DIGEST_QUEUE_URL });
    for (const i of [1, 2, 3]) await x.invoke(change('ALARM', '09:30', `crit-${i}`, String(100000000000 + i)));
    await x.invoke(sqsEvent('buffer', [ended('db-upgrade', '2024-05-14T11:00:00Z')]));

    expect(x.jira.creates).toHaveLength(2);
    const umbrella = x.jira.issues.get('OPS-2')!;
    expect(umbrella.fields.labels).toContain('alarm-storm');
    expect(text(umbrella.comments[0])).toContain('Held back by maintenance window db-upgrade');
    // The umbrella's summary is refreshed after the batch, as for any storm.
    expect(umbrella.fields.summary).toBe('Alarm storm: 3 alarms in 3 accounts since 2024-05-14 10:00 UTC');
    expect(x.emails().at(-1)!.Message).toContain(
      '-> OPS-2 https://example.atlassian.net/browse/OPS-2 (alarm storm issue)',
    );
  });

  test('another window still covering the alarm holds its ticket until that one ends', async () => {
    const x = (h = setUp(
      windows(DB_UPGRADE, { name: 'long-freeze', start: '2024-05-14T10:00:00Z', end: '2024-05-14T12:00:00Z' }),
    ));
    // 09:30: only db-upgrade covers it.
    await x.invoke(change('ALARM', '09:30'));
    await x.invoke(sqsEvent('buffer', [ended('db-upgrade', '2024-05-14T11:00:00Z')]));
    expect(x.jira.creates).toEqual([]);
    expect(x.table.items.get(PK)).toMatchObject({ heldBy: 'MAINT#long-freeze#2024-05-14T12:00:00.000Z' });

    await x.invoke(sqsEvent('buffer', [ended('long-freeze', '2024-05-14T12:00:00Z')]));
    expect(x.jira.creates).toHaveLength(1);
  });

  test('a JIRA failure: the record comes back; what was done is not done again', async () => {
    const x = harness();
    await x.invoke(change('ALARM', '09:30', 'crit-a'));
    await x.invoke(change('ALARM', '09:31', 'crit-b'));
    x.jira.once(() => undefined).failNext(1, 400, { errorMessages: ['Field x is required'], errors: {} });
    const first = await x.invoke(sqsEvent('buffer', [ended('db-upgrade', '2024-05-14T11:00:00Z')]));
    expect(failures(first)).toHaveLength(1);
    expect(x.jira.issues.size).toBe(1);
    expect(x.emails().at(-1)!.Subject).toBe('[MAINTENANCE ENDED] db-upgrade: 1 alarm still in ALARM, ticket opened');

    const retry = await x.invoke(
      sqsEvent('buffer', [ended('db-upgrade', '2024-05-14T11:00:00Z')], { receiveCount: 2 }),
    );
    expect(failures(retry)).toEqual([]);
    expect(x.jira.issues.size).toBe(2);
    expect(x.emails().filter((e) => e.Subject?.startsWith('[MAINTENANCE ENDED]'))).toHaveLength(2);
  });

  test('an end nobody was muted in, or of an unknown window, is done quietly', async () => {
    const x = harness();
    const result = await x.invoke(sqsEvent('buffer', [ended('no-such-window', '2024-05-14T11:00:00Z')]));
    expect(failures(result)).toEqual([]);
    expect(x.emails()).toEqual([]);
  });
});

describe('weekly windows (UTC; days are the start day; they may cross midnight)', () => {
  const weekly = (days: string[], startTime: string, durationMinutes: number): MaintenanceWindow => {
    const parsed = parseMaintenanceWindows(
      JSON.stringify([{ name: 'weekly', weekly: { days, startTime, durationMinutes } }]),
    );
    if (!('windows' in parsed)) throw new Error(parsed.problem);
    return parsed.windows[0];
  };
  // 2024-05-12 is a Sunday.
  const ms = (iso: string) => Date.parse(iso);

  test('a Sunday 23:00 window of 2 hours covers Monday 00:30, ends Monday 01:00, and not Monday 23:30', () => {
    const w = weekly(['SUN'], '23:00', 120);
    expect(occurrenceAt(w, ms('2024-05-12T22:59:59Z'))).toBeUndefined();
    expect(occurrenceAt(w, ms('2024-05-12T23:00:00Z'))).toMatchObject({
      startMs: ms('2024-05-12T23:00:00Z'),
      endMs: ms('2024-05-13T01:00:00Z'),
      key: 'MAINT#weekly#2024-05-13T01:00:00.000Z',
    });
    expect(occurrenceAt(w, ms('2024-05-13T00:30:00Z'))?.key).toBe('MAINT#weekly#2024-05-13T01:00:00.000Z');
    expect(occurrenceAt(w, ms('2024-05-13T01:00:00Z'))).toBeUndefined();
    expect(occurrenceAt(w, ms('2024-05-13T23:30:00Z'))).toBeUndefined();
    expect(occurrenceAt(w, ms('2024-05-19T23:30:00Z'))?.key).toBe('MAINT#weekly#2024-05-20T01:00:00.000Z');
  });

  test('several days; a Saturday window crossing into Sunday (the week wraps)', () => {
    const w = weekly(['TUE', 'SAT'], '22:00', 240);
    expect(occurrenceAt(w, ms('2024-05-14T23:00:00Z'))).toBeDefined(); // Tuesday
    expect(occurrenceAt(w, ms('2024-05-15T01:59:00Z'))).toBeDefined(); // into Wednesday
    expect(occurrenceAt(w, ms('2024-05-16T23:00:00Z'))).toBeUndefined(); // Thursday
    expect(occurrenceAt(w, ms('2024-05-19T01:00:00Z'))?.key).toBe('MAINT#weekly#2024-05-19T02:00:00.000Z'); // Sunday
  });

  test('when several windows cover an alarm, the longest-lasting occurrence holds it', () => {
    const parsed = parseMaintenanceWindows(
      JSON.stringify([
        { name: 'aa', start: '2024-05-14T09:00:00Z', end: '2024-05-14T10:00:00Z' },
        { name: 'bb', start: '2024-05-14T08:00:00Z', end: '2024-05-14T12:00:00Z', accounts: [ACCOUNT] },
      ]),
    ) as { windows: MaintenanceWindow[] };
    const alarm = { accountId: ACCOUNT, alarmName: 'crit-db' };
    expect(coveringOccurrence(parsed.windows, alarm, ms('2024-05-14T09:30:00Z'))?.window.name).toBe('bb');
    expect(
      coveringOccurrence(parsed.windows, { ...alarm, accountId: '999999999999' }, ms('2024-05-14T09:30:00Z'))?.window
        .name,
    ).toBe('aa');
    expect(maintenanceKey('aa', ms('2024-05-14T10:00:00.750Z'))).toBe('MAINT#aa#2024-05-14T10:00:00.000Z');
  });

  test('through the handler: an ALARM at Monday 00:30 is muted by the Sunday night window', async () => {
    const x = (h = setUp(
      windows({ name: 'sunday-night', weekly: { days: ['SUN'], startTime: '23:00', durationMinutes: 120 } }),
    ));
    const out = (await x.invoke(
      stateChange({ name: 'crit-db', state: 'ALARM', at: '2024-05-13T00:30:00.000Z' }),
    )) as ChangeResult;
    expect(out.reason).toBe('muted by maintenance window sunday-night until 2024-05-13T01:00:00.000Z');
  });
});

describe('MAINTENANCE_WINDOWS validation names the variable, the entry and the field', () => {
  const load = (value: string) => () => loadConfig({ ...BASE_ENV, MAINTENANCE_WINDOWS: value });
  test.each([
    ['not JSON', '{', /MAINTENANCE_WINDOWS must be a JSON list of maintenance windows/],
    ['not a list', '{}', /MAINTENANCE_WINDOWS must be a JSON list/],
    [
      'a bad name',
      '[{"name":"Bad Name","start":"2024-01-01T00:00:00Z","end":"2024-01-01T01:00:00Z"}]',
      /MAINTENANCE_WINDOWS entry 0 name must be 2-32 lowercase/,
    ],
    [
      'both kinds',
      '[{"name":"ww","start":"2024-01-01T00:00:00Z","end":"2024-01-01T01:00:00Z","weekly":{"startTime":"02:00","durationMinutes":60}}]',
      /entry 0 \(window 'ww'\) must be either one-off \(start and end\) or recurring \(weekly\)/,
    ],
    ['neither kind', '[{"name":"ww"}]', /must be either one-off/],
    [
      'an end without offset',
      '[{"name":"ww","start":"2024-01-01T00:00:00Z","end":"2024-01-01T01:00:00"}]',
      /entry 0 end \(window 'ww'\) must be an ISO 8601 time with an offset/,
    ],
    [
      'an end before the start',
      '[{"name":"ww","start":"2024-01-01T02:00:00Z","end":"2024-01-01T01:00:00Z"}]',
      /entry 0 end \(window 'ww'\) must be after start/,
    ],
    [
      'a bad weekday',
      '[{"name":"ww","weekly":{"days":["MONDAY"],"startTime":"02:00","durationMinutes":60}}]',
      /weekly.days \(window 'ww'\) must list weekdays among SUN, MON/,
    ],
    [
      'a bad time',
      '[{"name":"ww","weekly":{"startTime":"24:00","durationMinutes":60}}]',
      /weekly.startTime \(window 'ww'\) must be a UTC time HH:MM/,
    ],
    [
      'a bad duration',
      '[{"name":"ww","weekly":{"startTime":"02:00","durationMinutes":0}}]',
      /weekly.durationMinutes \(window 'ww'\) must be a whole number/,
    ],
    [
      'bad accounts',
      '[{"name":"ww","start":"2024-01-01T00:00:00Z","end":"2024-01-01T01:00:00Z","accounts":["12"]}]',
      /accounts \(window 'ww'\) must be a non-empty list of 12-digit account ids/,
    ],
    [
      'a bad pattern',
      '[{"name":"ww","start":"2024-01-01T00:00:00Z","end":"2024-01-01T01:00:00Z","alarmNamePattern":"("}]',
      /alarmNamePattern \(window 'ww'\) is not a valid JavaScript regular expression/,
    ],
    [
      'a duplicate',
      '[{"name":"ww","start":"2024-01-01T00:00:00Z","end":"2024-01-01T01:00:00Z"},{"name":"ww","start":"2024-01-02T00:00:00Z","end":"2024-01-02T01:00:00Z"}]',
      /entry 1 name 'ww' is a duplicate/,
    ],
    [
      'an unknown field',
      '[{"name":"ww","start":"2024-01-01T00:00:00Z","end":"2024-01-01T01:00:00Z","until":"x"}]',
      /entry 0 has an unknown field 'until'/,
    ],
  ])('%s', (_name, value, message) => {
    expect(load(value)).toThrow(message);
  });

  test('accepts what the stack sets: its maintenanceWindows[] config entries (lib/config.ts), as JSON', () => {
    const stack = loadStackConfig(
      {
        ...EXAMPLE_CONFIG,
        maintenanceWindows: [
          { name: 'card-network-upgrade', start: '2026-12-24T22:00:00+01:00', end: '2026-12-25T02:00:00+01:00' },
          {
            name: 'patch-night',
            weekly: { days: ['SUN'], startTime: '23:30', durationMinutes: 90 },
            accounts: ['222222222222'],
          },
          {
            name: 'ledger-batch',
            weekly: { startTime: '02:00', durationMinutes: 30 },
            alarmNamePattern: '^critical-ledger',
          },
        ],
      },
      'dev',
    );
    const config = loadConfig({ ...BASE_ENV, MAINTENANCE_WINDOWS: JSON.stringify(stack.maintenanceWindows) });
    expect(config.maintenanceWindows.map((w) => w.name)).toEqual([
      'card-network-upgrade',
      'patch-night',
      'ledger-batch',
    ]);
    expect(config.maintenanceWindows[0]).toMatchObject({
      startMs: Date.parse('2026-12-24T21:00:00Z'),
      endMs: Date.parse('2026-12-25T01:00:00Z'),
    });
    expect(config.maintenanceWindows[2].weekly?.days).toHaveLength(7);
  });
});
