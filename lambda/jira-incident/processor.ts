import { randomUUID } from 'node:crypto';
import { stateChangeComment } from './adf';
import type { Clock } from './clock';
import type { Config } from './config';
import { IncidentBusyError, JiraApiError, errorMessage } from './errors';
import type { AlarmStateChange } from './events';
import type { IncidentRecord, IncidentStore, JiraResult } from './incident-store';
import { buildClaimSearchBody, buildCreateIssueBody, type JiraClient } from './jira-client';
import { logger } from './logger';
import type { Notifier, TicketReport } from './notifier';

export type Outcome = 'created' | 'commented' | 'resolved' | 'notified' | 'suppressed' | 'duplicate' | 'ignored';

/** Result of one state change (or of an ignored event). */
export interface ChangeResult {
  readonly outcome: Outcome;
  readonly alarmName?: string;
  readonly accountId?: string;
  readonly eventId?: string;
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
    newState: change.newState,
  };
  const wantsJira = needsJira(change, deps.config);
  // The record's lease outlives this invocation, so a concurrent redelivery never runs it twice.
  const leaseMs = Math.max(CLAIM_LEASE_MS, deadline - clock.now() + 10_000);

  let previous: Awaited<ReturnType<IncidentStore['beginEvent']>> | undefined;
  let storeError: unknown;
  try {
    previous = await store.beginEvent(change, clock.now(), leaseMs);
  } catch (err) {
    storeError = err;
    logger.error('Incident table unavailable for the idempotency record', { error: err as Error });
  }
  if (previous && !previous.started) {
    const current = previous.current;
    const reason =
      current?.status === 'DONE'
        ? `event ${change.eventId} was already processed`
        : `event ${change.eventId} is being processed by another invocation`;
    logger.info('Duplicate delivery', { reason, status: current?.status });
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
      step = { ok: true, jira: await runJira(change, deps, deadline) };
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
        .failEvent(change.eventId, errorMessage(failure), emailSent, clock.now(), jira)
        .catch((err: unknown) => {
          logger.warn('Could not mark the event failed', { error: err as Error });
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
    await store.finishEvent(change.eventId, jira, emailSent, clock.now()).catch((err: unknown) => {
      logger.warn('Could not mark the event done', { error: err as Error });
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

async function openOrComment(change: AlarmStateChange, deps: ProcessorDeps, deadline: number): Promise<JiraResult> {
  const { store, clock } = deps;
  const waitUntil = Math.min(clock.now() + CLAIM_WAIT_MS, deadline);
  for (;;) {
    const token = randomUUID();
    const leaseMs = Math.max(CLAIM_LEASE_MS, deadline - clock.now() + 10_000);
    const claim = await store.claimIncident(change, token, clock.now(), leaseMs);
    if (claim.acquired) return createUnderClaim(change, token, claim.previous, deps, deadline);

    const current = claim.current;
    if (current?.status === 'CLOSED') {
      // Only a stale ALARM loses against a CLOSED incident: it happened before the OK that resolved it.
      const reason = `this ALARM (state changed at ${change.timestamp}) is older than the OK (${new Date(current.closedStateAtMs ?? 0).toISOString()}) that resolved ${current.issueKey ?? 'the incident'}: no new issue`;
      logger.info('Stale ALARM delivered after the OK that followed it', { reason });
      return { outcome: 'notified', reason };
    }
    if (current?.status === 'OPEN' && current.issueKey) {
      if (current.openedByEventId === change.eventId) {
        return { outcome: 'created', issueKey: current.issueKey, reason: 'issue recorded by an earlier attempt' };
      }
      return comment(change, current.issueKey, current, deps, deadline, undefined);
    }
    if (clock.now() + CLAIM_POLL_MS > waitUntil) {
      const reason = `another invocation (event ${current?.claimEventId ?? '?'}) holds the claim to create this alarm's issue`;
      logger.info('Lost the claim race; the winner creates the issue', { reason });
      return { outcome: 'duplicate', reason };
    }
    logger.debug('Issue being created by another invocation; waiting', { claimEventId: current?.claimEventId });
    await clock.sleep(CLAIM_POLL_MS);
  }
}

async function createUnderClaim(
  change: AlarmStateChange,
  token: string,
  previous: IncidentRecord | undefined,
  deps: ProcessorDeps,
  deadline: number,
): Promise<JiraResult> {
  const { store, jira, clock, config } = deps;
  // Tokens of earlier claims that never recorded an issue: their create may have reached JIRA anyway.
  const orphans =
    previous && previous.status !== 'CLOSED' ? [...(previous.claimTokens ?? [])].filter((t) => t !== token) : [];
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
    issueKey ??= (await jira.createIssue(buildCreateIssueBody(config, change, token), deadline)).key;
  } catch (err) {
    const certain = err instanceof JiraApiError && err.definitelyNotApplied;
    await store.releaseClaim(change, token, certain, errorMessage(err), clock.now()).catch((e: unknown) => {
      logger.warn('Could not release the claim; it expires with its lease', { error: e as Error });
    });
    throw err;
  }
  logger.appendKeys({ ticketKey: issueKey });
  if (!(await store.markOpen(change, token, issueKey, clock.now()))) {
    logger.error('Claim was taken over before the issue was recorded; the next claimer adopts it by search', {
      issueKey,
    });
  }
  if (adopted && previous?.claimEventId !== change.eventId) {
    return comment(change, issueKey, undefined, deps, deadline, 'adopted the issue of an interrupted earlier attempt');
  }
  return {
    outcome: 'created',
    issueKey,
    reason: adopted ? 'adopted the issue of an interrupted earlier attempt' : undefined,
  };
}

async function comment(
  change: AlarmStateChange,
  issueKey: string,
  current: IncidentRecord | undefined,
  deps: ProcessorDeps,
  deadline: number,
  reason: string | undefined,
  note?: string,
): Promise<JiraResult> {
  logger.appendKeys({ ticketKey: issueKey });
  if (current?.lastEventId === change.eventId) {
    return { outcome: 'commented', issueKey, reason: 'comment added by an earlier attempt' };
  }
  await deps.jira.addComment(issueKey, { body: stateChangeComment(change, note) }, deadline);
  await deps.store.recordComment(change, issueKey, deps.clock.now()).catch((err: unknown) => {
    logger.warn('Could not record the comment', { error: err as Error });
  });
  return { outcome: 'commented', issueKey, reason };
}

/** Waits (briefly) while another invocation holds a live claim, then returns the incident. */
async function settledIncident(change: AlarmStateChange, deps: ProcessorDeps, deadline: number) {
  const { store, clock } = deps;
  const waitUntil = Math.min(clock.now() + CLAIM_WAIT_MS, deadline);
  for (;;) {
    const current = await store.getIncident(change);
    const live = current?.status === 'CLAIMED' && (current.leaseUntil ?? 0) >= clock.now();
    if (!live || clock.now() + CLAIM_POLL_MS > waitUntil) return current;
    await clock.sleep(CLAIM_POLL_MS);
  }
}

async function resolve(change: AlarmStateChange, deps: ProcessorDeps, deadline: number): Promise<JiraResult> {
  const current = await settledIncident(change, deps, deadline);
  if (current?.status === 'CLOSED' && current.closedByEventId === change.eventId && current.issueKey) {
    return { outcome: 'resolved', issueKey: current.issueKey, reason: 'resolved by an earlier attempt' };
  }
  if (current?.status === 'CLAIMED' && (current.leaseUntil ?? 0) >= deps.clock.now()) {
    throw new IncidentBusyError(
      `alarm returned to OK while its issue is still being created (claim of event ${current.claimEventId}); retrying later`,
    );
  }
  if (current?.status !== 'OPEN' || !current.issueKey) {
    return { outcome: 'notified', reason: 'no open JIRA issue for this alarm' };
  }
  const issueKey = current.issueKey;
  const transition = deps.config.resolveTransition;
  const note = `The alarm recovered${transition ? `; applying transition '${transition}'` : ''}. The next ALARM opens a new issue.`;
  await comment(change, issueKey, current, deps, deadline, undefined, note);
  const transitionNote = transition ? await applyTransition(issueKey, transition, deps, deadline) : undefined;
  if (!(await deps.store.closeIncident(change, issueKey, deps.clock.now()))) {
    logger.warn('Incident was no longer open when closing it', { issueKey });
  }
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
  const current = await deps.store.getIncident(change);
  if (current?.status !== 'OPEN' || !current.issueKey) {
    return { outcome: 'notified', reason: 'no open JIRA issue for this alarm' };
  }
  return comment(change, current.issueKey, current, deps, deadline, undefined);
}
