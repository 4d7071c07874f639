import { randomUUID } from 'node:crypto';
import { stateChangeComment, type ReplacedIssue } from './adf';
import type { Clock } from './clock';
import type { Config } from './config';
import { IncidentBusyError, JiraApiError, errorMessage } from './errors';
import type { AlarmState, AlarmStateChange } from './events';
import { STATE_TIME_ATTRIBUTE, type IncidentRecord, type IncidentStore, type JiraResult } from './incident-store';
import { buildClaimSearchBody, buildCreateIssueBody, type JiraClient } from './jira-client';
import { logger } from './logger';
import type { Notifier, TicketReport } from './notifier';

export type Outcome = 'created' | 'commented' | 'resolved' | 'notified' | 'suppressed' | 'duplicate' | 'ignored';

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
}

export interface ProcessorDeps {
  readonly config: Config;
  readonly store: IncidentStore;
  readonly jira: JiraClient;
  readonly notifier: Notifier;
  readonly clock: Clock;
}

/** Minimum lease of a claim: a holder that has not finished after this is presumed crashed. */
export const CLAIM_LEASE_MS = 60_000;
/** How long a loser of the claim race waits for the winner's issue key. */
export const CLAIM_WAIT_MS = 3_000;
export const CLAIM_POLL_MS = 250;
/** Bound on re-reading an incident that keeps changing under us (each round is a conditional write). */
const MAX_ROUNDS = Math.ceil(CLAIM_WAIT_MS / CLAIM_POLL_MS) + 4;

/**
 * Handles one alarm state change: JIRA (for alarms matching the ticket pattern), then the email, then the
 * idempotency record. A JIRA failure still sends the email, then throws so Lambda's retry / DLQ takes over.
 */
