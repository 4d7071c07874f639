/**
 * SQS batches from the two event source mappings (README, "Queues"):
 *
 * - Buffer (batch 10, MaximumConcurrency = jira.maxConcurrency): records one at a time, so an invocation makes
 *   one JIRA request at a time and the mapping's concurrency bounds the pipeline's. Email-only state changes go
 *   to the digest queue without touching JIRA or the table; critical ones are handled (processor.ts), and those
 *   the digest rule covers hand their email to the digest. JIRA cool-down: waited out when it ends in time,
 *   otherwise the remaining critical records are deferred to its end (ChangeMessageVisibility) after holding the
 *   invocation's slot until near its deadline, so the backlog stays in the queue instead of being received,
 *   deferred and counted again.
 * - Digest (batch up to 1000, batching window): every new state change of the batch in ONE email (split only
 *   for SNS's size limit), each recorded as digested with the digest's id.
 *
 * Every record ends as done (deleted), a batch item failure (comes back: at the end of a cool-down, or after a
 * backoff), or in the DLQ with the reason: a record that can never succeed (malformed) at once, and any record on
 * its last receive (maxReceiveCount of the queue's redrive policy), so nothing reaches the DLQ without a reason.
 */
import { randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { buildDigest, type DigestEntry } from './digest';
import { InvalidEventError, JiraRateLimitedError, errorMessage } from './errors';
import { parseEvent, type AlarmStateChange, type ProductEvent } from './events';
import { runHeartbeat, type HeartbeatDeps } from './heartbeat';
import type { ChangeRecord } from './incident-store';
import { CLAIM_LEASE_MS, type ProcessorDeps } from './jira-steps';
import { logger } from './logger';
import { endMaintenance } from './maintenance-end';
import { FIRST_EVALUATION_REASON, handleChange, isCritical, isFirstEvaluation } from './processor';
import { queueNameOf, queueRole, receiveCount } from './queues';
import { resolveAfterGrace } from './resolve';
import { refreshUmbrellaSummary } from './storm';
import type { JiraThrottle } from './throttle';

export interface BatchDeps extends HeartbeatDeps {
  readonly throttle: JiraThrottle;
}

export interface InvocationInfo {
  readonly requestId?: string;
  readonly functionArn?: string;
}

/**
 * A critical record is not started with less time left than this (it comes back at once instead), nor a cool-down
 * waited out that would leave less: at most half of a short invocation's budget.
 */
export const RECORD_RESERVE_MS = 8_000;
/** Deferred records are held until this close to the deadline (see above), never past the cool-down. */
export const HOLD_MARGIN_MS = 1_000;
/** Retry delays of failed records double per receive up to this. */
export const MAX_RETRY_SECONDS = 300;
/** DynamoDB writes of a digest batch in flight at a time. */
const DIGEST_PARALLELISM = 16;

type Fate =
  | { readonly kind: 'done' }
  | { readonly kind: 'retry'; readonly error: Error; readonly seconds: number }
  | { readonly kind: 'defer'; readonly error: Error }
  | { readonly kind: 'dead-letter'; readonly error: Error };

const SEVERITY: Record<Fate['kind'], number> = { done: 0, defer: 1, retry: 2, 'dead-letter': 3 };

class Fates {
  readonly byId = new Map<string, Fate>();
  set(record: SQSRecord, fate: Fate): void {
    const old = this.byId.get(record.messageId);
    if (!old || SEVERITY[fate.kind] > SEVERITY[old.kind]) this.byId.set(record.messageId, fate);
  }
  get(record: SQSRecord): Fate {
    return this.byId.get(record.messageId) ?? { kind: 'done' };
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(errorMessage(err));
}

/** Backoff of a failed record: RETRY_BASE * 2^(receives - 1), capped. */
function retrySeconds(record: SQSRecord, deps: ProcessorDeps): number {
  const base = deps.config.retryBaseSeconds;
  return Math.min(MAX_RETRY_SECONDS, base * 2 ** Math.min(16, receiveCount(record) - 1));
}

/** The changes of one record's body; throws InvalidEventError for a body that can never be handled. */
function parseBody(record: SQSRecord): ReturnType<typeof parseEvent> {
  let event: unknown;
  try {
    event = JSON.parse(record.body);
  } catch {
    throw new InvalidEventError(`SQS message ${record.messageId}: body is not JSON`);
  }
  return parseEvent(event);
}

export async function handleSqsBatch(
  event: SQSEvent,
  deps: BatchDeps,
  deadline: number,
  info: InvocationInfo,
): Promise<SQSBatchResponse> {
  const arn = event.Records[0].eventSourceARN;
  const role = queueRole(arn, deps.config.digestQueueUrl);
  logger.appendKeys({ queue: queueNameOf(arn) });
  try {
    const fates =
      role === 'digest'
        ? await digestBatch(event.Records, deps, deadline)
        : await bufferBatch(event.Records, deps, deadline);
    return await settle(event.Records, fates, deps, info);
  } finally {
    logger.removeKeys(['queue']);
  }
}

async function bufferBatch(records: readonly SQSRecord[], deps: BatchDeps, deadline: number): Promise<Fates> {
  const { clock, queues, throttle, config } = deps;
  const fates = new Fates();
  const forward: { id: string; body: string }[] = [];
  const umbrellas = new Set<string>();
  // Set once a cool-down outlasts this invocation: the remaining critical records are deferred to it.
  let coolDownUntil: number | undefined;
  const reserve = Math.min(RECORD_RESERVE_MS, Math.max(0, deadline - clock.now()) / 2);

  /** Before a record that calls JIRA: the JIRA cool-down and the time left. False: its fate is set, skip it. */
  const readyForJira = async (record: SQSRecord): Promise<boolean> => {
    if (coolDownUntil !== undefined) {
      fates.set(record, { kind: 'defer', error: rateLimited(coolDownUntil) });
      return false;
    }
    if (clock.now() + reserve > deadline) {
      const error = new Error('not started: too little time left in this invocation');
      fates.set(record, { kind: 'retry', error, seconds: 0 });
      return false;
    }
    const until = await throttle.coolDownUntil();
    if (until > clock.now()) {
      if (until + reserve <= deadline) {
        logger.info('Waiting for the JIRA cool-down', { waitMs: until - clock.now() });
        await clock.sleep(until - clock.now());
      } else {
        coolDownUntil = until;
        fates.set(record, { kind: 'defer', error: rateLimited(until) });
        return false;
      }
    }
    return true;
  };
  const failed = (record: SQSRecord, err: unknown) => {
    if (err instanceof JiraRateLimitedError) {
      fates.set(record, { kind: 'defer', error: err });
      // A cool-down that ends in time (e.g. the request used up its attempts) is waited out by the next record.
      if (err.untilMs + reserve > deadline) coolDownUntil = Math.max(coolDownUntil ?? 0, err.untilMs);
    } else {
      fates.set(record, { kind: 'retry', error: asError(err), seconds: retrySeconds(record, deps) });
    }
  };
  /** The product's own events: the heartbeat, the delayed resolve of an OK, the end of a maintenance window. */
  const product = async (record: SQSRecord, event: ProductEvent) => {
    if (event.kind === 'heartbeat') {
      if (clock.now() + reserve > deadline) {
        fates.set(record, {
          kind: 'retry',
          error: new Error('heartbeat not started: too little time left'),
          seconds: 0,
        });
        return;
      }
      // Never fails the record: a failed heartbeat shows as its missing metric (heartbeat.ts).
      await runHeartbeat(event, deps, deadline);
      return;
    }
    if (!(await readyForJira(record))) return;
    try {
      if (event.kind === 'resolve-due') {
        const result = await resolveAfterGrace(event, deps, deadline);
        logger.info('Delayed resolve handled', {
          ...result,
          alarmName: event.alarmName,
          accountId: event.accountId,
          changeId: event.changeId,
        });
        if (result.umbrella) umbrellas.add(result.umbrella);
      } else {
        const result = await endMaintenance(event, deps, deadline, reserve);
        for (const u of result.umbrellas) umbrellas.add(u);
      }
    } catch (err) {
      failed(record, err);
    }
  };

  for (const record of records) {
    let parsed: ReturnType<typeof parseEvent>;
    try {
      parsed = parseBody(record);
    } catch (err) {
      logger.error('Malformed queue record', { messageId: record.messageId, error: err as Error });
      fates.set(record, { kind: 'dead-letter', error: asError(err) });
      continue;
    }
    if (parsed.kind === 'ignored') {
      logger.info('Event ignored', { reason: parsed.reason, messageId: record.messageId });
      continue;
    }
    if (parsed.kind === 'product') {
      await product(record, parsed.event);
      continue;
    }
    // One EventBridge or alarm-action event per record; an SNS notification (not expected here) as today.
    const single = parsed.kind === 'change';
    const changes: AlarmStateChange[] = [];
    if (parsed.kind === 'change') changes.push(parsed.change);
    else {
      for (const r of parsed.records) {
        if ('change' in r) changes.push(r.change);
        else if ('error' in r) fates.set(record, { kind: 'dead-letter', error: r.error });
        else logger.info('SNS record ignored', { reason: r.ignored, messageId: record.messageId });
      }
    }
    const digest = single && queues.hasDigest;
    for (const change of changes) {
      const firstEvaluation = change.newState === 'OK' && change.previousState === 'INSUFFICIENT_DATA';
      if (digest && !isCritical(change, config) && !firstEvaluation) {
        forward.push({ id: record.messageId, body: record.body });
        continue;
      }
      if (isCritical(change, config) && !(await readyForJira(record))) continue;
      try {
        const result = await handleChange(change, deps, deadline, { mode: 'queued', digest });
        if (result.inProgressElsewhere) {
          // Only a change that is done may be dropped: if the other attempt fails, this record must still exist.
          const error = new Error(result.reason ?? 'being handled by another invocation');
          fates.set(record, { kind: 'retry', error, seconds: retrySeconds(record, deps) });
        }
        if (result.emailVia === 'digest') forward.push({ id: record.messageId, body: record.body });
        if (result.umbrella) umbrellas.add(result.umbrella);
      } catch (err) {
        failed(record, err);
      }
    }
  }

  const unique = [...new Map(forward.map((f) => [f.id, f])).values()];
  if (unique.length) {
    const failed = await queues.forwardToDigest(unique);
    for (const record of records) {
      const why = failed.get(record.messageId);
      if (why) {
        const error = new Error(`not forwarded to the digest queue: ${why}`);
        fates.set(record, { kind: 'retry', error, seconds: retrySeconds(record, deps) });
      }
    }
    logger.info('Forwarded to the digest', { records: unique.length - failed.size, failed: failed.size });
  }
  for (const umbrella of umbrellas) await refreshUmbrellaSummary(umbrella, deps, deadline);
  if (coolDownUntil !== undefined) {
    // Holding the slot keeps the backlog in the queue, unreceived: a receive is only counted when JIRA can work.
    const holdUntil = Math.min(coolDownUntil, deadline - HOLD_MARGIN_MS);
    if (holdUntil > clock.now()) {
      logger.info('JIRA cool-down outlasts the invocation: holding, then deferring', {
        until: new Date(coolDownUntil).toISOString(),
        holdMs: holdUntil - clock.now(),
      });
      await clock.sleep(holdUntil - clock.now());
    }
  }
  return fates;
}

function rateLimited(until: number): JiraRateLimitedError {
  return new JiraRateLimitedError(`JIRA rate-limits the pipeline until ${new Date(until).toISOString()}`, until);
}

async function digestBatch(records: readonly SQSRecord[], deps: BatchDeps, deadline: number): Promise<Fates> {
  const { store, clock, config, notifier } = deps;
  const fates = new Fates();
  const items: { record: SQSRecord; change: AlarmStateChange }[] = [];
  for (const record of records) {
    try {
      const parsed = parseBody(record);
      if (parsed.kind === 'ignored') logger.info('Event ignored', { reason: parsed.reason });
      else if (parsed.kind === 'product')
        logger.info('Product event in the digest queue ignored', { kind: parsed.event.kind });
      else if (parsed.kind === 'change') items.push({ record, change: parsed.change });
      else
        for (const r of parsed.records) {
          if ('change' in r) items.push({ record, change: r.change });
          else if ('error' in r) fates.set(record, { kind: 'dead-letter', error: r.error });
        }
    } catch (err) {
      fates.set(record, { kind: 'dead-letter', error: asError(err) });
    }
  }

  const leaseMs = Math.max(CLAIM_LEASE_MS, deadline - clock.now() + 10_000);
  const entries: (DigestEntry & { record: SQSRecord })[] = [];
  const direct: { record: SQSRecord; change: AlarmStateChange }[] = [];
  let duplicates = 0;
  await pool(items, DIGEST_PARALLELISM, async ({ record, change }) => {
    try {
      const begun = await store.beginChange(change, clock.now(), leaseMs);
      if (!begun.started) {
        // Both paths of one change (EventBridge, alarm action), or a repeat delivery: listed once. One still being
        // handled elsewhere comes back, in case that attempt fails.
        duplicates++;
        await store.noteDuplicate(change, clock.now()).catch(() => undefined);
        if (begun.current?.status !== 'DONE') {
          const error = new Error(`state change ${change.changeId} is being handled by another invocation`);
          fates.set(record, { kind: 'retry', error, seconds: retrySeconds(record, deps) });
        }
        return;
      }
      const before: ChangeRecord | undefined = begun.previous;
      const handedOver = before?.status === 'DIGEST' ? before.jira : undefined;
      if (isCritical(change, config) && !handedOver) {
        // Never through the buffer (e.g. put here by hand): JIRA first, so release the record for processChange.
        await store.failChange(change.changeId, 'critical change found in the digest queue', undefined, clock.now());
        direct.push({ record, change });
        return;
      }
      if (isFirstEvaluation(change, handedOver ?? { outcome: 'notified', noIncident: true })) {
        const ignored = { outcome: 'ignored', reason: FIRST_EVALUATION_REASON };
        await store.finishChange(change.changeId, ignored, undefined, clock.now());
        return;
      }
      entries.push({ record, change, jira: handedOver });
    } catch (err) {
      fates.set(record, { kind: 'retry', error: asError(err), seconds: retrySeconds(record, deps) });
    }
  });
  for (const { record, change } of direct) {
    try {
      await handleChange(change, deps, deadline, { mode: 'queued', digest: false });
    } catch (err) {
      fates.set(record, { kind: 'retry', error: asError(err), seconds: retrySeconds(record, deps) });
    }
  }

  if (entries.length) {
    const digestId = `dg-${new Date(clock.now()).toISOString().replace(/[-:]|\.\d{3}/g, '')}-${randomUUID().slice(0, 8)}`;
    const parts = buildDigest(entries, {
      digestId,
      jiraBaseUrl: config.jiraBaseUrl,
      accountNames: config.accountNames,
    });
    for (const part of parts) {
      const partEntries = part.entries as (DigestEntry & { record: SQSRecord })[];
      try {
        await notifier.send(part.email);
      } catch (err) {
        logger.error('Could not publish the digest email; its entries come back', { error: err as Error, digestId });
        await pool(partEntries, DIGEST_PARALLELISM, async (e) => {
          await store.failChange(e.change.changeId, errorMessage(err), undefined, clock.now(), e.jira).catch(() => {
            // The lease expires: the record's next delivery starts it again.
          });
          fates.set(e.record, { kind: 'retry', error: asError(err), seconds: retrySeconds(e.record, deps) });
        });
        continue;
      }
      await pool(partEntries, DIGEST_PARALLELISM, async (e) => {
        const outcome = e.jira?.outcome ?? 'digested';
        await store
          .finishDigested(e.change.changeId, outcome, e.jira?.issueKey, digestId, part.part, clock.now())
          .catch((err: unknown) => {
            logger.warn('Could not mark the digest entry done', { error: err as Error, changeId: e.change.changeId });
          });
      });
    }
    logger.info('Digest sent', { digestId, entries: entries.length, parts: parts.length, duplicates });
  } else {
    logger.info('Nothing to digest', { records: records.length, duplicates });
  }
  return fates;
}

/** Deletes what is done, dead-letters what cannot heal or had its last receive, and times the rest's return. */
async function settle(
  records: readonly SQSRecord[],
  fates: Fates,
  deps: BatchDeps,
  info: InvocationInfo,
): Promise<SQSBatchResponse> {
  const { queues, clock } = deps;
  const failures: string[] = [];
  const visibility: { receiptHandle: string; seconds: number }[] = [];
  const counts = { done: 0, deferred: 0, retried: 0, deadLettered: 0 };
  for (const record of records) {
    const fate = fates.get(record);
    if (fate.kind === 'done') {
      counts.done++;
      continue;
    }
    let deadLetter = fate.kind === 'dead-letter';
    if (!deadLetter) {
      const policy = await queues.redrivePolicy(record.eventSourceARN);
      // The last receive: SQS would dead-letter it without a reason on the next one.
      deadLetter = policy !== undefined && receiveCount(record) >= policy.maxReceiveCount;
    }
    if (deadLetter) {
      const condition = fate.kind === 'dead-letter' ? 'InvalidEvent' : 'RetriesExhausted';
      if (await queues.deadLetter(record, fate.error, condition, info, clock.now())) {
        logger.error('Record dead-lettered', { messageId: record.messageId, reason: fate.error.message, condition });
        counts.deadLettered++;
        continue;
      }
    }
    failures.push(record.messageId);
    if (fate.kind === 'defer') {
      const until = fate.error instanceof JiraRateLimitedError ? fate.error.untilMs : clock.now();
      visibility.push({ receiptHandle: record.receiptHandle, seconds: Math.max(0, (until - clock.now()) / 1000) });
      counts.deferred++;
    } else {
      visibility.push({ receiptHandle: record.receiptHandle, seconds: fate.kind === 'retry' ? fate.seconds : 0 });
      counts.retried++;
      logger.warn('Record failed; it comes back', { messageId: record.messageId, error: fate.error.message });
    }
  }
  if (visibility.length) await queues.changeVisibility(records[0].eventSourceARN, visibility);
  logger.info('Batch handled', { records: records.length, ...counts });
  return { batchItemFailures: failures.map((itemIdentifier) => ({ itemIdentifier })) };
}

/** Runs `fn` over `items`, at most `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(workers);
}
