import { randomUUID } from 'node:crypto';
import type { ReplacedIssue } from './adf';
import type { Config } from './config';
import { IncidentBusyError, JiraApiError, JiraRateLimitedError, errorMessage } from './errors';
import type { AlarmState, AlarmStateChange } from './events';
import { STATE_TIME_ATTRIBUTE, type IncidentRecord, type IncidentStore, type JiraResult } from './incident-store';
import { buildClaimSearchBody, buildCreateIssueBody } from './jira-client';
import {
  CLAIM_LEASE_MS,
  CLAIM_POLL_MS,
  CLAIM_WAIT_MS,
  claimLeaseMs,
  comment,
  commentOrLost,
  iso,
  liveClaim,
  MAX_ROUNDS,
  release,
  type ProcessorDeps,
} from './jira-steps';
import { logger } from './logger';
import { muteAlarm, mutingOccurrence } from './maintenance';
import type { TicketReport } from './notifier';
import { openAlarmOpsItem, openStormOpsItem } from './opscenter';
import { flapNote, resolve } from './resolve';
import { joinStorm, takeIssueSlot } from './storm';

export { CLAIM_LEASE_MS, CLAIM_POLL_MS, CLAIM_WAIT_MS, type ProcessorDeps } from './jira-steps';

export type Outcome =
  | 'created'
  | 'commented'
  | 'resolved'
  | 'notified'
  | 'suppressed'
  | 'duplicate'
  | 'ignored'
  /** A critical ALARM a maintenance window muted: emailed, no ticket (it opens when the window ends). */
  | 'muted'
  /** Email-only state change that went out in a digest email. */
  | 'digested';

/** Result of one state change (or of an ignored event). */
export interface ChangeResult {
  readonly outcome: Outcome;
  readonly alarmName?: string;
  readonly accountId?: string;
  /** The delivery (EventBridge id, SNS MessageId, derived for alarm actions). */
  readonly eventId?: string;
  /** The state change, the same for every delivery of it. */
  readonly changeId?: string;
  readonly newState?: string;
  readonly issueKey?: string;
  readonly reason?: string;
  /** The email of this change is the digest's: the caller forwards the change to the digest queue. */
  readonly emailVia?: 'digest';
  /** The storm window whose umbrella issue got this change (its summary is refreshed after the batch). */
  readonly umbrella?: string;
  /** `duplicate` of a change another invocation is still handling (not done): a queue record must come back. */
  readonly inProgressElsewhere?: boolean;
}

export interface ProcessOptions {
  /**
   * `queued`: the change came from the buffer queue. A rate limit that outlasts the invocation is then not a
   * failure (no failure email; the record is deferred), and the changes the digest rule covers hand their email
   * to the digest (when DIGEST_QUEUE_URL is set). `direct`: an EventBridge, SNS or alarm-action invocation,
   * emailed at once as before.
   */
  readonly mode: 'direct' | 'queued';
  /** Queued mode: may the email go to the digest (default true; false for a record that is not one event). */
  readonly digest?: boolean;
}

/** Why a first evaluation is not emailed (README: "Emails"). */
export const FIRST_EVALUATION_REASON =
  "OK after INSUFFICIENT_DATA with no open incident (an alarm's first evaluation, e.g. right after a deployment): " +
  'recorded, not emailed';

/** Whether a state change goes out by email at all: an alarm's first evaluation (INSUFFICIENT_DATA -> OK) does not. */
export function isFirstEvaluation(change: AlarmStateChange, jira: JiraResult | undefined): boolean {
  return (
    change.newState === 'OK' &&
    change.previousState === 'INSUFFICIENT_DATA' &&
    jira?.noIncident === true &&
    jira.issueKey === undefined
  );
}

/** Critical alarms (JIRA_TICKET_ALARM_PATTERN) get tickets; all others email only. */
export function isCritical(change: AlarmStateChange, config: Config): boolean {
  return config.ticketAlarmPattern.test(change.alarmName);
}

/**
 * The digest rule: which handled changes are emailed in a digest instead of one by one (queued mode with a
 * digest queue). Critical ALARM and OK stay immediate, except those on an alarm storm's umbrella issue (the
 * umbrella's creation is immediate); INSUFFICIENT_DATA and email-only changes go to the digest.
 */
