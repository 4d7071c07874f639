import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { parseEvent, type AlarmStateChange } from '../../lambda/jira-incident/events';
import { IncidentStore, changeKey, incidentKey } from '../../lambda/jira-incident/incident-store';
import { FakeTable } from './helpers/fake-dynamodb';
import { fixture } from './helpers/harness';

const NOW = Date.parse('2024-05-14T10:00:00Z');
const LEASE = 60_000;

let table: FakeTable;
let store: IncidentStore;
let dynamo: ReturnType<typeof mockClient>;
let change: AlarmStateChange;

beforeEach(() => {
  table = new FakeTable();
  dynamo = mockClient(DynamoDBDocumentClient);
  dynamo.on(UpdateCommand).callsFake(async (input) => table.update(input));
  dynamo.on(GetCommand).callsFake(async (input) => table.get(input));
  store = new IncidentStore(DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })), 'incidents');
  const parsed = parseEvent(fixture('eventbridge-alarm-state-change-single-metric.awsdocs.json'));
  if (parsed.kind !== 'change') throw new Error('fixture');
  change = parsed.change;
});
afterEach(() => dynamo.restore());

const PK = 'ALARM#123456789012#us-east-1#ServerCpuTooHigh';

const T = Date.parse('2019-10-02T17:04:40.989Z'); // the fixture ALARM's state time
const at = (c: AlarmStateChange, ms: number, state = c.newState): AlarmStateChange => ({
  ...c,
  newState: state,
  stateAtMs: ms,
  timestamp: new Date(ms).toISOString(),
  changeId: `sc-${state}-${ms}`,
});

test('keys: one incident item per account, region and alarm; one idempotency item per state change', () => {
  expect(incidentKey(change)).toBe(PK);
  expect(incidentKey({ ...change, accountId: '210987654321' })).not.toBe(PK);
  expect(changeKey(change.changeId)).toBe(`CHANGE#${change.changeId}`);
});

describe('claimIncident', () => {
  test.each<[string, boolean, Record<string, unknown> | undefined]>([
    ['no incident yet', true, undefined],
    ['only state times recorded', true, { lastAlarmStateAtMs: T - 1 }],
    ['closed incident', true, { status: 'CLOSED', issueKey: 'OPS-1' }],
    ['released claim', true, { status: 'RELEASED', claimToken: 'old' }],
    ['lost issue', true, { status: 'LOST', lostIssueKey: 'OPS-1' }],
    [
      'claim with expired lease (crashed holder, or a held create whose search lag passed)',
      true,
      { status: 'CLAIMED', claimToken: 'old', claimChangeId: 'other', leaseUntil: NOW - 1 },
    ],
    [
      'live claim of this same state change (an earlier attempt whose create may have reached JIRA)',
      false,
      { status: 'CLAIMED', claimToken: 'old', claimChangeId: 'SELF', leaseUntil: NOW + LEASE },
    ],
    [
      'live claim of another state change',
      false,
      { status: 'CLAIMED', claimToken: 'old', claimChangeId: 'other', leaseUntil: NOW + LEASE },
    ],
    ['open incident', false, { status: 'OPEN', issueKey: 'OPS-1' }],
  ])('%s -> acquired: %s', async (_name, acquired, existing) => {
    if (existing)
      table.put({
        pk: PK,
        ...existing,
        claimChangeId: existing.claimChangeId === 'SELF' ? change.changeId : existing.claimChangeId,
      });
    const result = await store.claimIncident(change, 'new-token', NOW, LEASE);
    expect(result.acquired).toBe(acquired);
    const item = table.items.get(PK);
    if (acquired) {
      expect(item).toMatchObject({
        status: 'CLAIMED',
        claimToken: 'new-token',
        claimChangeId: change.changeId,
        claimDeliveryId: change.eventId,
        leaseUntil: NOW + LEASE,
      });
      expect(item).not.toHaveProperty('issueKey');
    } else {
      expect(item).toMatchObject(existing ? { status: existing.status } : {});
    }
  });

  test('an ALARM older than the newest handled OK cannot claim; at the same time it can (ALARM wins ties)', async () => {
    table.put({ pk: PK, status: 'CLOSED', issueKey: 'OPS-1', lastOkStateAtMs: T + 1 });
    expect(await store.claimIncident(change, 'a', NOW, LEASE)).toMatchObject({ acquired: false });
    table.put({ pk: PK, status: 'CLOSED', issueKey: 'OPS-1', lastOkStateAtMs: T });
    expect(await store.claimIncident(change, 'b', NOW, LEASE)).toMatchObject({ acquired: true });
    table.put({ pk: PK, lastOkStateAtMs: T + 1 }); // no incident ever, only an OK: same rule
    expect(await store.claimIncident(change, 'c', NOW, LEASE)).toMatchObject({ acquired: false });
  });

  test('a claim keeps the state times, the lost issue it replaces and the last closing OK', async () => {
    table.put({
      pk: PK,
      status: 'LOST',
      lostIssueKey: 'OPS-1',
      lostReason: 'HTTP 404',
      lastAlarmStateAtMs: T,
      lastOkStateAtMs: T - 5,
      closedByChangeId: 'ok-1',
      closedIssueKey: 'OPS-0',
    });
    await store.claimIncident(change, 'a', NOW, LEASE);
    expect(table.items.get(PK)).toMatchObject({
      status: 'CLAIMED',
      lostIssueKey: 'OPS-1',
      lastAlarmStateAtMs: T,
      lastOkStateAtMs: T - 5,
      closedByChangeId: 'ok-1',
      closedIssueKey: 'OPS-0',
      expiresAt: NOW / 1000 + 90 * 24 * 3600,
    });
    expect(await store.markOpen(change, 'a', 'OPS-2', NOW, 'OPS-1')).toBe(true);
    const open = table.items.get(PK);
    expect(open).toMatchObject({ status: 'OPEN', issueKey: 'OPS-2', replacesIssueKey: 'OPS-1' });
    expect(open).not.toHaveProperty('lostIssueKey');
    expect(open).not.toHaveProperty('lostReason');
  });

  test('claim tokens accumulate until an issue is recorded, then are cleared', async () => {
    table.put({ pk: PK, status: 'RELEASED', claimToken: 'a', claimTokens: new Set(['a']) });
    const result = await store.claimIncident(change, 'b', NOW, LEASE);
    expect(result).toMatchObject({ acquired: true, previous: { claimTokens: new Set(['a']) } });
    expect(table.items.get(PK)?.claimTokens).toEqual(new Set(['a', 'b']));
    expect(await store.markOpen(change, 'b', 'OPS-3', NOW)).toBe(true);
    expect(table.items.get(PK)).toMatchObject({ status: 'OPEN', issueKey: 'OPS-3' });
    expect(table.items.get(PK)).not.toHaveProperty('claimTokens');
  });
});

