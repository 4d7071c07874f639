/**
 * JIRA steps shared by the per-alarm incident lifecycle (processor.ts) and the alarm-storm umbrella (storm.ts):
 * comment (telling a deleted or moved issue from a failure), release a claim, apply a transition.
 */
import { stateChangeComment, stormComment, type AdfDoc } from './adf';
import type { Clock } from './clock';
import type { Config } from './config';
import { JiraApiError, JiraRateLimitedError, errorMessage } from './errors';
import type { AlarmStateChange } from './events';
import type { IncidentRecord, IncidentStore, JiraResult } from './incident-store';
import type { JiraClient } from './jira-client';
import { logger } from './logger';
import type { Notifier } from './notifier';
import type { OpsCenter } from './opscenter';
import type { Queues } from './queues';

export interface ProcessorDeps {
  readonly config: Config;
  readonly store: IncidentStore;
  readonly jira: JiraClient;
  readonly notifier: Notifier;
  readonly clock: Clock;
  /** SQS: the digest, dead letters and the delayed resolve messages to the buffer. */
  readonly queues: Queues;
  /** Systems Manager OpsCenter, when OPSCENTER_ENABLED. */
  readonly opsCenter?: OpsCenter;
}

/** Minimum lease of a claim: a holder that has not finished after this is presumed crashed. */
export const CLAIM_LEASE_MS = 60_000;
/** How long a loser of the claim race waits for the winner's issue key. */
export const CLAIM_WAIT_MS = 3_000;
export const CLAIM_POLL_MS = 250;
/** Bound on re-reading a record that keeps changing under us (each round is a conditional write). */
export const MAX_ROUNDS = Math.ceil(CLAIM_WAIT_MS / CLAIM_POLL_MS) + 4;

export function iso(ms: number | undefined): string {
  return new Date(ms ?? 0).toISOString();
}

export function liveClaim(record: IncidentRecord | undefined, now: number): boolean {
  return record?.status === 'CLAIMED' && (record.leaseUntil ?? 0) >= now;
}

/** Lease of a new claim: past this invocation, plus the search lag (a crash may leave an unanswered create). */
export function claimLeaseMs(deps: ProcessorDeps, deadline: number): number {
  return Math.max(CLAIM_LEASE_MS, deadline - deps.clock.now() + Math.max(10_000, deps.config.searchLagMs));
}

export async function release(
  change: AlarmStateChange,
  token: string,
  err: unknown,
  deps: ProcessorDeps,
): Promise<void> {
  await deps.store.releaseClaim(change, token, errorMessage(err), deps.clock.now()).catch((e: unknown) => {
    logger.warn('Could not release the claim; it expires with its lease', { error: e as Error });
  });
}

/** The comment of a state change: on an umbrella issue it names the alarm and account (many alarms share it). */
function commentBody(change: AlarmStateChange, deps: ProcessorDeps, note: string | undefined, onUmbrella: boolean) {
  return onUmbrella
    ? stormComment(change, deps.config.accountNames[change.accountId], note)
    : stateChangeComment(change, note);
}

export async function comment(
  change: AlarmStateChange,
  issueKey: string,
  deps: ProcessorDeps,
  deadline: number,
  reason: string | undefined,
  note?: string,
): Promise<JiraResult> {
  logger.appendKeys({ ticketKey: issueKey });
  await deps.jira.addComment(issueKey, { body: commentBody(change, deps, note, false) }, deadline);
  return { outcome: 'commented', issueKey, reason };
}

/**
 * Comments on the issue. Returns why the issue is lost when a person deleted it or moved it out of the
 * project (JIRA answers 404, or 403 when moved where the bot may not comment), confirmed by reading the
 * issue; any other failure throws.
 */
export async function commentOrLost(
  change: AlarmStateChange,
  issueKey: string,
  deps: ProcessorDeps,
  deadline: number,
  note: string | undefined,
  onUmbrella = false,
): Promise<string | undefined> {
  return commentDocOrLost(issueKey, commentBody(change, deps, note, onUmbrella), deps, deadline);
}

/** `commentOrLost` with a prepared comment document. */
export async function commentDocOrLost(
  issueKey: string,
  body: AdfDoc,
  deps: ProcessorDeps,
  deadline: number,
): Promise<string | undefined> {
  logger.appendKeys({ ticketKey: issueKey });
  try {
    await deps.jira.addComment(issueKey, { body }, deadline);
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

/**
 * Best effort: a missing or failing transition is reported, but the incident still closes. A rate limit that
 * outlasts the invocation is reported the same way (retrying the OK would repeat its comment).
 */
export async function applyTransition(
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
    logger.error('Resolve transition failed', {
      error: err as Error,
      wanted,
      rateLimited: err instanceof JiraRateLimitedError,
    });
    return `transition '${wanted}' failed: ${errorMessage(err)}`;
  }
}
