/**
 * Alarm storms: one incident for one cause. When a shared dependency fails, hundreds of critical alarms go to
 * ALARM at once; hundreds of issues would bury the one that matters. The rule (README, "Alarm storms"):
 *
 * 1. The handler's clock is cut into storm windows of STORM_WINDOW_SECONDS, aligned to the epoch (UTC).
 *    Processing time, not the alarm's state time: it is what bounds the rate of new issues, and a late or
 *    redriven ALARM never reopens a window that has long ended.
 * 2. In a window, the first STORM_MAX_NEW_ISSUES critical ALARMs that open an incident get their own issue
 *    (a slot: a conditional counter on `STORM#<window start>`).
 * 3. Every further one goes to the window's umbrella issue, "Alarm storm: N alarms in M accounts since
 *    <window start>", created once by the first of them (claimed exactly like an alarm's issue: conditional
 *    claim, claim label, search before create, unknown creates held for JIRA's search lag) and commented on by
 *    each later one (alarm, account, region, time, reason). Its summary counts are rewritten after each batch.
 * 4. The alarm's incident is OPEN on the umbrella (`umbrellaWindow`): its repeat ALARMs, INSUFFICIENT_DATA and
 *    OK comment there; the OK closes the alarm's incident, not the umbrella. When every alarm on the umbrella is
 *    OK again and its window has ended, the umbrella gets the resolve transition.
 * 5. The window passing ends the storm: the count starts at 0 again, so new critical ALARMs open their own
 *    issues again (up to the limit), and a storm that goes on gets the next window's umbrella. An umbrella alarm
 *    that goes to ALARM again after its OK is a new incident of the window it happens in.
 */
import { randomUUID } from 'node:crypto';
import type { ReplacedIssue } from './adf';
import { IncidentBusyError, JiraApiError, errorMessage } from './errors';
import type { AlarmStateChange } from './events';
import type { JiraResult, StormWindowRecord } from './incident-store';
import { buildClaimSearchBody, buildUmbrellaIssueBody, umbrellaSummary } from './jira-client';
import {
  applyTransition,
  CLAIM_POLL_MS,
  CLAIM_WAIT_MS,
  claimLeaseMs,
  commentOrLost,
  iso,
  MAX_ROUNDS,
  release,
  type ProcessorDeps,
} from './jira-steps';
import { logger } from './logger';
import { resolveOpsItem } from './opscenter';

export interface StormWindow {
  /** `STORM#<window start ISO>`: the window's item in the incident table. */
  readonly key: string;
  readonly startMs: number;
  readonly endMs: number;
}

export function stormWindowAt(now: number, windowMs: number): StormWindow {
  const startMs = Math.floor(now / windowMs) * windowMs;
  return { key: `STORM#${iso(startMs)}`, startMs, endMs: startMs + windowMs };
}

/** Takes a new-issue slot of the current window; undefined when the window is over its limit (a storm). */
export async function takeIssueSlot(
  change: AlarmStateChange,
  deps: ProcessorDeps,
): Promise<{ window: StormWindow; granted: boolean; record?: StormWindowRecord }> {
  const { store, clock, config } = deps;
  const window = stormWindowAt(clock.now(), config.stormWindowMs);
  const slot = await store.takeIssueSlot(window.key, window, change, config.stormMaxNewIssues, clock.now());
  return { window, granted: slot.granted, record: slot.window };
}

function accountCount(record: StormWindowRecord | undefined): number {
  return record?.accounts?.size ?? 0;
}

/**
 * Puts a critical ALARM over the window's limit on the window's umbrella issue, under the alarm's own claim
 * (`token`): creates the umbrella when there is none (this change is then its first alarm), else comments on it.
 * The alarm's incident is recorded OPEN on the umbrella. A failure releases the alarm's claim (nothing was
 * created with its token) and throws, to be retried like any JIRA failure.
 */
export async function joinStorm(
  change: AlarmStateChange,
  token: string,
  window: StormWindow,
  record: StormWindowRecord | undefined,
  replaces: ReplacedIssue | undefined,
  deps: ProcessorDeps,
  deadline: number,
): Promise<JiraResult> {
  try {
    return await joinUnderClaim(change, token, window, record, replaces, deps, deadline);
  } catch (err) {
    await release(change, token, err, deps);
    throw err;
  }
}