function digestEmail(change: AlarmStateChange, jira: JiraResult, config: Config): boolean {
  if (!isCritical(change, config) || change.newState === 'INSUFFICIENT_DATA') return true;
  return jira.umbrella !== undefined && !jira.umbrellaCreated;
}

/** Whether this handled change's email is the digest's (queued mode with a digest queue, and the digest rule). */
function handsOverToDigest(
  change: AlarmStateChange,
  jira: JiraResult,
  config: Config,
  options: ProcessOptions,
): boolean {
  if (options.mode !== 'queued' || options.digest === false || !config.digestQueueUrl) return false;
  return !isFirstEvaluation(change, jira) && digestEmail(change, jira, config);
}

/**
 * Handles one alarm state change: JIRA (for alarms matching the ticket pattern), then the email (or its hand-over
 * to the digest), then the idempotency record. A JIRA failure still sends the email, then throws so the retry
 * (Lambda's, or the queue's) and the DLQ take over; a rate limit of a queued change throws without an email.
 */
export async function processChange(
  change: AlarmStateChange,
  deps: ProcessorDeps,
  deadline: number,
  options: ProcessOptions = { mode: 'direct' },
): Promise<ChangeResult> {
  const { store, clock, notifier, config } = deps;
  const base = {
    alarmName: change.alarmName,
    accountId: change.accountId,
    eventId: change.eventId,
    changeId: change.changeId,
    newState: change.newState,
  };
  const wantsJira = needsJira(change, config);
  // The record's lease outlives this invocation, so a concurrent redelivery never runs it twice.
  const leaseMs = Math.max(CLAIM_LEASE_MS, deadline - clock.now() + 10_000);

  let previous: Awaited<ReturnType<IncidentStore['beginChange']>> | undefined;
  let storeError: unknown;
  try {
    previous = await store.beginChange(change, clock.now(), leaseMs);
  } catch (err) {
    storeError = err;
    logger.error('Incident table unavailable for the idempotency record', { error: err as Error });
  }
  if (previous && !previous.started) {
    // Keyed by the state change, not the delivery: EventBridge, SNS and the alarm action deliver it once.
    const current = previous.current;
    const by =
      current?.lastDeliveryId && current.lastDeliveryId !== change.eventId
        ? ` (delivered as ${current.lastInput ?? 'event'} ${current.lastDeliveryId})`
        : '';
    const what = `state change ${change.changeId} (${change.newState} at ${change.timestamp})${by}`;
    const reason =
      current?.status === 'DONE' ? `${what} was already handled` : `${what} is being handled by another invocation`;
    await store.noteDuplicate(change, clock.now()).catch((err: unknown) => {
      logger.warn('Could not note the duplicate delivery', { error: err as Error });
    });
    logger.info('Duplicate delivery', { reason, status: current?.status, input: change.input });
    return {
      ...base,
      outcome: 'duplicate',
      issueKey: current?.issueKey,
      reason,
      inProgressElsewhere: current?.status !== 'DONE',
    };
  }
  const earlier = previous?.previous;

  let step: { ok: true; jira: JiraResult } | { ok: false; error: unknown };
  if (!wantsJira.jira) {
    step = { ok: true, jira: { outcome: wantsJira.outcome, reason: wantsJira.reason, noIncident: true } };
  } else if (storeError) {
    step = { ok: false, error: storeError };
  } else if (earlier?.jira) {
    step = { ok: true, jira: earlier.jira };
    logger.info('Reusing the JIRA result of an earlier attempt', { ...earlier.jira });
  } else {
    try {
      const jira = await withOpsItem(change, await runJira(change, deps, deadline), deps, deadline);
      step = { ok: true, jira };
      // Comments are recorded nowhere else: keep the result now, so a crash before the end does not repeat them
      // (a hand-over to the digest, the next write, records it too).
      const commented = jira.outcome === 'commented' || jira.outcome === 'resolved';
      if (commented && !handsOverToDigest(change, jira, config, options)) {
        await store.recordJira(change.changeId, jira, clock.now()).catch((err: unknown) => {
          logger.warn('Could not record the JIRA result', { error: err as Error });
        });
      }
    } catch (err) {
      step = { ok: false, error: err };
    }
  }
  if (step.ok && step.jira.issueKey) logger.appendKeys({ ticketKey: step.jira.issueKey });

  if (!step.ok && step.error instanceof JiraRateLimitedError && options.mode === 'queued') {
    // Not a failure to report: JIRA asked the pipeline to wait, and the record comes back when it accepts requests.
    await store
      .failChange(change.changeId, errorMessage(step.error), earlier?.emailSent, clock.now())
      .catch((err: unknown) => {
        logger.warn('Could not mark the state change failed', { error: err as Error });
      });
    throw step.error;
  }

  if (step.ok && isFirstEvaluation(change, step.jira)) {
    const ignored = { outcome: 'ignored' as const, reason: FIRST_EVALUATION_REASON, noIncident: true };
    if (!storeError) {
      await store.finishChange(change.changeId, ignored, earlier?.emailSent, clock.now()).catch((err: unknown) => {
        logger.warn('Could not mark the state change done', { error: err as Error });
      });
    }
    return { ...base, outcome: 'ignored', reason: FIRST_EVALUATION_REASON };
  }

  if (step.ok && !storeError) {
    const { jira } = step;
    if (handsOverToDigest(change, jira, config, options)) {
      // Recorded before the caller forwards it, so the digest consumer can take it from DIGEST to DONE.
      try {
        await store.handOverToDigest(change.changeId, jira, clock.now());
      } catch (err) {
        // Keep the JIRA result and free the record, so the retry hands it over without repeating JIRA work.
        await store.failChange(change.changeId, errorMessage(err), earlier?.emailSent, clock.now(), jira).catch(() => {
          logger.warn('Could not mark the state change failed', { error: err as Error });
        });
        throw err;
      }
      return {
        ...base,
        outcome: jira.outcome as Outcome,
        issueKey: jira.issueKey,
        reason: jira.reason,
        emailVia: 'digest',
        umbrella: jira.umbrella,
      };
    }
  }

  const report: TicketReport = step.ok ? ticketReport(step.jira) : { kind: 'failed', error: errorMessage(step.error) };
  const emailKind = step.ok ? 'final' : 'failure';
  // A retry re-sends only when the news changed: a success after an earlier failure email.
  const alreadyEmailed =
    earlier?.emailSent === 'final' || (earlier?.emailSent === 'failure' && emailKind === 'failure');
  let emailSent = earlier?.emailSent;
  let emailError: unknown;
  if (alreadyEmailed) {
    logger.info('Email already sent by an earlier attempt', { emailSent });
  } else {
    try {
      await notifier.publish(change, report);
      emailSent = emailKind;
    } catch (err) {
      emailError = err ?? new Error('SNS publish failed');
      logger.error('Could not publish the email notification', { error: err as Error });
    }
  }

  if (!step.ok || emailError !== undefined) {
    const failure = step.ok ? emailError : step.error;
    if (!storeError) {
      // A JIRA result is kept so the retry only re-sends the email.
      const jira = step.ok ? step.jira : undefined;
      await store
        .failChange(change.changeId, errorMessage(failure), emailSent, clock.now(), jira)
        .catch((err: unknown) => {
          logger.warn('Could not mark the state change failed', { error: err as Error });
        });
    }
    logger.error('Alarm state change failed; it is retried, then the DLQ keeps it', {
      error: failure as Error,
      jiraFailed: !step.ok,
      emailSent: emailSent !== undefined,
    });
    throw failure;
  }
  const { jira } = step;
  if (!storeError) {
    await store.finishChange(change.changeId, jira, emailSent, clock.now()).catch((err: unknown) => {
      logger.warn('Could not mark the state change done', { error: err as Error });
    });
  }
  return {
    ...base,
    outcome: jira.outcome as Outcome,
    issueKey: jira.issueKey,
    reason: jira.reason,
    umbrella: jira.umbrella,
  };
}

