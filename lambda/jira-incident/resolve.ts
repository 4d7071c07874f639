/**
 * An alarm's OK: closing its incident and resolving its issue (README "Late, repeated and reordered events" and
 * "Resolve grace period").
 *
 * With a grace period (RESOLVE_GRACE_SECONDS > 0 and BUFFER_QUEUE_URL set), an OK that would resolve the open incident
 * only comments (and is emailed at once), records the pending resolve on the `ALARM#` item and sends a delayed message
 * to the buffer queue. When that message comes back (`resolveAfterGrace`), the incident is resolved only if no newer
 * ALARM was handled since the OK and it is still the same open incident; otherwise it is a no-op with the reason
 * (a flap: the newer ALARM commented on the still-open issue). Without one, the OK resolves at once.
 */
import { randomUUID } from 'node:crypto';
import { noteComment } from './adf';
import { IncidentBusyError } from './errors';
import { PRODUCT_EVENT_SOURCE, RESOLVE_DUE, type AlarmStateChange, type ResolveDueEvent } from './events';
import type { ChangeRef, IncidentRecord, JiraResult } from './incident-store';
import { buildClaimSearchBody } from './jira-client';
import {
  applyTransition,
  CLAIM_POLL_MS,
  CLAIM_WAIT_MS,
  claimLeaseMs,
  commentDocOrLost,
  commentOrLost,
  iso,
  liveClaim,
  MAX_ROUNDS,
  release,
  type ProcessorDeps,
} from './jira-steps';
import { logger } from './logger';
import { resolveOpsItem } from './opscenter';
import { resolveUmbrella, umbrellaRecovered } from './storm';
import { accountLabel } from './text';
import type { Config } from './config';

/** Whether OKs wait out a grace period before resolving (a delayed message needs the buffer queue). */
export function graceEnabled(config: Config): boolean {
  return config.resolveGraceSeconds > 0 && config.bufferQueueUrl !== undefined;
}

function duration(seconds: number): string {
  return seconds % 60 === 0 ? `${seconds / 60} minute${seconds === 60 ? '' : 's'}` : `${seconds} s`;
}

function joinNotes(...notes: (string | undefined)[]): string | undefined {
  return notes.filter(Boolean).join('; ') || undefined;
}