async function joinUnderClaim(
  change: AlarmStateChange,
  token: string,
  window: StormWindow,
  initial: StormWindowRecord | undefined,
  replaces: ReplacedIssue | undefined,
  deps: ProcessorDeps,
  deadline: number,
): Promise<JiraResult> {
  const { store, clock, config } = deps;
  const limit = `${config.stormMaxNewIssues} new issues were already opened in the storm window since ${iso(window.startMs)}`;
  const replaced = replaces ? `; this alarm's earlier issue ${replaces.issueKey} was deleted or moved` : '';
  let current = initial;
  const waitUntil = Math.min(clock.now() + CLAIM_WAIT_MS, deadline);
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (current?.umbrellaStatus === 'OPEN' && current.umbrellaKey) {
      const umbrella = current.umbrellaKey;
      const note = `Added to this alarm storm: ${limit}${replaced}.`;
      const lost = await commentOrLost(change, umbrella, deps, deadline, note, true);
      if (lost) {
        logger.warn('The alarm storm issue was deleted or moved; opening a new one', { umbrella, reason: lost });
        await store.markUmbrellaLost(window.key, umbrella, lost, clock.now());
        current = await store.getStormWindow(window.key);
        continue;
      }
      await openOnUmbrella(change, token, umbrella, window, replaces, deps);
      await store.addUmbrellaMember(window.key, window, change, clock.now()).catch((err: unknown) => {
        logger.warn('Could not count the alarm on the storm issue', { error: err as Error });
      });
      return {
        outcome: 'commented',
        issueKey: umbrella,
        reason: `alarm storm: ${limit}; added to the storm issue ${umbrella}`,
        umbrella: window.key,
      };
    }
    const umbrellaToken = randomUUID();
    const claim = await store.claimUmbrella(
      window.key,
      window,
      umbrellaToken,
      change,
      clock.now(),
      claimLeaseMs(deps, deadline),
    );
    if (claim.acquired) {
      const issueKey = await createUmbrella(change, umbrellaToken, window, claim.previous, deps, deadline);
      await openOnUmbrella(change, token, issueKey, window, replaces, deps);
      await store.addUmbrellaMember(window.key, window, change, clock.now()).catch((err: unknown) => {
        logger.warn('Could not count the alarm on the storm issue', { error: err as Error });
      });
      logger.warn('Alarm storm: opened the umbrella issue of the window', {
        umbrella: issueKey,
        windowStart: iso(window.startMs),
      });
      return {
        outcome: 'created',
        issueKey,
        reason: `alarm storm: ${limit}; opened the storm issue ${issueKey}, which further critical ALARMs of the window join`,
        umbrella: window.key,
        umbrellaCreated: true,
      };
    }
    current = claim.current;
    const live = current?.umbrellaStatus === 'CLAIMED' && (current.umbrellaLeaseUntil ?? 0) >= clock.now();
    if (live) {
      if (clock.now() + CLAIM_POLL_MS > waitUntil) {
        throw new IncidentBusyError(
          `the alarm storm issue of the window since ${iso(window.startMs)} is being created by another invocation ` +
            `(until ${iso(current?.umbrellaLeaseUntil)}); retrying later`,
        );
      }
      await clock.sleep(CLAIM_POLL_MS);
      current = await store.getStormWindow(window.key);
    }
  }
  throw new IncidentBusyError('the storm window kept changing while this ALARM joined it; retrying later');
}

async function openOnUmbrella(
  change: AlarmStateChange,
  token: string,
  umbrella: string,
  window: StormWindow,
  replaces: ReplacedIssue | undefined,
  deps: ProcessorDeps,
): Promise<void> {
  if (!(await deps.store.markOpen(change, token, umbrella, deps.clock.now(), replaces?.issueKey, window.key))) {
    logger.error('Claim was taken over before the storm issue was recorded', { umbrella });
  }
}