const PER_CHANGE_KEYS = ['alarmName', 'accountId', 'eventId', 'changeId', 'ticketKey'];

/** processChange with the change's keys on every log line, and one line with its outcome. */
export async function handleChange(
  change: AlarmStateChange,
  deps: ProcessorDeps,
  deadline: number,
  options?: ProcessOptions,
): Promise<ChangeResult> {
  logger.removeKeys(PER_CHANGE_KEYS);
  logger.appendKeys({
    alarmName: change.alarmName,
    accountId: change.accountId,
    eventId: change.eventId,
    changeId: change.changeId,
  });
  const started = deps.clock.now();
  try {
    const result = await processChange(change, deps, deadline, options);
    logger.info('Alarm state change handled', {
      outcome: result.outcome,
      state: change.newState,
      previousState: change.previousState,
      alarmType: change.alarmType,
      input: change.input,
      issueKey: result.issueKey,
      reason: result.reason,
      emailVia: result.emailVia,
      durationMs: deps.clock.now() - started,
    });
    return result;
  } finally {
    logger.removeKeys(PER_CHANGE_KEYS);
  }
}

/** Test hook: log keys of a change never outlive it. */
export function clearChangeKeys(): void {
  logger.removeKeys(PER_CHANGE_KEYS);
}

function needsJira(
  change: AlarmStateChange,
  config: Config,
): { jira: true } | { jira: false; outcome: Outcome; reason: string } {
  if (!isCritical(change, config)) {
    return {
      jira: false,
      outcome: 'notified',
      reason: 'alarm name does not match JIRA_TICKET_ALARM_PATTERN (email only)',
    };
  }
  if (change.suppressedBy && change.newState === 'ALARM') {
    const why = change.suppressedReason ? `: ${change.suppressedReason}` : '';
    return { jira: false, outcome: 'suppressed', reason: `actions suppressed by ${change.suppressedBy}${why}` };
  }
  return { jira: true };
}