export async function processChange(
  change: AlarmStateChange,
  deps: ProcessorDeps,
  deadline: number,
): Promise<ChangeResult> {
  const { store, clock, notifier } = deps;
  const base = {
    alarmName: change.alarmName,
    accountId: change.accountId,
    eventId: change.eventId,
    changeId: change.changeId,
    newState: change.newState,
  };
  const wantsJira = needsJira(change, deps.config);
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
    return { ...base, outcome: 'duplicate', issueKey: current?.issueKey, reason };
  }
  const earlier = previous?.previous;

  let step: { ok: true; jira: JiraResult } | { ok: false; error: unknown };
  if (!wantsJira.jira) {
    step = { ok: true, jira: { outcome: wantsJira.outcome, reason: wantsJira.reason } };
  } else if (storeError) {
    step = { ok: false, error: storeError };
  } else if (earlier?.jira) {
    step = { ok: true, jira: earlier.jira };
    logger.info('Reusing the JIRA result of an earlier attempt', { ...earlier.jira });
  } else {
    try {
      const jira = await runJira(change, deps, deadline);
      step = { ok: true, jira };
      // Comments are recorded nowhere else: keep the result now, so a crash before the end does not repeat them.
      if (jira.outcome === 'commented' || jira.outcome === 'resolved') {
        await store.recordJira(change.changeId, jira, clock.now()).catch((err: unknown) => {
          logger.warn('Could not record the JIRA result', { error: err as Error });
        });
      }
    } catch (err) {
      step = { ok: false, error: err };
    }
  }
  if (step.ok && step.jira.issueKey) logger.appendKeys({ ticketKey: step.jira.issueKey });

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
    logger.error('Alarm state change failed; Lambda retries it, then the DLQ keeps it', {
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
  return { ...base, outcome: jira.outcome as Outcome, issueKey: jira.issueKey, reason: jira.reason };
}

function needsJira(
  change: AlarmStateChange,
  config: Config,
): { jira: true } | { jira: false; outcome: Outcome; reason: string } {
  if (!config.ticketAlarmPattern.test(change.alarmName)) {
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
  if (jira.issueKey && (jira.outcome === 'created' || jira.outcome === 'commented' || jira.outcome === 'resolved')) {
    return { kind: jira.outcome, issueKey: jira.issueKey, note: jira.reason };
  }
  return { kind: 'none', note: jira.reason ?? 'no JIRA ticket for this state change' };
}

async function runJira(change: AlarmStateChange, deps: ProcessorDeps, deadline: number): Promise<JiraResult> {
  switch (change.newState) {
    case 'ALARM':
      return openOrComment(change, deps, deadline);
    case 'OK':
      return resolve(change, deps, deadline);
    case 'INSUFFICIENT_DATA':
      return commentIfOpen(change, deps, deadline);
  }
}

function iso(ms: number | undefined): string {
  return new Date(ms ?? 0).toISOString();
}

function liveClaim(record: IncidentRecord | undefined, now: number): boolean {
  return record?.status === 'CLAIMED' && (record.leaseUntil ?? 0) >= now;
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

/** Lease of a new claim: past this invocation, plus the search lag (a crash may leave an unanswered create). */
function claimLeaseMs(deps: ProcessorDeps, deadline: number): number {
  return Math.max(CLAIM_LEASE_MS, deadline - deps.clock.now() + Math.max(10_000, deps.config.searchLagMs));
}

async function openOrComment(change: AlarmStateChange, deps: ProcessorDeps, deadline: number): Promise<JiraResult> {
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
      if (current.openedByChangeId === change.changeId) {
        return { outcome: 'created', issueKey, reason: 'issue recorded by an earlier attempt' };
      }
      const lost = await commentOrLost(change, issueKey, deps, deadline, note);
      if (!lost) return { outcome: 'commented', issueKey, reason: note };
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
  if (!issueKey) {
    try {
      issueKey = (await jira.createIssue(buildCreateIssueBody(config, change, token, replaces), deadline)).key;
    } catch (err) {
      // The client never re-posts an unanswered create, and nobody may until a label search can see it.
      const unknown = err instanceof JiraApiError && !err.definitelyNotApplied;
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
    return comment(change, issueKey, deps, deadline, reason);
  }
  const reasons = [adopted ? 'adopted the issue of an interrupted earlier attempt' : undefined, replacedNote];
  return { outcome: 'created', issueKey, reason: reasons.filter(Boolean).join('; ') || undefined };
}

async function release(change: AlarmStateChange, token: string, err: unknown, deps: ProcessorDeps): Promise<void> {
  await deps.store.releaseClaim(change, token, errorMessage(err), deps.clock.now()).catch((e: unknown) => {
    logger.warn('Could not release the claim; it expires with its lease', { error: e as Error });
  });
}

async function comment(
  change: AlarmStateChange,
  issueKey: string,
  deps: ProcessorDeps,
  deadline: number,
  reason: string | undefined,
  note?: string,
): Promise<JiraResult> {
  logger.appendKeys({ ticketKey: issueKey });
  await deps.jira.addComment(issueKey, { body: stateChangeComment(change, note) }, deadline);
  return { outcome: 'commented', issueKey, reason };
}

/**
 * Comments on the issue. Returns why the issue is lost when a person deleted it or moved it out of the
 * project (JIRA answers 404, or 403 when moved where the bot may not comment), confirmed by reading the
 * issue; any other failure throws.
 */
async function commentOrLost(
  change: AlarmStateChange,
  issueKey: string,
  deps: ProcessorDeps,
  deadline: number,
  note: string | undefined,
): Promise<string | undefined> {
  logger.appendKeys({ ticketKey: issueKey });
  try {
    await deps.jira.addComment(issueKey, { body: stateChangeComment(change, note) }, deadline);
    return undefined;
  } catch (err) {
    const lost = await lostIssue(err, issueKey, deps, deadline);
    if (lost === undefined) throw err;
    logger.warn('The incident issue was deleted or moved in JIRA', { issueKey, reason: lost });
    return lost;
  }
}

/**
 * Why the issue no longer belongs to this incident, or undefined when it still does (then the original error
 * stands: e.g. a 403 on an issue still in the project is a permission problem, not a person moving it).
 */
async function lostIssue(
  err: unknown,
  issueKey: string,
  deps: ProcessorDeps,
  deadline: number,
): Promise<string | undefined> {
  if (!(err instanceof JiraApiError) || (err.status !== 404 && err.status !== 403)) return undefined;
  try {
    const issue = await deps.jira.getIssue(issueKey, deadline);
    const project = issue.projectKey ?? issue.key.replace(/-\d+$/, '');
    if (project === deps.config.jiraProjectKey) return undefined;
    return `moved to ${issue.key}; ${err.message}`;
  } catch (check) {
    if (check instanceof JiraApiError && (check.status === 404 || check.status === 403)) return err.message;
    logger.warn('Could not check whether the issue still exists', { issueKey, error: check as Error });
    return undefined;
  }
}

async function resolve(change: AlarmStateChange, deps: ProcessorDeps, deadline: number): Promise<JiraResult> {
  const { store, clock } = deps;
  // First record this OK's time, so an ALARM older than it never opens an issue, even when nothing is open now.
  const observed = await store.observeState(change, clock.now());
  let current = observed.record;
  if (current?.closedByChangeId === change.changeId && current.closedIssueKey) {
    // An earlier attempt of this OK closed the incident but did not finish (or report) its JIRA work.
    if (current.closedIssueLost) return { outcome: 'notified', reason: current.closedIssueLost };
    return resolveIssue(change, current.closedIssueKey, deps, deadline);
  }
  const waitUntil = Math.min(clock.now() + CLAIM_WAIT_MS, deadline);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (liveClaim(current, clock.now())) {
      if (clock.now() + CLAIM_POLL_MS > waitUntil) {
        throw new IncidentBusyError(
          `alarm returned to OK while its issue is still being created (claim of state change ${current?.claimChangeId}); retrying later`,
        );
      }
      await clock.sleep(CLAIM_POLL_MS);
      current = await store.getIncident(change);
      continue;
    }
    const alarmAt = current?.lastAlarmStateAtMs;
    // Equal times: ALARM wins (see README), so an OK must be strictly newer than the newest handled ALARM.
    const stale = alarmAt !== undefined && alarmAt >= change.stateAtMs;
    const older = `this OK (state changed at ${change.timestamp}) is ${alarmAt === change.stateAtMs ? 'as old as' : 'older than'} the ALARM of ${iso(alarmAt)}`;
    if (current?.status === 'OPEN' && current.issueKey) {
      const issueKey = current.issueKey;
      if (stale) {
        const reason = `${older} that is already on the issue: the incident stays open`;
        logger.info('Stale OK: older than the newest handled ALARM', { reason });
        const lost = await commentOrLost(change, issueKey, deps, deadline, reason);
        if (!lost) return { outcome: 'commented', issueKey, reason };
        await store.markLost(change, issueKey, lost, clock.now());
        current = await store.getIncident(change);
        continue;
      }
      // Decide first (conditional on no newer ALARM), then tell JIRA: a racing newer ALARM either sees the
      // incident closed and opens a new issue, or has recorded its time and this close fails.
      if (await store.closeIncident(change, issueKey, clock.now()))
        return resolveIssue(change, issueKey, deps, deadline);
      current = await store.getIncident(change);
      continue;
    }
    if (current?.status === 'LOST' && current.lostIssueKey) {
      const lostKey = current.lostIssueKey;
      if (stale) {
        return {
          outcome: 'notified',
          reason: `${older} that was already handled; ${lostKey} was deleted or moved: the next ALARM opens a new issue`,
        };
      }
      const reason = `${lostKey} was deleted or moved (${current.lostReason ?? 'unknown'}): nothing to resolve; the incident is closed`;
      if (await store.closeLost(change, lostKey, reason, clock.now())) return { outcome: 'notified', reason };
      current = await store.getIncident(change);
      continue;
    }
    const orphaned = current?.status === 'RELEASED' || current?.status === 'CLAIMED';
    if (!stale && orphaned && current?.claimTokens?.size) {
      const result = await resolveOrphans(change, deps, deadline);
      if (result) return result;
      current = await store.getIncident(change);
      continue;
    }
    return { outcome: 'notified', reason: 'no open JIRA issue for this alarm' };
  }
  throw new IncidentBusyError('the incident record kept changing while this OK was handled; retrying later');
}

/**
 * An OK after creates whose outcome was unknown: their issue may exist without being recorded, and would stay
 * open while the alarm is OK. Claim the leftovers, search their labels (their lease covered the search lag),
 * and resolve what is found. Undefined when another invocation got there first.
 */
async function resolveOrphans(
  change: AlarmStateChange,
  deps: ProcessorDeps,
  deadline: number,
): Promise<JiraResult | undefined> {
  const { store, jira, clock, config } = deps;
  const token = randomUUID();
  const claim = await store.claimOrphans(change, token, clock.now(), claimLeaseMs(deps, deadline));
  if (!claim.acquired) return undefined;
  const tokens = [...(claim.previous?.claimTokens ?? [])].slice(0, 20);
  let found: string | undefined;
  try {
    found = (await jira.searchIssueKeys(buildClaimSearchBody(config.jiraProjectKey, tokens), deadline))[0];
  } catch (err) {
    await release(change, token, err, deps);
    throw err;
  }
  if (!(await store.settleOrphans(change, token, new Set(tokens), found, clock.now()))) {
    throw new IncidentBusyError('the claim on unfinished creates was taken over while searching; retrying later');
  }
  if (!found) {
    return {
      outcome: 'notified',
      reason: 'no open JIRA issue for this alarm (no issue of an unanswered create carries its claim label)',
    };
  }
  logger.info('Found the issue of an unanswered create; resolving it', { issueKey: found });
  const result = await resolveIssue(change, found, deps, deadline);
  const note = 'resolved the issue of an unanswered create, found by its claim label';
  return { ...result, reason: result.reason ? `${note}; ${result.reason}` : note };
}

/** The JIRA work of an OK that closed the incident: comment, optional transition. */
async function resolveIssue(
  change: AlarmStateChange,
  issueKey: string,
  deps: ProcessorDeps,
  deadline: number,
): Promise<JiraResult> {
  const transition = deps.config.resolveTransition;
  const note = `The alarm recovered${transition ? `; applying transition '${transition}'` : ''}. The next ALARM opens a new issue.`;
  const lost = await commentOrLost(change, issueKey, deps, deadline, note);
  if (lost) {
    const reason = `${issueKey} was deleted or moved (${lost}): nothing to resolve; the incident is closed`;
    await deps.store.noteClosedIssueLost(change, reason, deps.clock.now()).catch((err: unknown) => {
      logger.warn('Could not note the lost issue', { error: err as Error });
    });
    return { outcome: 'notified', reason };
  }
  const transitionNote = transition ? await applyTransition(issueKey, transition, deps, deadline) : undefined;
  return { outcome: 'resolved', issueKey, reason: transitionNote };
}

/** Best effort: a missing or failing transition is reported, but the incident still closes. */
async function applyTransition(
  issueKey: string,
  wanted: string,
  deps: ProcessorDeps,
  deadline: number,
): Promise<string> {
  try {
    const transitions = await deps.jira.getTransitions(issueKey, deadline);
    const match =
      transitions.find((t) => t.id === wanted) ??
      transitions.find((t) => t.name.toLowerCase() === wanted.toLowerCase());
    if (!match) {
      const available = transitions.map((t) => `${t.name} (${t.id})`).join(', ') || 'none';
      logger.warn('Resolve transition not available for the issue', { wanted, available });
      return `transition '${wanted}' is not available for ${issueKey} (available: ${available})`;
    }
    await deps.jira.transitionIssue(issueKey, { transition: { id: match.id } }, deadline);
    logger.info('Issue transitioned', { transition: match.name, transitionId: match.id });
    return `transitioned with '${match.name}'`;
  } catch (err) {
    logger.error('Resolve transition failed', { error: err as Error, wanted });
    return `transition '${wanted}' failed: ${errorMessage(err)}`;
  }
}

async function commentIfOpen(change: AlarmStateChange, deps: ProcessorDeps, deadline: number): Promise<JiraResult> {
  const { store, clock } = deps;
  const observed = await store.observeState(change, clock.now());
  const current = observed.record;
  if (current?.status !== 'OPEN' || !current.issueKey) {
    return { outcome: 'notified', reason: 'no open JIRA issue for this alarm' };
  }
  const note = outOfOrderNote(change, current);
  const lost = await commentOrLost(change, current.issueKey, deps, deadline, note);
  if (!lost) return { outcome: 'commented', issueKey: current.issueKey, reason: note };
  await store.markLost(change, current.issueKey, lost, clock.now());
  return {
    outcome: 'notified',
    reason: `${current.issueKey} was deleted or moved (${lost}): the next ALARM opens a new issue`,
  };
}
