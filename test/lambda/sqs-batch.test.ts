/**
 * The buffer queue's batches (issue 12): partial batch failures, routing to the digest, the first-evaluation
 * rule, dead letters with a reason, one JIRA request at a time, and the pipeline-wide JIRA cool-down.
 */
import 'aws-sdk-client-mock-jest';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse } from 'aws-lambda';
import { classify } from '../../scripts/lib/dlq-redrive';
import { COOL_DOWN_KEY } from '../../lambda/jira-incident/incident-store';
import { FIRST_EVALUATION_REASON } from '../../lambda/jira-incident/processor';
import { json } from './helpers/fake-jira';
import {
  changeIdOf,
  DIGEST_QUEUE_URL,
  MAX_RECEIVES,
  setUp,
  sqsEvent,
  stateChange,
  type Harness,
  finish,
} from './helpers/harness';

let h: Harness;
afterEach(() => finish(h));

const failures = (r: unknown) => (r as SQSBatchResponse).batchItemFailures.map((f) => f.itemIdentifier);
const ids = (e: { Records: { messageId: string }[] }) => e.Records.map((r) => r.messageId);
const crit = (i: number, state: 'ALARM' | 'OK' = 'ALARM', extra: Parameters<typeof stateChange>[0] | object = {}) =>
  stateChange({ name: `crit-${i}`, state, account: String(100000000000 + i), ...extra });
const warn = (i: number, state: 'ALARM' | 'OK' | 'INSUFFICIENT_DATA' = 'ALARM') =>
  stateChange({ name: `warn-${i}`, state, account: String(200000000000 + i) });