function ticketReport(jira: JiraResult): TicketReport {
  if (jira.outcome === 'muted' && jira.maintenance) {
    return { kind: 'muted', window: jira.maintenance.window, until: jira.maintenance.until };
  }
  if (jira.issueKey && (jira.outcome === 'created' || jira.outcome === 'commented' || jira.outcome === 'resolved')) {
    return { kind: jira.outcome, issueKey: jira.issueKey, note: jira.reason, storm: jira.umbrellaCreated };
  }
  return { kind: 'none', note: jira.reason ?? 'no JIRA ticket for this state change' };
}

/**
 * OpsCenter (OPSCENTER_ENABLED): the incident this change opened gets its OpsItem (an umbrella issue: the storm's).
 * Best effort: its note joins the result's reason, a failure never fails the change.
 */
export async function withOpsItem(
  change: AlarmStateChange,
  jira: JiraResult,
  deps: ProcessorDeps,
  deadline: number,
): Promise<JiraResult> {
  if (!deps.opsCenter || !jira.issueKey) return jira;
  let outcome;
  if (jira.umbrellaCreated && jira.umbrella) {
    outcome = await openStormOpsItem(change, jira.umbrella, jira.issueKey, deps, deadline);
  } else if (jira.openedIncident && !jira.umbrella) {
    outcome = await openAlarmOpsItem(change, jira.issueKey, change.changeId, deps, deadline);
  }
  if (!outcome) return jira;
  return {
    ...jira,
    opsItemId: outcome.opsItemId,
    reason: [jira.reason, outcome.note].filter(Boolean).join('; '),
  };
}

async function runJira(change: AlarmStateChange, deps: ProcessorDeps, deadline: number): Promise<JiraResult> {
  switch (change.newState) {
    case 'ALARM': {
      const occurrence = mutingOccurrence(change, deps);
      if (occurrence) return muteAlarm(change, occurrence, deps);
      return openOrComment(change, deps, deadline);
    }
    case 'OK':
      return resolve(change, deps, deadline);
    case 'INSUFFICIENT_DATA':
      return commentIfOpen(change, deps, deadline);
  }
}

/**
 * "this ALARM (state changed at t1) is older than the ALARM of t3 that is already on the issue", when a state
 * of this alarm newer than this change was already handled: the comment of an out-of-order delivery says so.
 */
function outOfOrderNote(change: AlarmStateChange, record: IncidentRecord | undefined): string | undefined {
  let newest: { state: AlarmState; at: number } | undefined;
  for (const state of ['ALARM', 'OK', 'INSUFFICIENT_DATA'] as const) {
    const at = record?.[STATE_TIME_ATTRIBUTE[state]];
    if (at !== undefined && at > change.stateAtMs && (!newest || at > newest.at)) newest = { state, at };
  }
  if (!newest) return undefined;
  return `this ${change.newState} (state changed at ${change.timestamp}) is older than the ${newest.state} of ${iso(newest.at)} that is already on the issue`;
}