test('markOpen, releaseClaim and holdClaim only act for the current claim token', async () => {
  await store.claimIncident(change, 'mine', NOW, LEASE);
  expect(await store.markOpen(change, 'not-mine', 'OPS-1', NOW)).toBe(false);
  await store.releaseClaim(change, 'not-mine', 'x', NOW);
  await store.holdClaim(change, 'not-mine', 'x', NOW, NOW + 1);
  expect(table.items.get(PK)).toMatchObject({ status: 'CLAIMED', claimToken: 'mine', leaseUntil: NOW + LEASE });
});

test('a create with an unknown outcome holds the claim with its token; a certain failure releases and drops it', async () => {
  await store.claimIncident(change, 'mine', NOW, LEASE);
  await store.holdClaim(change, 'mine', 'HTTP 503', NOW, NOW + 30_000);
  expect(table.items.get(PK)).toMatchObject({
    status: 'CLAIMED',
    leaseUntil: NOW + 30_000,
    lastError: 'HTTP 503',
    claimTokens: new Set(['mine']),
  });
  expect(await store.claimIncident(change, 'other', NOW + 29_999, LEASE)).toMatchObject({ acquired: false });
  expect(await store.claimIncident(change, 'next', NOW + 30_001, LEASE)).toMatchObject({ acquired: true });
  expect(table.items.get(PK)?.claimTokens).toEqual(new Set(['mine', 'next']));

  await store.releaseClaim(change, 'next', 'HTTP 400', NOW);
  expect(table.items.get(PK)).toMatchObject({ status: 'RELEASED', claimTokens: new Set(['mine']) });
  expect(table.items.get(PK)).not.toHaveProperty('leaseUntil');
});

describe('observeState: the newest handled state time per state only grows', () => {
  test('a newer time raises it; an equal or older one does not, and gets the current record', async () => {
    expect(await store.observeState(change, NOW)).toEqual({ newest: true, record: undefined });
    expect(table.items.get(PK)).toMatchObject({
      kind: 'incident',
      lastAlarmStateAtMs: T,
      lastChangeId: change.changeId,
      lastDeliveryId: change.eventId,
      expiresAt: NOW / 1000 + 90 * 24 * 3600,
    });
    expect(table.items.get(PK)).not.toHaveProperty('status');
    expect(await store.observeState(at(change, T), NOW)).toMatchObject({ newest: false });
    const older = await store.observeState(at(change, T - 1000), NOW);
    expect(older).toMatchObject({ newest: false, record: { lastAlarmStateAtMs: T } });
    expect(await store.observeState(at(change, T + 1000), NOW)).toMatchObject({
      newest: true,
      record: { lastAlarmStateAtMs: T },
    });
    expect(table.items.get(PK)?.lastAlarmStateAtMs).toBe(T + 1000);
  });

  test('each state has its own time; racing invocations end at the newest, whatever their order', async () => {
    await Promise.all([
      store.observeState(at(change, T + 3), NOW),
      store.observeState(at(change, T + 1), NOW),
      store.observeState(at(change, T + 2, 'OK'), NOW),
      store.observeState(at(change, T + 9, 'OK'), NOW),
      store.observeState(at(change, T + 5), NOW),
      store.observeState(at(change, T + 4, 'INSUFFICIENT_DATA'), NOW),
    ]);
    expect(table.items.get(PK)).toMatchObject({
      lastAlarmStateAtMs: T + 5,
      lastOkStateAtMs: T + 9,
      lastInsufficientStateAtMs: T + 4,
    });
  });
});