describe('buffer batches', () => {
  beforeEach(() => {
    h = setUp({ DIGEST_QUEUE_URL });
  });

  test('one failing record is the only batch item failure; the others are done and not retried', async () => {
    const event = sqsEvent('buffer', [crit(1), crit(2), crit(3)]);
    h.jira.once(() => undefined).failNext(1, 400, { errorMessages: ['Bad'], errors: {} });

    const result = await h.invoke(event);

    expect(failures(result)).toEqual([ids(event)[1]]);
    expect([...h.jira.issues.values()].map((i) => i.fields.summary)).toEqual([
      expect.stringContaining('crit-1'),
      expect.stringContaining('crit-3'),
    ]);
    // The failed record comes back after the first backoff (QUEUE_RETRY_BASE_SECONDS), not the 6-minute visibility.
    expect(h.visibility()).toEqual({ [event.Records[1].receiptHandle]: 15 });
    // Its failure was emailed at once, as for a direct invocation; the retry is idempotent.
    expect(h.emails().map((e) => e.Subject)).toEqual([
      expect.stringContaining('OPS-1'),
      expect.stringContaining('JIRA FAILED'),
      expect.stringContaining('OPS-2'),
    ]);
    const retry = await h.invoke(sqsEvent('buffer', [crit(2)], { receiveCount: 2 }));
    expect(failures(retry)).toEqual([]);
    expect(h.jira.issues.size).toBe(3);
  });

  test('email-only state changes go to the digest queue in batches of 10, untouched: no JIRA, no table, no email', async () => {
    const bodies = Array.from({ length: 12 }, (_, i) => warn(i));
    const result = await h.invoke(sqsEvent('buffer', bodies));

    expect(failures(result)).toEqual([]);
    expect(h.sqs).toHaveReceivedCommandTimes(SendMessageBatchCommand, 2);
    expect(h.sqs).toHaveReceivedCommandWith(SendMessageBatchCommand, { QueueUrl: DIGEST_QUEUE_URL });
    expect(h.forwarded().map((b) => (JSON.parse(b) as { id: string }).id)).toEqual(bodies.map((b) => b.id));
    expect(h.emails()).toEqual([]);
    expect(h.jira.requests).toEqual([]);
    expect(h.table.updates).toEqual([]);
  });

  test('critical ALARM and OK are emailed at once; critical INSUFFICIENT_DATA comments, then goes to the digest', async () => {
    const alarm = crit(1, 'ALARM');
    const insufficient = crit(1, 'OK', {});
    Object.assign(insufficient, stateChange({ name: 'crit-1', state: 'INSUFFICIENT_DATA', account: '100000000001' }));
    const ok = stateChange({
      name: 'crit-1',
      state: 'OK',
      account: '100000000001',
      at: '2019-10-02T18:00:00.000+0000',
    });

    await h.invoke(sqsEvent('buffer', [alarm, insufficient, ok]));

    expect(h.emails().map((e) => e.Subject)).toEqual([
      '[ALARM] crit-1 (100000000001 us-east-1) OPS-1',
      '[OK] crit-1 (100000000001 us-east-1) OPS-1',
    ]);
    expect(h.jira.issues.get('OPS-1')?.comments).toHaveLength(2);
    expect(h.forwarded()).toEqual([JSON.stringify(insufficient)]);
    // Handed over: the digest consumer finds the JIRA result and takes the record from DIGEST to DONE.
    expect(h.table.items.get(`CHANGE#${changeIdOf(insufficient)}`)).toMatchObject({
      status: 'DIGEST',
      jira: { outcome: 'commented', issueKey: 'OPS-1' },
    });
  });

  test("an alarm's first evaluation (INSUFFICIENT_DATA -> OK, no open incident) is recorded with a reason, not emailed", async () => {
    const first = [
      stateChange({ name: 'crit-new', state: 'OK', previous: 'INSUFFICIENT_DATA' }),
      stateChange({ name: 'warn-new', state: 'OK', previous: 'INSUFFICIENT_DATA' }),
    ];
    const result = await h.invoke(sqsEvent('buffer', first));

    expect(failures(result)).toEqual([]);
    expect(h.emails()).toEqual([]);
    expect(h.forwarded()).toEqual([]);
    for (const e of first) {
      expect(h.table.items.get(`CHANGE#${changeIdOf(e)}`)).toMatchObject({ status: 'DONE', outcome: 'ignored' });
      expect(h.table.items.get(`CHANGE#${changeIdOf(e)}`)?.jira).toBeUndefined();
    }
    expect(h.logRecords()).toContainEqual(
      expect.objectContaining({
        message: 'Alarm state change handled',
        outcome: 'ignored',
        reason: FIRST_EVALUATION_REASON,
      }),
    );
  });

  test('an OK after INSUFFICIENT_DATA that closes an open incident is resolved and emailed as usual', async () => {
    await h.invoke(sqsEvent('buffer', [stateChange({ name: 'crit-x', state: 'ALARM' })]));
    const ok = stateChange({ name: 'crit-x', state: 'OK', previous: 'INSUFFICIENT_DATA' });
    await h.invoke(sqsEvent('buffer', [ok]));

    expect(h.emails().map((e) => e.Subject)).toEqual([
      '[ALARM] crit-x (123456789012 us-east-1) OPS-1',
      '[OK] crit-x (123456789012 us-east-1) OPS-1',
    ]);
    expect(h.table.items.get(`CHANGE#${changeIdOf(ok)}`)).toMatchObject({ outcome: 'resolved' });
  });

  test('without DIGEST_QUEUE_URL every state change is emailed at once, as before', async () => {
    h.restore();
    h = setUp();
    await h.invoke(sqsEvent('buffer', [warn(1), crit(2)]));
    expect(h.forwarded()).toEqual([]);
    expect(h.emails()).toHaveLength(2);
  });

  test("the product's own events: a non-heartbeat state change is ignored with a reason, a window end with nothing held is done", async () => {
    const notHeartbeat = { ...crit(1), source: 'observability.hub' };
    const ended = {
      version: '0',
      id: 'e-1',
      source: 'observability.hub',
      'detail-type': 'Maintenance Window Ended',
      detail: { window: 'db-upgrade', endedAt: '2024-05-14T09:00:00Z' },
    };
    const unknown = { ...ended, 'detail-type': 'Something Else' };
    const result = await h.invoke(sqsEvent('buffer', [notHeartbeat, ended, unknown]));

    expect(failures(result)).toEqual([]);
    expect(
      h
        .logRecords()
        .filter((r) => r.message === 'Event ignored')
        .map((r) => r.reason),
    ).toEqual([
      'a state change from observability.hub that is not a heartbeat is not handled',
      "detail-type 'Something Else' of observability.hub is not handled",
    ]);
    expect(h.logRecords().find((r) => r.message === 'Maintenance window ended')).toMatchObject({
      window: 'db-upgrade',
      held: 0,
      opened: 0,
    });
    expect(h.emails()).toEqual([]);
    expect(h.jira.requests).toEqual([]);
  });

  test('a broken Maintenance Window Ended event goes to the DLQ with the reason', async () => {
    const broken = {
      version: '0',
      id: 'e-2',
      source: 'observability.hub',
      'detail-type': 'Maintenance Window Ended',
      detail: {},
    };
    const result = await h.invoke(sqsEvent('buffer', [broken]));
    expect(failures(result)).toEqual([]);
    expect(h.deadLetters()).toEqual([
      expect.objectContaining({
        responsePayload: expect.objectContaining({
          errorType: 'InvalidEventError',
          errorMessage: expect.stringContaining('detail.window'),
        }),
      }),
    ]);
  });

  test('a malformed record goes to the DLQ at once, with the reason, in the shape dlq:redrive reads', async () => {
    const broken = crit(1);
    (broken.detail.state as Record<string, unknown>).value = 'BROKEN';
    const event = sqsEvent('buffer', [broken, 'not json', crit(2)]);

    const result = await h.invoke(event);

    expect(failures(result)).toEqual([]);
    const dead = h.deadLetters();
    expect(dead).toHaveLength(2);
    expect(dead[0]).toMatchObject({
      requestContext: { condition: 'InvalidEvent', approximateInvokeCount: 1 },
      requestPayload: broken,
      responsePayload: {
        errorType: 'InvalidEventError',
        errorMessage: expect.stringContaining('detail.state.value: expected one of "OK", "ALARM", "INSUFFICIENT_DATA"'),
      },
      source: { queue: 'sqs-incident-buffer-test', messageId: ids(event)[0] },
    });
    expect(dead[1]).toMatchObject({
      requestPayload: 'not json',
      responsePayload: { errorMessage: /body is not JSON/ },
    });
    // The redrive tool recognises the record and its reason (and would leave the broken event in the DLQ).
    const seen = classify({ MessageId: 'm', Body: JSON.stringify(dead[0]) }, 'buffer');
    expect(seen).toMatchObject({ shape: 'lambda on-failure', failure: expect.stringContaining('InvalidEventError') });
    expect(h.jira.issues.size).toBe(1);
  });

  test('a record that fails on its last receive is dead-lettered with the reason (not silently by SQS)', async () => {
    h.jira.failNext(5, 400, { errorMessages: ["Field 'priority' is required"], errors: {} });
    const event = sqsEvent('buffer', [crit(1)], { receiveCount: MAX_RECEIVES });

    const result = await h.invoke(event);

    expect(failures(result)).toEqual([]);
    expect(h.deadLetters()).toEqual([
      expect.objectContaining({
        requestContext: expect.objectContaining({
          condition: 'RetriesExhausted',
          approximateInvokeCount: MAX_RECEIVES,
        }),
        responsePayload: {
          errorType: 'JiraApiError',
          errorMessage: expect.stringContaining("Field 'priority' is required"),
        },
      }),
    ]);
  });

  test('an invocation makes one JIRA request at a time (the bound on concurrency is the mapping concurrency)', async () => {
    h.restore();
    h = setUp({ DIGEST_QUEUE_URL, STORM_MAX_NEW_ISSUES: '50' });
    await h.invoke(
      sqsEvent(
        'buffer',
        Array.from({ length: 10 }, (_, i) => crit(i)),
      ),
    );
    expect(h.jira.creates).toHaveLength(10);
    expect(h.jira.maxInFlight).toBe(1);
  });

  test('a delivery of a change another invocation is still handling comes back, and is dropped once that is done', async () => {
    const e = crit(1);
    h.table.put({ pk: `CHANGE#${changeIdOf(e)}`, status: 'IN_PROGRESS', leaseUntil: h.clock.t + 60_000 });
    const first = sqsEvent('buffer', [e]);

    expect(failures(await h.invoke(first))).toEqual(ids(first));
    expect(h.visibility()).toEqual({ [first.Records[0].receiptHandle]: 15 });
    expect(h.jira.requests).toEqual([]);

    h.table.put({ pk: `CHANGE#${changeIdOf(e)}`, status: 'DONE', outcome: 'created' });
    expect(failures(await h.invoke(sqsEvent('buffer', [e], { receiveCount: 2 })))).toEqual([]);
    expect(h.jira.requests).toEqual([]);
  });

  test('a failed hand-over to the digest frees the record: the retry hands it over without repeating the comment', async () => {
    await h.invoke(sqsEvent('buffer', [stateChange({ name: 'crit-x', state: 'ALARM' })]));
    const update = h.table.update.bind(h.table);
    let failed = false;
    h.table.update = (input) => {
      if (!failed && input.ExpressionAttributeValues?.[':set_status'] === 'DIGEST') {
        failed = true;
        throw new Error('ProvisionedThroughputExceededException');
      }
      return update(input);
    };
    const insufficient = stateChange({ name: 'crit-x', state: 'INSUFFICIENT_DATA' });

    expect(failures(await h.invoke(sqsEvent('buffer', [insufficient])))).toHaveLength(1);
    expect(h.table.items.get(`CHANGE#${changeIdOf(insufficient)}`)).toMatchObject({ status: 'FAILED' });
    expect(failures(await h.invoke(sqsEvent('buffer', [insufficient], { receiveCount: 2 })))).toEqual([]);

    expect(h.jira.issues.get('OPS-1')?.comments).toHaveLength(1);
    expect(h.forwarded()).toEqual([JSON.stringify(insufficient)]);
    expect(h.table.items.get(`CHANGE#${changeIdOf(insufficient)}`)).toMatchObject({ status: 'DIGEST' });
  });

  test('the same state change twice in one batch (EventBridge and alarm action) is handled once', async () => {
    const e = crit(1);
    const action = {
      source: 'aws.cloudwatch',
      alarmArn: (e.resources as string[])[0],
      accountId: e.account,
      region: 'us-east-1',
      alarmData: { alarmName: 'crit-1', state: e.detail.state, previousState: e.detail.previousState },
    };
    const result = await h.invoke(sqsEvent('buffer', [e, action]));
    expect(failures(result)).toEqual([]);
    expect(h.jira.creates).toHaveLength(1);
    expect(h.emails()).toHaveLength(1);
    expect(h.table.items.get(`CHANGE#${changeIdOf(e)}`)?.duplicates).toBe(1);
  });
});