/** A critical ALARM: claim and create the alarm's issue (or the storm's), or comment on the open one. */
export async function openOrComment(
  change: AlarmStateChange,
  deps: ProcessorDeps,
  deadline: number,
): Promise<JiraResult> {
  const { store, clock } = deps;
  // First record this ALARM's time, so an OK deciding at the same moment sees it (and does not close).
  const observed = await store.observeState(change, clock.now());
  const note = outOfOrderNote(change, observed.record);
  let current = observed.record;
  const waitUntil = Math.min(clock.now() + CLAIM_WAIT_MS, deadline);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const okAt = current?.lastOkStateAtMs;
    if (okAt !== undefined && okAt > change.stateAtMs) {
      // The alarm already went back to OK after this ALARM: a late delivery opens nothing.
      const reason = `this ALARM (state changed at ${change.timestamp}) is older than the OK of ${iso(okAt)} that was already handled: no new issue`;
      logger.info('Stale ALARM: older than the newest handled OK', { reason });
      return { outcome: 'notified', reason };
    }
    if (current?.status === 'OPEN' && current.issueKey) {
      const issueKey = current.issueKey;
      const umbrella = current.umbrellaWindow;
      if (current.openedByChangeId === change.changeId) {
        return umbrella
          ? { outcome: 'commented', issueKey, reason: 'added to the alarm storm issue by an earlier attempt', umbrella }
          : { outcome: 'created', issueKey, reason: 'issue recorded by an earlier attempt', openedIncident: true };
      }
      // An ALARM within the resolve grace period after an OK: a flap, the issue stays open (resolve.ts).
      const flap = await flapNote(change, current, deps);
      const text = [note, flap].filter(Boolean).join(' ') || undefined;
      const lost = await commentOrLost(change, issueKey, deps, deadline, text, umbrella !== undefined);
      if (!lost) return { outcome: 'commented', issueKey, reason: text, umbrella };
      await store.markLost(change, issueKey, lost, clock.now());
      current = await store.getIncident(change);
      continue; // the alarm is in ALARM and its issue is gone: open a new one
    }
    const token = randomUUID();
    const claim = await store.claimIncident(change, token, clock.now(), claimLeaseMs(deps, deadline));
    if (claim.acquired) return createUnderClaim(change, token, claim.previous, deps, deadline);

    current = claim.current;
    if (liveClaim(current, clock.now())) {
      // Wait briefly for the holder's issue to comment on it. Never give up as done: the holder may fail, or
      // its retry may turn out older than an OK, and this ALARM must then be handled on its own.
      const own = current?.claimChangeId === change.changeId;
      if (own || clock.now() + CLAIM_POLL_MS > waitUntil) {
        const holder = own
          ? 'an earlier attempt of this state change'
          : `state change ${current?.claimChangeId ?? '?'}`;
        throw new IncidentBusyError(
          `${holder} holds the claim to create this alarm's issue until ${iso(current?.leaseUntil)}` +
            `${current?.lastError ? ' (its create may have reached JIRA)' : ''}; retrying later`,
        );
      }
      logger.debug('Issue being created by another invocation; waiting', { claimChangeId: current?.claimChangeId });
      await clock.sleep(CLAIM_POLL_MS);
      current = await store.getIncident(change);
    }
  }
  throw new IncidentBusyError('the incident record kept changing while this ALARM was handled; retrying later');
}

