/**
 * Digest emails (issue 12, "grouping for humans"): a digest batch becomes one email (parts only for SNS's size
 * limit) grouped by state, then account; every entry is recorded as digested with the digest's id.
 */
import { PublishCommand } from '@aws-sdk/client-sns';
import type { SQSBatchResponse } from 'aws-lambda';
import { buildDigest, MESSAGE_MAX_BYTES } from '../../lambda/jira-incident/digest';
import { parseEvent, type AlarmStateChange } from '../../lambda/jira-incident/events';
import { changeIdOf, DIGEST_QUEUE_URL, setUp, sqsEvent, stateChange, type Harness, finish } from './helpers/harness';

let h: Harness;
afterEach(() => finish(h));

const NAMES = { '111111111111': 'payments-prod', '222222222222': 'cards-prod' };
const change = (e: unknown): AlarmStateChange => {
  const p = parseEvent(structuredClone(e));
  if (p.kind !== 'change') throw new Error('not a change');
  return p.change;
};
const failures = (r: unknown) => (r as SQSBatchResponse).batchItemFailures.map((f) => f.itemIdentifier);
const digestIdOf = (message: string) => /Digest id: (dg-[\w-]+)/.exec(message)?.[1];

describe('digest batches', () => {
  beforeEach(() => {
    h = setUp({ DIGEST_QUEUE_URL, ACCOUNT_NAMES: JSON.stringify(NAMES), STORM_MAX_NEW_ISSUES: '1' });
  });

  test('a digest batch becomes ONE email listing every alarm, account, state, time and reason, by state then account', async () => {
    const bodies = [
      stateChange({ name: 'warn-latency', state: 'OK', account: '222222222222', at: '2024-05-14T09:59:01.000Z' }),
      stateChange({ name: 'warn-errors', state: 'ALARM', account: '222222222222', at: '2024-05-14T09:59:02.000Z' }),
      stateChange({ name: 'warn-disk', state: 'ALARM', account: '111111111111', at: '2024-05-14T09:59:03.000Z' }),
      stateChange({ name: 'warn-cpu', state: 'INSUFFICIENT_DATA', account: '333333333333' }),
    ];
    const result = await h.invoke(sqsEvent('digest', bodies));

    expect(failures(result)).toEqual([]);
    expect(h.emails()).toHaveLength(1);
    const [{ Subject, Message }] = h.emails();
    expect(Subject).toBe('[DIGEST] 4 state changes, 3 accounts: 2 ALARM, 1 INSUFFICIENT, 1 OK');
    const message = Message!;
    const order = [
      '=== ALARM (2) ===',
      '--- 222222222222 (cards-prod): 1 state change ---',
      '2024-05-14T09:59:02.000Z  warn-errors (us-east-1)  OK -> ALARM',
      '--- 111111111111 (payments-prod): 1 state change ---',
      'warn-disk (us-east-1)  OK -> ALARM',
      '=== INSUFFICIENT_DATA (1) ===',
      '--- 333333333333: 1 state change ---',
      'warn-cpu',
      '=== OK (1) ===',
      'warn-latency (us-east-1)  ALARM -> OK',
    ].map((s) => message.indexOf(s));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(message).toContain('Threshold Crossed');
    const digestId = digestIdOf(message);
    expect(digestId).toMatch(/^dg-20240514T100000Z-/);
    for (const b of bodies) {
      expect(h.table.items.get(`CHANGE#${changeIdOf(b)}`)).toMatchObject({
        status: 'DONE',
        outcome: 'digested',
        emailSent: 'digest',
        digestId,
        digestPart: 1,
      });
    }
  });

  test('critical changes handed over by the buffer are listed with their ticket, and JIRA is not called again', async () => {
    const crit = (i: number) => stateChange({ name: `crit-${i}`, state: 'ALARM', account: '111111111111' });
    await h.invoke(sqsEvent('buffer', [crit(1), crit(2), crit(3)])); // 1 own issue, umbrella OPS-2, crit-3 joins it
    const forwarded = h.forwarded();
    expect(forwarded).toHaveLength(1);
    const jiraRequests = h.jira.requests.length;

    await h.invoke(sqsEvent('digest', forwarded));

    expect(h.jira.requests).toHaveLength(jiraRequests);
    const digest = h.emails().at(-1)!;
    expect(digest.Message).toContain('crit-3 (us-east-1)  OK -> ALARM');
    expect(digest.Message).toContain('JIRA: OPS-2 (comment added) https://example.atlassian.net/browse/OPS-2');
    expect(h.table.items.get(`CHANGE#${changeIdOf(crit(3))}`)).toMatchObject({
      status: 'DONE',
      outcome: 'commented',
      issueKey: 'OPS-2',
      emailSent: 'digest',
      digestId: digestIdOf(digest.Message!),
    });
  });

  test('a state change delivered twice (both paths, or a redelivery) is listed once', async () => {
    const e = stateChange({ name: 'warn-a', state: 'ALARM' });
    await h.invoke(sqsEvent('digest', [e, structuredClone(e), stateChange({ name: 'warn-b', state: 'ALARM' })]));
    await h.invoke(sqsEvent('digest', [structuredClone(e)]));

    expect(h.emails()).toHaveLength(1);
    expect(h.emails()[0].Subject).toMatch(/^\[DIGEST\] 2 state changes/);
    expect(h.table.items.get(`CHANGE#${changeIdOf(e)}`)?.duplicates).toBe(2);
  });

  test('an entry another digest invocation is still handling comes back instead of being dropped', async () => {
    const e = stateChange({ name: 'warn-a', state: 'ALARM' });
    h.table.put({ pk: `CHANGE#${changeIdOf(e)}`, status: 'IN_PROGRESS', leaseUntil: h.clock.t + 60_000 });
    const event = sqsEvent('digest', [e]);
    expect(failures(await h.invoke(event))).toEqual([event.Records[0].messageId]);
    expect(h.emails()).toEqual([]);
  });

  test('1,000 state changes too large for one SNS message: several parts, each under 256 KiB, every entry once', async () => {
    const bodies = Array.from({ length: 1000 }, (_, i) => {
      const e = stateChange({
        name: `warn-${'x'.repeat(200)}-${i}`,
        state: i % 3 ? 'ALARM' : 'OK',
        account: String(300000000000 + (i % 200)),
      });
      (e.detail.state as { reason: string }).reason = `R${i} ${'r'.repeat(4000)}`;
      return e;
    });
    const result = await h.invoke(sqsEvent('digest', bodies));

    expect(failures(result)).toEqual([]);
    const emails = h.emails();
    expect(emails.length).toBeGreaterThan(1);
    emails.forEach((e, i) => {
      expect(Buffer.byteLength(e.Message!, 'utf8')).toBeLessThanOrEqual(MESSAGE_MAX_BYTES);
      expect(e.Subject!.length).toBeLessThan(100);
      expect(e.Subject).toMatch(new RegExp(`\\(part ${i + 1}/${emails.length}\\)$`));
    });
    const all = emails.map((e) => e.Message).join('\n');
    for (let i = 0; i < 1000; i++) expect(all.split(`-${i} (us-east-1)`).length - 1).toBe(1);
    const ids = new Set(emails.map((e) => digestIdOf(e.Message!)));
    expect(ids.size).toBe(1);
    const parts = bodies.map((b) => h.table.items.get(`CHANGE#${changeIdOf(b)}`)?.digestPart);
    expect(new Set(parts)).toEqual(new Set(emails.map((_, i) => i + 1)));
  });

  test('when one part cannot be published, its entries come back; the other parts are done', async () => {
    h.sns.on(PublishCommand).rejectsOnce(new Error('SNS throttled')).resolves({ MessageId: 'm' });
    const bodies = Array.from({ length: 600 }, (_, i) => {
      const e = stateChange({
        name: `warn-${'y'.repeat(200)}-${i}`,
        state: 'ALARM',
        account: String(300000000000 + i),
      });
      (e.detail.state as { reason: string }).reason = 'r'.repeat(400);
      return e;
    });
    const event = sqsEvent('digest', bodies);

    const result = await h.invoke(event);

    const failed = new Set(failures(result));
    expect(failed.size).toBeGreaterThan(0);
    expect(failed.size).toBeLessThan(600);
    event.Records.forEach((r, i) => {
      const item = h.table.items.get(`CHANGE#${changeIdOf(bodies[i])}`);
      expect(item?.status).toBe(failed.has(r.messageId) ? 'FAILED' : 'DONE');
    });
    // The failed ones are digested by their next delivery.
    const again = await h.invoke(
      sqsEvent(
        'digest',
        bodies.filter((_, i) => failed.has(event.Records[i].messageId)),
      ),
    );
    expect(failures(again)).toEqual([]);
    expect(bodies.every((b) => h.table.items.get(`CHANGE#${changeIdOf(b)}`)?.status === 'DONE')).toBe(true);
  });

  test('a critical change put straight into the digest queue still goes through JIRA', async () => {
    const e = stateChange({ name: 'crit-direct', state: 'ALARM' });
    await h.invoke(sqsEvent('digest', [e]));
    expect(h.jira.creates).toHaveLength(1);
    expect(h.emails().map((m) => m.Subject)).toEqual(['[ALARM] crit-direct (123456789012 us-east-1) OPS-1']);
  });

  test("an alarm's first evaluation reaching the digest is recorded, not listed", async () => {
    const first = stateChange({ name: 'warn-new', state: 'OK', previous: 'INSUFFICIENT_DATA' });
    await h.invoke(sqsEvent('digest', [first]));
    expect(h.emails()).toEqual([]);
    expect(h.table.items.get(`CHANGE#${changeIdOf(first)}`)).toMatchObject({ status: 'DONE', outcome: 'ignored' });
  });
});

describe('buildDigest', () => {
  test('parts never split an entry and repeat the group headers as "continued"', () => {
    const entries = Array.from({ length: 60 }, (_, i) => ({
      change: change(stateChange({ name: `warn-${i}`, state: 'ALARM', account: '111111111111' })),
    }));
    const parts = buildDigest(entries, {
      digestId: 'dg-test',
      jiraBaseUrl: 'https://example.atlassian.net',
      accountNames: NAMES,
      maxBytes: 10_000,
    });
    expect(parts.length).toBeGreaterThan(1);
    expect(parts.flatMap((p) => p.entries)).toHaveLength(60);
    expect(parts[1].email.message).toContain('=== ALARM (60), continued ===');
    expect(parts[1].email.message).toContain('--- 111111111111 (payments-prod): 60 state changes, continued ---');
    for (const p of parts) expect(Buffer.byteLength(p.email.message)).toBeLessThanOrEqual(10_000);
  });
});