/** Creates (or, after an unanswered create, adopts by its claim label) the umbrella issue under its claim. */
async function createUmbrella(
  change: AlarmStateChange,
  token: string,
  window: StormWindow,
  previous: StormWindowRecord | undefined,
  deps: ProcessorDeps,
  deadline: number,
): Promise<string> {
  const { store, jira, clock, config } = deps;
  const orphans = [...(previous?.umbrellaClaimTokens ?? [])].filter((t) => t !== token);
  const alarms = (previous?.alarms ?? 0) + 1;
  const accounts = accountCount(previous) + (previous?.accounts?.has(change.accountId) ? 0 : 1);
  let issueKey: string | undefined;
  try {
    if (orphans.length) {
      issueKey = (
        await jira.searchIssueKeys(buildClaimSearchBody(config.jiraProjectKey, orphans.slice(0, 20)), deadline)
      )[0];
    }
    issueKey ??= (
      await jira.createIssue(
        buildUmbrellaIssueBody(
          config,
          {
            first: change,
            windowStartMs: window.startMs,
            windowEndMs: window.endMs,
            ownIssues: [...(previous?.ownIssues ?? [])],
            alarms,
            accounts,
          },
          token,
        ),
        deadline,
      )
    ).key;
  } catch (err) {
    const unknown = err instanceof JiraApiError && !err.definitelyNotApplied;
    const settle = unknown
      ? store.holdUmbrella(window.key, token, errorMessage(err), clock.now(), clock.now() + config.searchLagMs)
      : store.releaseUmbrella(window.key, token, errorMessage(err), clock.now());
    await settle.catch((e: unknown) => {
      logger.warn('Could not settle the storm issue claim; it expires with its lease', { error: e as Error });
    });
    throw err;
  }
  if (!(await store.markUmbrellaOpen(window.key, token, issueKey, change, { alarms, accounts }, clock.now()))) {
    logger.error('Storm issue claim was taken over before the issue was recorded', { umbrella: issueKey });
  }
  return issueKey;
}

/**
 * Rewrites the umbrella's summary with the window's counts, once per batch that changed them (fewer JIRA
 * requests than once per alarm, exact after the storm's last batch). Best effort: a failure is logged.
 */
export async function refreshUmbrellaSummary(windowKey: string, deps: ProcessorDeps, deadline: number): Promise<void> {
  const { store, jira, clock } = deps;
  try {
    const w = await store.getStormWindow(windowKey);
    if (w?.umbrellaStatus !== 'OPEN' || !w.umbrellaKey || w.windowStartMs === undefined) return;
    const alarms = w.alarms ?? 0;
    const accounts = accountCount(w);
    if ((w.summaryAlarms ?? 0) >= alarms && (w.summaryAccounts ?? 0) >= accounts) return;
    if (!(await store.noteUmbrellaSummary(windowKey, alarms, accounts, clock.now()))) return;
    await jira.editIssue(
      w.umbrellaKey,
      { fields: { summary: umbrellaSummary(alarms, accounts, w.windowStartMs) } },
      deadline,
    );
    logger.info('Storm issue summary updated', { umbrella: w.umbrellaKey, alarms, accounts });
  } catch (err) {
    logger.warn('Could not update the storm issue summary', { windowKey, error: err as Error });
  }
}

/**
 * Counts the OK that closed an alarm's incident on the umbrella; returns the note for its comment. When every
 * alarm on the umbrella is OK again and the window has ended, the umbrella gets the resolve transition.
 */
export async function umbrellaRecovered(
  windowKey: string,
  deps: ProcessorDeps,
): Promise<{ note: string; allRecovered: boolean; windowEnded: boolean }> {
  const w = await deps.store.noteUmbrellaRecovered(windowKey, deps.clock.now()).catch((err: unknown) => {
    logger.warn('Could not count the recovery on the storm issue', { error: err as Error });
    return undefined;
  });
  const members = w?.members ?? 0;
  const recovered = Math.min(w?.recovered ?? 0, members);
  const windowEnded = w?.windowEndMs !== undefined && deps.clock.now() >= w.windowEndMs;
  const allRecovered = members > 0 && recovered >= members;
  const note = w
    ? `This alarm is OK again: ${recovered} of ${members} alarms on this storm issue have recovered.`
    : 'This alarm is OK again.';
  return { note, allRecovered, windowEnded };
}

/**
 * The umbrella's resolve transition, once every alarm on it recovered after its window ended (and its OpsItem, when
 * OpsCenter is on).
 */
export async function resolveUmbrella(
  issueKey: string,
  deps: ProcessorDeps,
  deadline: number,
  windowKey?: string,
): Promise<string> {
  const transition = deps.config.resolveTransition;
  let opsNote = '';
  if (deps.opsCenter && windowKey) {
    const w = await deps.store.getStormWindow(windowKey).catch(() => undefined);
    opsNote = await resolveOpsItem(w?.umbrellaOpsItemId, deps);
  }
  const ops = opsNote ? `; ${opsNote}` : '';
  if (!transition) return `every alarm of the storm has recovered${ops}`;
  const note = await applyTransition(issueKey, transition, deps, deadline);
  return `every alarm of the storm has recovered; ${note}${ops}`;
}
