import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { parseEvent, type AlarmStateChange } from '../../lambda/jira-incident/events';
import { IncidentStore, incidentKey } from '../../lambda/jira-incident/incident-store';
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

test('keys: one incident item per account, region and alarm; one idempotency item per delivery', () => {
  expect(incidentKey(change)).toBe(PK);
  expect(incidentKey({ ...change, accountId: '210987654321' })).not.toBe(PK);
});

describe('claimIncident', () => {
  test.each<[string, boolean, Record<string, unknown> | undefined]>([
    ['no incident yet', true, undefined],
    ['closed incident', true, { status: 'CLOSED', issueKey: 'OPS-1' }],
    ['released claim', true, { status: 'RELEASED', claimToken: 'old' }],
    [
      'claim with expired lease (crashed holder)',
      true,
      { status: 'CLAIMED', claimToken: 'old', claimEventId: 'other', leaseUntil: NOW - 1 },
    ],
    [
      'own claim of this same event (its retry)',
      true,
      { status: 'CLAIMED', claimToken: 'old', claimEventId: 'SELF', leaseUntil: NOW + LEASE },
    ],
    [
      'live claim of another event',
      false,
      { status: 'CLAIMED', claimToken: 'old', claimEventId: 'other', leaseUntil: NOW + LEASE },
    ],
    ['open incident', false, { status: 'OPEN', issueKey: 'OPS-1' }],
  ])('%s -> acquired: %s', async (_name, acquired, existing) => {
    if (existing)
      table.put({
        pk: PK,
        ...existing,
        claimEventId: existing.claimEventId === 'SELF' ? change.eventId : existing.claimEventId,
      });
    const result = await store.claimIncident(change, 'new-token', NOW, LEASE);
    expect(result.acquired).toBe(acquired);
    const item = table.items.get(PK);
    if (acquired) {
      expect(item).toMatchObject({
        status: 'CLAIMED',
        claimToken: 'new-token',
        claimEventId: change.eventId,
        leaseUntil: NOW + LEASE,
      });
      expect(item).not.toHaveProperty('issueKey');
    } else {
      expect(result).toMatchObject({ current: expect.objectContaining({ status: existing?.status }) });
      expect(item).toMatchObject(existing ?? {});
    }
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

test('markOpen and releaseClaim only act for the current claim token', async () => {
  await store.claimIncident(change, 'mine', NOW, LEASE);
  expect(await store.markOpen(change, 'not-mine', 'OPS-1', NOW)).toBe(false);
  await store.releaseClaim(change, 'not-mine', true, 'x', NOW);
  expect(table.items.get(PK)).toMatchObject({ status: 'CLAIMED', claimToken: 'mine' });

  await store.releaseClaim(change, 'mine', false, 'HTTP 503', NOW);
  expect(table.items.get(PK)).toMatchObject({
    status: 'RELEASED',
    lastError: 'HTTP 503',
    claimTokens: new Set(['mine']),
  });
});

test('a release after a certain failure (4xx) drops the token, so the next claim does not search', async () => {
  await store.claimIncident(change, 'mine', NOW, LEASE);
  await store.releaseClaim(change, 'mine', true, 'HTTP 400', NOW);
  expect(table.items.get(PK)).not.toHaveProperty('claimTokens');
});

test('closeIncident needs the open incident with that issue key, and sets a TTL', async () => {
  table.put({ pk: PK, status: 'OPEN', issueKey: 'OPS-2' });
  expect(await store.closeIncident(change, 'OPS-1', NOW)).toBe(false);
  expect(await store.closeIncident(change, 'OPS-2', NOW)).toBe(true);
  expect(table.items.get(PK)).toMatchObject({
    status: 'CLOSED',
    closedByEventId: change.eventId,
    expiresAt: NOW / 1000 + 30 * 24 * 3600,
  });
});

describe('event idempotency records', () => {
  test('a new delivery starts; a finished one is refused; a failed one can be retried with its history', async () => {
    expect(await store.beginEvent(change, NOW, LEASE)).toEqual({ started: true, previous: undefined });
    const key = `EVENT#${change.eventId}`;
    expect(table.items.get(key)).toMatchObject({
      status: 'IN_PROGRESS',
      attempts: 1,
      expiresAt: NOW / 1000 + 7 * 24 * 3600,
    });

    expect(await store.beginEvent(change, NOW + 1000, LEASE)).toMatchObject({
      started: false,
      current: { status: 'IN_PROGRESS' },
    });

    await store.failEvent(change.eventId, 'SNS down', undefined, NOW, { outcome: 'created', issueKey: 'OPS-1' });
    const retry = await store.beginEvent(change, NOW + 60_000, LEASE);
    expect(retry).toMatchObject({
      started: true,
      previous: { status: 'FAILED', jira: { outcome: 'created', issueKey: 'OPS-1' } },
    });
    expect(table.items.get(key)).toMatchObject({ attempts: 2 });

    await store.finishEvent(change.eventId, { outcome: 'created', issueKey: 'OPS-1' }, 'final', NOW);
    expect(await store.beginEvent(change, NOW + 120_000, LEASE)).toMatchObject({
      started: false,
      current: { status: 'DONE' },
    });
  });

  test('an in-progress record whose lease expired (crashed invocation) is taken over', async () => {
    await store.beginEvent(change, NOW, LEASE);
    expect(await store.beginEvent(change, NOW + LEASE + 1, LEASE)).toMatchObject({ started: true });
  });
});