describe('JIRA cool-down (429 slows the whole pipeline)', () => {
  beforeEach(() => {
    h = setUp({ DIGEST_QUEUE_URL });
  });

  test('a 429 that fits in the invocation is waited out, retried, and recorded for every invocation', async () => {
    h.jira.once(() => json(429, {}, { 'Retry-After': '2' }));
    const start = h.clock.t;

    const result = await h.invoke(sqsEvent('buffer', [crit(1)]));

    expect(failures(result)).toEqual([]);
    expect(h.jira.creates).toHaveLength(2);
    expect(h.table.items.get(COOL_DOWN_KEY)).toMatchObject({ untilMs: start + 2000 });
  });

  test('a 429 longer than the invocation: recorded, the record and the other critical ones deferred to its end, no failure email', async () => {
    h.jira.once(() => json(429, {}, { 'Retry-After': '120' }));
    const start = h.clock.t;
    const event = sqsEvent('buffer', [crit(1), warn(2), crit(3), crit(4)]);

    const result = await h.invoke(event);

    const [c1, w2, c3, c4] = event.Records;
    expect(failures(result)).toEqual([c1.messageId, c3.messageId, c4.messageId]);
    expect(h.table.items.get(COOL_DOWN_KEY)).toMatchObject({ untilMs: start + 120_000 });
    // Deferred to the cool-down's end: the invocation held its slot until near its deadline first.
    const left = Math.ceil((start + 120_000 - h.clock.t) / 1000);
    expect(h.clock.t - start).toBeGreaterThan(25_000);
    expect(h.visibility()).toEqual({
      [c1.receiptHandle]: left,
      [c3.receiptHandle]: left,
      [c4.receiptHandle]: left,
    });
    expect(h.jira.requests).toHaveLength(1); // crit-3 and crit-4 did not even try
    expect(h.forwarded()).toEqual([w2.body]); // the digest does not wait for JIRA
    expect(h.emails()).toEqual([]); // a rate limit is not a failure to report
    expect(h.table.items.get(`CHANGE#${changeIdOf(crit(1))}`)).toMatchObject({ status: 'FAILED' });
    expect(h.table.items.get(`CHANGE#${changeIdOf(crit(1))}`)?.emailSent).toBeUndefined();
  });

  test('a request that used up its attempts on short 429s defers only its record; the next one waits and goes on', async () => {
    h.restore();
    h = setUp({ DIGEST_QUEUE_URL, JIRA_MAX_ATTEMPTS: '1' });
    h.jira.once(() => json(429, {}, { 'Retry-After': '2' }));
    const event = sqsEvent('buffer', [crit(1), crit(2)]);

    const result = await h.invoke(event);

    expect(failures(result)).toEqual([ids(event)[0]]);
    expect(h.visibility()).toEqual({ [event.Records[0].receiptHandle]: 0 });
    expect(h.clock.sleeps).toContain(2_000); // crit-2 waited the cool-down out, then was created
    expect(h.jira.creates.map((r) => JSON.stringify(r.body).includes('crit-2'))).toEqual([false, true]);
  });

  test('a cool-down recorded by another invocation is honoured before calling JIRA: a short one is waited out', async () => {
    const start = h.clock.t;
    h.table.put({ pk: COOL_DOWN_KEY, untilMs: start + 5_000 });

    const result = await h.invoke(sqsEvent('buffer', [crit(1)]));

    expect(failures(result)).toEqual([]);
    expect(h.clock.sleeps).toContain(5_000);
    expect(h.jira.creates).toHaveLength(1);
  });

  test('a long cool-down of another invocation defers every critical record without a JIRA request', async () => {
    const start = h.clock.t;
    h.table.put({ pk: COOL_DOWN_KEY, untilMs: start + 600_000 });
    const event = sqsEvent('buffer', [crit(1), crit(2)]);

    const result = await h.invoke(event);

    expect(failures(result)).toEqual(ids(event));
    expect(h.jira.requests).toEqual([]);
    const left = Math.ceil((start + 600_000 - h.clock.t) / 1000);
    expect(Object.values(h.visibility())).toEqual([left, left]);
  });

  test('a deferral on the last receive is dead-lettered with the reason', async () => {
    h.table.put({ pk: COOL_DOWN_KEY, untilMs: h.clock.t + 600_000 });
    const result = await h.invoke(sqsEvent('buffer', [crit(1)], { receiveCount: MAX_RECEIVES }));
    expect(failures(result)).toEqual([]);
    expect(h.deadLetters()).toEqual([
      expect.objectContaining({
        requestContext: expect.objectContaining({ condition: 'RetriesExhausted' }),
        responsePayload: {
          errorType: 'JiraRateLimitedError',
          errorMessage: expect.stringMatching(/rate-limits the pipeline until/),
        },
      }),
    ]);
  });

  test('a direct invocation still emails the failure and throws when the cool-down outlasts it', async () => {
    h.table.put({ pk: COOL_DOWN_KEY, untilMs: h.clock.t + 600_000 });
    await expect(h.invoke(crit(1))).rejects.toThrow(/rate-limits the pipeline until .*not retried/);
    expect(h.emails()[0].Subject).toContain('JIRA FAILED');
    expect(h.jira.requests).toEqual([]);
  });
});