export async function resolve(change: AlarmStateChange, deps: ProcessorDeps, deadline: number): Promise<JiraResult> {
  const { store, clock } = deps;
  // First record this OK's time, so an ALARM older than it never opens an issue, even when nothing is open now.
  const observed = await store.observeState(change, clock.now());
  let current = observed.record;
  if (current?.closedByChangeId === change.changeId && current.closedIssueKey) {
    // An earlier attempt of this OK closed the incident but did not finish (or report) its JIRA work.
    if (current.closedIssueLost) return { outcome: 'notified', reason: current.closedIssueLost };
    if (current.closedAfterGraceAt) {
      // Its delayed resolve closed the incident already (this is a late retry of the OK): nothing more to do.
      return {
        outcome: 'resolved',
        issueKey: current.closedIssueKey,
        reason: `resolved after the grace period, at ${current.closedAfterGraceAt}`,
        umbrella: current.umbrellaWindow,
      };
    }
    return resolveIssue(
      change,
      current.closedIssueKey,
      deps,
      deadline,
      current.umbrellaWindow,
      false,
      current.closedOpsItemId,
    );
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
        const umbrella = current.umbrellaWindow;
        const lost = await commentOrLost(change, issueKey, deps, deadline, reason, umbrella !== undefined);
        if (!lost) return { outcome: 'commented', issueKey, reason, umbrella };
        await store.markLost(change, issueKey, lost, clock.now());
        current = await store.getIncident(change);
        continue;
      }
      if (graceEnabled(deps.config)) {
        const pendingAt = current.pendingResolveStateAtMs;
        if (pendingAt !== undefined && pendingAt > change.stateAtMs) {
          // A late OK: a newer OK's resolve is already waiting out the grace period (it decides).
          return {
            outcome: 'notified',
            issueKey,
            reason:
              `this OK (state changed at ${change.timestamp}) is older than the OK of ${iso(pendingAt)} whose ` +
              `resolve is already pending (due at ${current.pendingResolveDueAt ?? '?'})`,
            umbrella: current.umbrellaWindow,
          };
        }
        const pending = await startGrace(change, current, deps, deadline);
        if (pending) return pending;
        current = await store.getIncident(change);
        continue;
      }
      // Decide first (conditional on no newer ALARM), then tell JIRA: a racing newer ALARM either sees the
      // incident closed and opens a new issue, or has recorded its time and this close fails.
      if (await store.closeIncident(change, issueKey, clock.now(), { opsItemId: current.opsItemId }))
        return resolveIssue(change, issueKey, deps, deadline, current.umbrellaWindow, true, current.opsItemId);
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
      if (await store.closeLost(change, lostKey, reason, clock.now(), current.opsItemId)) {
        return { outcome: 'notified', reason: joinNotes(reason, await resolveOpsItem(current.opsItemId, deps)) };
      }
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
    return { outcome: 'notified', reason: 'no open JIRA issue for this alarm', noIncident: true };
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

/**
 * The JIRA work of an OK that closed the incident: comment, optional transition. On a storm's umbrella issue
 * the comment names the alarm and counts the recoveries, and only the last recovery (after the window) may
 * transition the umbrella. `firstClose`: this attempt closed the incident (a retry must not count again).
 */
async function resolveIssue(
  change: AlarmStateChange,
  issueKey: string,
  deps: ProcessorDeps,
  deadline: number,
  umbrella?: string,
  firstClose = true,
  opsItemId?: string,
): Promise<JiraResult> {
  if (umbrella) {
    const recovery = firstClose ? await umbrellaRecovered(umbrella, deps) : undefined;
    const lost = await commentOrLost(
      change,
      issueKey,
      deps,
      deadline,
      recovery?.note ?? 'This alarm is OK again.',
      true,
    );
    if (lost)
      return {
        outcome: 'notified',
        reason: `${issueKey} was deleted or moved (${lost}): nothing to resolve; the incident is closed`,
        umbrella,
      };
    const done =
      recovery?.allRecovered && recovery.windowEnded
        ? await resolveUmbrella(issueKey, deps, deadline, umbrella)
        : undefined;
    return {
      outcome: 'resolved',
      issueKey,
      reason: [recovery?.note, done].filter(Boolean).join('; ') || undefined,
      umbrella,
    };
  }
  const transition = deps.config.resolveTransition;
  const note = `The alarm recovered${transition ? `; applying transition '${transition}'` : ''}. The next ALARM opens a new issue.`;
  const lost = await commentOrLost(change, issueKey, deps, deadline, note);
  if (lost) {
    const reason = `${issueKey} was deleted or moved (${lost}): nothing to resolve; the incident is closed`;
    await deps.store.noteClosedIssueLost(change, reason, deps.clock.now()).catch((err: unknown) => {
      logger.warn('Could not note the lost issue', { error: err as Error });
    });
    return { outcome: 'notified', reason: joinNotes(reason, await resolveOpsItem(opsItemId, deps)) };
  }
  const transitionNote = transition ? await applyTransition(issueKey, transition, deps, deadline) : undefined;
  return { outcome: 'resolved', issueKey, reason: joinNotes(transitionNote, await resolveOpsItem(opsItemId, deps)) };
}

// --- The resolve grace period ---

/** The delayed message that brings an OK back when its grace period has passed (parsed by events.ts). */
export function resolveDueMessage(
  change: AlarmStateChange,
  issueKey: string,
  umbrella: string | undefined,
  dueAtMs: number,
  graceSeconds: number,
  now: number,
): Record<string, unknown> {
  return {
    version: '0',
    id: `resolve-due-${randomUUID()}`,
    'detail-type': RESOLVE_DUE,
    source: PRODUCT_EVENT_SOURCE,
    time: iso(now),
    resources: [change.alarmArn],
    detail: {
      accountId: change.accountId,
      region: change.region,
      alarmName: change.alarmName,
      alarmArn: change.alarmArn,
      changeId: change.changeId,
      stateAt: change.timestamp,
      stateAtMs: change.stateAtMs,
      issueKey,
      umbrella,
      dueAt: iso(dueAtMs),
      graceSeconds,
    },
  };
}

/**
 * An OK that would resolve the open incident, with a grace period: records the pending resolve (idempotent), sends
 * the delayed message, then comments. Undefined when the incident changed under it (the caller reads it again).
 * The message goes before the comment: a retry may send it twice (the resolve is idempotent), never comment twice
 * for want of it.
 */
async function startGrace(
  change: AlarmStateChange,
  current: IncidentRecord,
  deps: ProcessorDeps,
  deadline: number,
): Promise<JiraResult | undefined> {
  const { store, clock, config, queues } = deps;
  const issueKey = current.issueKey!;
  const umbrella = current.umbrellaWindow;
  const grace = config.resolveGraceSeconds;
  const dueAtMs = clock.now() + grace * 1000;
  if (!(await store.markPendingResolve(change, issueKey, dueAtMs, clock.now()))) return undefined;
  await queues.sendDelayed(
    config.bufferQueueUrl!,
    resolveDueMessage(change, issueKey, umbrella, dueAtMs, grace, clock.now()),
    grace,
  );
  const due = iso(dueAtMs);
  const note = umbrella
    ? `This alarm is OK again. It counts as recovered on this storm issue after a grace period of ${duration(grace)} ` +
      `(at ${due}) unless it goes back to ALARM first.`
    : `The alarm is OK again. ${issueKey} is resolved after a grace period of ${duration(grace)} (at ${due}) unless ` +
      'the alarm goes back to ALARM first: a flapping alarm keeps this one issue.';
  logger.info('OK: resolve pending for the grace period', { issueKey, dueAt: due, graceSeconds: grace });
  const lost = await commentOrLost(change, issueKey, deps, deadline, note, umbrella !== undefined);
  if (!lost) {
    const reason = umbrella
      ? `counts as recovered on the storm issue at ${due} unless the alarm goes back to ALARM first`
      : `resolved after the grace period, at ${due}, unless the alarm goes back to ALARM first`;
    return { outcome: 'commented', issueKey, reason, umbrella, resolveDueAt: due };
  }
  // A person deleted or moved the issue: nothing to wait for. Close now (the delayed message then finds it closed).
  const reason = `${issueKey} was deleted or moved (${lost}): nothing to resolve; the incident is closed`;
  if (await store.closeIncident(change, issueKey, clock.now(), { opsItemId: current.opsItemId })) {
    if (umbrella) await umbrellaRecovered(umbrella, deps);
    else {
      await store.noteClosedIssueLost(change, reason, clock.now()).catch((err: unknown) => {
        logger.warn('Could not note the lost issue', { error: err as Error });
      });
    }
    return { outcome: 'notified', reason: joinNotes(reason, await resolveOpsItem(current.opsItemId, deps)), umbrella };
  }
  return undefined;
}

/**
 * A newer ALARM of an incident whose resolve is pending (a flap within the grace period): the pending resolve is
 * cancelled; returns the note for the ALARM's comment, or undefined when nothing was pending for an older OK.
 */
export async function flapNote(
  change: AlarmStateChange,
  record: IncidentRecord | undefined,
  deps: ProcessorDeps,
): Promise<string | undefined> {
  const pending = record?.pendingResolveChangeId;
  const okAt = record?.pendingResolveStateAtMs;
  if (!pending || okAt === undefined || okAt >= change.stateAtMs) return undefined;
  await deps.store.cancelPendingResolve(change, pending, deps.clock.now()).catch((err: unknown) => {
    // The delayed resolve sees this ALARM's time anyway and does nothing.
    logger.warn('Could not cancel the pending resolve', { error: err as Error });
  });
  logger.info('Flap: ALARM within the grace period after an OK; the issue stays open', { okAt: iso(okAt) });
  return (
    `The alarm is flapping: it went back to ALARM within the grace period after its OK of ${iso(okAt)} ` +
    `(the resolve was due at ${record?.pendingResolveDueAt ?? '?'}). The issue stays open and is not resolved.`
  );
}

export interface GraceResult {
  readonly outcome: 'resolved' | 'noop';
  readonly reason?: string;
  readonly issueKey?: string;
  readonly umbrella?: string;
}

/** Why the delayed resolve must do nothing, or undefined when it resolves. */
function whyNot(event: ResolveDueEvent, current: IncidentRecord | undefined): string | undefined {
  const ok = `the OK of ${event.stateAt}`;
  const alarmAt = current?.lastAlarmStateAtMs;
  if (alarmAt !== undefined && alarmAt >= event.stateAtMs) {
    return (
      `flap: the alarm went back to ALARM at ${iso(alarmAt)}, within the grace period after ${ok}; ` +
      `${current?.issueKey ?? event.issueKey} stays open`
    );
  }
  if (current?.status !== 'OPEN' || current.issueKey !== event.issueKey) {
    return `the incident of ${ok} is no longer open with ${event.issueKey} (now ${current?.status ?? 'no incident'}${current?.issueKey ? ` ${current.issueKey}` : ''})`;
  }
  if (current.pendingResolveChangeId !== event.changeId) {
    return current.pendingResolveChangeId
      ? `superseded by the pending resolve of the OK of ${iso(current.pendingResolveStateAtMs)}`
      : `the pending resolve of ${ok} was cancelled`;
  }
  return undefined;
}

/**
 * The delayed message of an OK came back: resolve (close, comment, JIRA_RESOLVE_TRANSITION, OpsItem) if no newer
 * ALARM was handled since the OK and the incident is still the same open one; else nothing, with the reason.
 * Idempotent: the close is conditional, and a redelivery after it finishes only the JIRA work not yet done.
 */
export async function resolveAfterGrace(
  event: ResolveDueEvent,
  deps: ProcessorDeps,
  deadline: number,
): Promise<GraceResult> {
  const { store, clock } = deps;
  const ref: ChangeRef = {
    accountId: event.accountId,
    region: event.region,
    alarmName: event.alarmName,
    changeId: event.changeId,
    stateAtMs: event.stateAtMs,
  };
  for (let round = 0; round < 3; round++) {
    const current = await store.getIncident(ref);
    if (current?.closedByChangeId === event.changeId && current.closedAfterGraceAt) {
      if (current.graceResolvedChangeId === event.changeId) {
        return { outcome: 'noop', reason: 'already resolved by an earlier delivery of this message' };
      }
      return finishGrace(event, ref, current.closedIssueKey ?? event.issueKey, current, false, deps, deadline);
    }
    const why = whyNot(event, current);
    if (why) return { outcome: 'noop', reason: why, issueKey: current?.issueKey ?? event.issueKey };
    if (
      await store.closeIncident(ref, event.issueKey, clock.now(), { afterGrace: true, opsItemId: current!.opsItemId })
    )
      return finishGrace(event, ref, event.issueKey, current!, true, deps, deadline);
  }
  throw new IncidentBusyError('the incident record kept changing while its delayed resolve ran; retrying later');
}

async function finishGrace(
  event: ResolveDueEvent,
  ref: ChangeRef,
  issueKey: string,
  record: IncidentRecord,
  firstClose: boolean,
  deps: ProcessorDeps,
  deadline: number,
): Promise<GraceResult> {
  const { store, clock, config } = deps;
  const umbrella = record.umbrellaWindow;
  const grace = duration(event.graceSeconds);
  let reason: string | undefined;
  if (umbrella) {
    const recovery = firstClose ? await umbrellaRecovered(umbrella, deps) : undefined;
    const who = `${event.alarmName} in account ${accountLabel(event.accountId, config.accountNames[event.accountId])}, ${event.region}`;
    const lost = await commentDocOrLost(
      issueKey,
      noteComment(
        `${who}: stayed OK through the grace period (${grace}) after its OK of ${event.stateAt}.`,
        recovery?.note,
      ),
      deps,
      deadline,
    );
    const done =
      !lost && recovery?.allRecovered && recovery.windowEnded
        ? await resolveUmbrella(issueKey, deps, deadline, umbrella)
        : undefined;
    reason = lost ? `${issueKey} was deleted or moved (${lost}): nothing to resolve` : joinNotes(recovery?.note, done);
  } else {
    const transition = config.resolveTransition;
    const lost = await commentDocOrLost(
      issueKey,
      noteComment(
        `Resolved: the alarm stayed OK through the grace period (${grace}) after its OK of ${event.stateAt}.`,
        transition ? `Applying transition '${transition}'.` : undefined,
        'The next ALARM opens a new issue.',
      ),
      deps,
      deadline,
    );
    if (lost) {
      reason = `${issueKey} was deleted or moved (${lost}): nothing to resolve; the incident is closed`;
      await store.noteClosedIssueLost(ref, reason, clock.now()).catch(() => undefined);
    } else if (transition) {
      reason = await applyTransition(issueKey, transition, deps, deadline);
    }
    reason = joinNotes(reason, await resolveOpsItem(record.closedOpsItemId ?? record.opsItemId, deps));
  }
  await store.noteGraceResolved(ref, clock.now()).catch((err: unknown) => {
    logger.warn('Could not note the delayed resolve done; a redelivery repeats its comment', { error: err as Error });
  });
  logger.info('Resolved after the grace period', { issueKey, okAt: event.stateAt, umbrella, reason });
  return { outcome: 'resolved', issueKey, reason, umbrella };
}