async function createUnderClaim(
  change: AlarmStateChange,
  token: string,
  previous: IncidentRecord | undefined,
  deps: ProcessorDeps,
  deadline: number,
): Promise<JiraResult> {
  const { store, jira, clock, config } = deps;
  const replaces: ReplacedIssue | undefined = previous?.lostIssueKey
    ? { issueKey: previous.lostIssueKey, reason: previous.lostReason }
    : undefined;
  // Tokens of earlier claims that never recorded an issue: their create may have reached JIRA anyway. A claim
  // is only granted once their lease (which covers JIRA's search lag) has passed, so the search can be trusted.
  const orphans = [...(previous?.claimTokens ?? [])].filter((t) => t !== token);
  let issueKey: string | undefined;
  let adopted = false;
  try {
    if (orphans.length) {
      const found = await jira.searchIssueKeys(
        buildClaimSearchBody(config.jiraProjectKey, orphans.slice(0, 20)),
        deadline,
      );
      issueKey = found[0];
      adopted = issueKey !== undefined;
      logger.info('Took over an unfinished claim', { orphanClaims: orphans.length, adoptedIssue: issueKey });
    }
  } catch (err) {
    // Nothing was created with this claim's token.
    await release(change, token, err, deps);
    throw err;
  }
  // The storm rule (storm.ts): a new issue takes one of the window's slots; over the limit, the umbrella. A takeover
  // of unfinished claims takes none: it finishes what an earlier claim started, which took the slot (or, if that
  // claim crashed while joining the storm's issue, the window gets one issue over its limit).
  let slotWindow: string | undefined;
  if (!issueKey && orphans.length === 0) {
    let slot: Awaited<ReturnType<typeof takeIssueSlot>>;
    try {
      slot = await takeIssueSlot(change, deps);
    } catch (err) {
      await release(change, token, err, deps);
      throw err;
    }
    if (!slot.granted) return joinStorm(change, token, slot.window, slot.record, replaces, deps, deadline);
    slotWindow = slot.window.key;
  }
  if (!issueKey) {
    try {
      issueKey = (await jira.createIssue(buildCreateIssueBody(config, change, token, replaces), deadline)).key;
    } catch (err) {
      // The client never re-posts an unanswered create, and nobody may until a label search can see it.
      const unknown = err instanceof JiraApiError && !err.definitelyNotApplied;
      if (!unknown && slotWindow) {
        await store.releaseIssueSlot(slotWindow).catch((e: unknown) => {
          logger.warn('Could not give back the storm window slot', { error: e as Error });
        });
      }
      if (unknown) {
        await store
          .holdClaim(change, token, errorMessage(err), clock.now(), clock.now() + config.searchLagMs)
          .catch((e: unknown) => {
            logger.warn('Could not hold the claim; it expires with its lease', { error: e as Error });
          });
        logger.warn('Create outcome unknown: the claim is held until a label search can see the issue', {
          holdMs: config.searchLagMs,
        });
      } else {
        await release(change, token, err, deps);
      }
      throw err;
    }
  }
  logger.appendKeys({ ticketKey: issueKey });
  if (slotWindow) {
    await store.noteOwnIssue(slotWindow, issueKey).catch((e: unknown) => {
      logger.warn('Could not note the issue in its storm window', { error: e as Error });
    });
  }
  if (!(await store.markOpen(change, token, issueKey, clock.now(), replaces?.issueKey))) {
    logger.error('Claim was taken over before the issue was recorded; the next claimer adopts it by search', {
      issueKey,
    });
  }
  const replacedNote = replaces
    ? `replaces ${replaces.issueKey}, which was deleted or moved${replaces.reason ? ` (${replaces.reason})` : ''}`
    : undefined;
  if (replaces) logger.info('Opened a new issue for an incident whose issue was lost', { replaces: replaces.issueKey });
  if (adopted && previous?.claimChangeId !== change.changeId) {
    const reason = 'adopted the issue of an interrupted earlier attempt';
    return { ...(await comment(change, issueKey, deps, deadline, reason)), openedIncident: true };
  }
  const reasons = [adopted ? 'adopted the issue of an interrupted earlier attempt' : undefined, replacedNote];
  return {
    outcome: 'created',
    issueKey,
    reason: reasons.filter(Boolean).join('; ') || undefined,
    openedIncident: true,
  };
}

async function commentIfOpen(change: AlarmStateChange, deps: ProcessorDeps, deadline: number): Promise<JiraResult> {
  const { store, clock } = deps;
  const observed = await store.observeState(change, clock.now());
  const current = observed.record;
  if (current?.status !== 'OPEN' || !current.issueKey) {
    return { outcome: 'notified', reason: 'no open JIRA issue for this alarm', noIncident: true };
  }
  const note = outOfOrderNote(change, current);
  const umbrella = current.umbrellaWindow;
  const lost = await commentOrLost(change, current.issueKey, deps, deadline, note, umbrella !== undefined);
  if (!lost) return { outcome: 'commented', issueKey: current.issueKey, reason: note, umbrella };
  await store.markLost(change, current.issueKey, lost, clock.now());
  return {
    outcome: 'notified',
    reason: `${current.issueKey} was deleted or moved (${lost}): the next ALARM opens a new issue`,
  };
}