describe('closing and losing an incident', () => {
  const ok = () => at(change, T + 1000, 'OK');

  test('closeIncident needs the open incident with that issue key and no ALARM at or after the OK', async () => {
    table.put({ pk: PK, status: 'OPEN', issueKey: 'OPS-2', lastAlarmStateAtMs: T });
    expect(await store.closeIncident(ok(), 'OPS-1', NOW)).toBe(false);
    expect(await store.closeIncident(at(change, T, 'OK'), 'OPS-2', NOW)).toBe(false); // equal time: ALARM wins
    expect(table.items.get(PK)).toMatchObject({ status: 'OPEN' });
    expect(await store.closeIncident(ok(), 'OPS-2', NOW)).toBe(true);
    expect(table.items.get(PK)).toMatchObject({
      status: 'CLOSED',
      issueKey: 'OPS-2',
      closedIssueKey: 'OPS-2',
      closedByChangeId: ok().changeId,
      expiresAt: NOW / 1000 + 90 * 24 * 3600,
    });
  });

  test('markLost releases the open incident, recording the issue and why', async () => {
    table.put({ pk: PK, status: 'OPEN', issueKey: 'OPS-2' });
    expect(await store.markLost(change, 'OPS-1', 'HTTP 404', NOW)).toBe(false);
    expect(await store.markLost(change, 'OPS-2', 'HTTP 404: Issue does not exist', NOW)).toBe(true);
    const item = table.items.get(PK);
    expect(item).toMatchObject({
      status: 'LOST',
      lostIssueKey: 'OPS-2',
      lostReason: 'HTTP 404: Issue does not exist',
      lostByChangeId: change.changeId,
      expiresAt: NOW / 1000 + 90 * 24 * 3600,
    });
    expect(item).not.toHaveProperty('issueKey');
    expect(await store.claimIncident(change, 'a', NOW, LEASE)).toMatchObject({ acquired: true });
  });

  test('closeLost closes a lost incident for an OK newer than the newest ALARM', async () => {
    table.put({ pk: PK, status: 'LOST', lostIssueKey: 'OPS-2', lostReason: 'r', lastAlarmStateAtMs: T + 1000 });
    expect(await store.closeLost(ok(), 'OPS-2', 'gone', NOW)).toBe(false);
    expect(await store.closeLost(at(change, T + 1001, 'OK'), 'OPS-2', 'gone', NOW)).toBe(true);
    expect(table.items.get(PK)).toMatchObject({ status: 'CLOSED', closedIssueKey: 'OPS-2', closedIssueLost: 'gone' });
    expect(table.items.get(PK)).not.toHaveProperty('lostIssueKey');
  });
});

describe('state change idempotency records', () => {
  test('a new change starts; a finished one is refused; a failed one can be retried with its history', async () => {
    expect(await store.beginChange(change, NOW, LEASE)).toEqual({ started: true, previous: undefined });
    const key = `CHANGE#${change.changeId}`;
    expect(table.items.get(key)).toMatchObject({
      status: 'IN_PROGRESS',
      attempts: 1,
      lastDeliveryId: change.eventId,
      lastInput: 'eventbridge',
      deliveryIds: new Set([change.eventId]),
      expiresAt: NOW / 1000 + 15 * 24 * 3600,
    });

    const sns = { ...change, eventId: 'sns-message-id', input: 'sns' as const };
    expect(await store.beginChange(sns, NOW + 1000, LEASE)).toMatchObject({
      started: false,
      current: { status: 'IN_PROGRESS' },
    });
    await store.noteDuplicate(sns, NOW + 1000);
    expect(table.items.get(key)).toMatchObject({
      duplicates: 1,
      deliveryIds: new Set([change.eventId, 'sns-message-id']),
    });

    await store.failChange(change.changeId, 'SNS down', undefined, NOW, { outcome: 'created', issueKey: 'OPS-1' });
    const retry = await store.beginChange(change, NOW + 60_000, LEASE);
    expect(retry).toMatchObject({
      started: true,
      previous: { status: 'FAILED', jira: { outcome: 'created', issueKey: 'OPS-1' } },
    });
    expect(table.items.get(key)).toMatchObject({ attempts: 2 });

    await store.recordJira(change.changeId, { outcome: 'commented', issueKey: 'OPS-1' }, NOW);
    expect(table.items.get(key)).toMatchObject({ status: 'IN_PROGRESS', jira: { outcome: 'commented' } });
    await store.finishChange(change.changeId, { outcome: 'created', issueKey: 'OPS-1' }, 'final', NOW);
    expect(await store.beginChange(change, NOW + 120_000, LEASE)).toMatchObject({
      started: false,
      current: { status: 'DONE' },
    });
  });

  test('an in-progress record whose lease expired (crashed invocation) is taken over', async () => {
    await store.beginChange(change, NOW, LEASE);
    expect(await store.beginChange(change, NOW + LEASE + 1, LEASE)).toMatchObject({ started: true });
  });
});
