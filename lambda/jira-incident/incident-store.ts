/**
 * DynamoDB incident table (partition key `pk` only, TTL attribute `expiresAt`). Two kinds of item:
 *
 * `ALARM#<accountId>#<region>#<alarmName>`: one alarm. It holds the newest state time handled per state
 *   (`lastAlarmStateAtMs`, `lastOkStateAtMs`, `lastInsufficientStateAtMs`; epoch ms of the alarm's own
 *   `state.timestamp`), which only ever grow (conditional writes, so racing invocations cannot regress them),
 *   and the incident: `status` (none) | CLOSED | RELEASED | LOST -> CLAIMED -> OPEN -> CLOSED | LOST.
 *   The CLAIMED write is conditional and happens before JIRA is called, so only one invocation creates the
 *   issue; it also refuses an ALARM older than the newest handled OK. `claimTokens` holds the tokens of
 *   claims that have not yet produced a recorded issue; each created issue carries its token as a label,
 *   so a takeover finds (by search) an issue that a crashed or unanswered attempt did create. LOST: a person
 *   deleted or moved the issue (`lostIssueKey`, `lostReason`); the next ALARM opens a new one naming it.
 * `CHANGE#<changeId>`: idempotency of one state change, whichever path delivered it (EventBridge, SNS, Lambda
 *   alarm action): IN_PROGRESS -> DONE | FAILED | DIGEST (JIRA done, its email handed to the digest) -> DONE,
 *   with the JIRA result and whether the email went out (`digestId` when it went out in a digest), so a
 *   redelivery, another path's copy or a retry neither repeats JIRA work nor re-sends the email. The
 *   delivery ids are kept (`deliveryIds`, `lastDeliveryId`) for tracing.
 * `STORM#<window start>`: one storm window (alarm storms, see storm.ts): new issues opened in it, its alarms and
 *   accounts, and its umbrella issue (claimed like an alarm's issue, so it is created once).
 * `PIPELINE#jira-cool-down`: until when JIRA rate-limits the pipeline (the latest Retry-After any invocation got).
 * `MAINT#<window>#<occurrence end>`: one occurrence of a maintenance window: the alarms it muted (maintenance.ts).
 * `HEARTBEAT#alert-path`: the last alert-path heartbeat's success and failure (heartbeat.ts).
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AlarmState, AlarmStateChange } from './events';
import { awsCall, AwsCallError } from './errors';

export type IncidentStatus = 'CLAIMED' | 'OPEN' | 'RELEASED' | 'CLOSED' | 'LOST';
export type ChangeStatus = 'IN_PROGRESS' | 'DONE' | 'FAILED' | 'DIGEST';
/** What the last email of a state change reported: the final result, a JIRA failure, or its digest entry. */
export type EmailReport = 'final' | 'failure' | 'digest';

export interface JiraResult {
  readonly outcome: string;
  readonly issueKey?: string;
  readonly reason?: string;
  /** The alarm has no open incident (nothing to resolve or comment on). */
  readonly noIncident?: boolean;
  /** The storm window (`STORM#...`) whose umbrella issue got this change. */
  readonly umbrella?: string;
  /** This change created that umbrella issue. */
  readonly umbrellaCreated?: boolean;
  /** An OK whose resolve waits for the grace period: when it is due (ISO). */
  readonly resolveDueAt?: string;
  /** A critical ALARM muted by a maintenance window: which, and until when (ISO). */
  readonly maintenance?: { readonly window: string; readonly until: string };
  /** The OpsCenter OpsItem of the incident (OPSCENTER_ENABLED). */
  readonly opsItemId?: string;
  /** This change opened (or finished opening) the alarm's incident on its own issue. */
  readonly openedIncident?: boolean;
}

/** What identifies an alarm and one of its state changes (the incident item's key and the ordering). */
export type ChangeRef = Pick<AlarmStateChange, 'accountId' | 'region' | 'alarmName' | 'changeId' | 'stateAtMs'>;

export interface IncidentRecord {
  readonly pk: string;
  /** Absent while the alarm never had an incident (only state times recorded). */
  readonly status?: IncidentStatus;
  readonly issueKey?: string;
  readonly claimToken?: string;
  readonly claimChangeId?: string;
  readonly leaseUntil?: number;
  readonly claimTokens?: Set<string>;
  readonly openedByChangeId?: string;
  /** The lost issue this incident's issue replaces. */
  readonly replacesIssueKey?: string;
  /** The OK that closed the last incident, and its issue (kept across claims, for that OK's retry). */
  readonly closedByChangeId?: string;
  readonly closedIssueKey?: string;
  /** Set when the closed incident's issue turned out to be deleted or moved. */
  readonly closedIssueLost?: string;
  readonly lostIssueKey?: string;
  readonly lostReason?: string;
  readonly lastAlarmStateAtMs?: number;
  readonly lastOkStateAtMs?: number;
  readonly lastInsufficientStateAtMs?: number;
  readonly lastError?: string;
  /** The incident lives on the umbrella issue of this storm window (`issueKey` is the umbrella's). */
  readonly umbrellaWindow?: string;
  /** An OK waiting out the resolve grace period: its state change, state time and when the resolve is due. */
  readonly pendingResolveChangeId?: string;
  readonly pendingResolveStateAtMs?: number;
  readonly pendingResolveDueAt?: string;
  /** The last close was the delayed resolve of the OK `closedByChangeId`, and its JIRA work is done (that OK's id). */
  readonly closedAfterGraceAt?: string;
  readonly graceResolvedChangeId?: string;
  /** The incident's OpsItem, and the one the last close resolves. */
  readonly opsItemId?: string;
  readonly closedOpsItemId?: string;
  /** The newest ALARM a maintenance window muted (a ticket opens for it when the window ends), and that window. */
  readonly heldAlarm?: AlarmStateChange;
  readonly heldAlarmStateAtMs?: number;
  readonly heldBy?: string;
  readonly alarmArn?: string;
}

export interface ChangeRecord {
  readonly pk: string;
  readonly status: ChangeStatus;
  readonly leaseUntil?: number;
  readonly jira?: JiraResult;
  readonly emailSent?: EmailReport;
  readonly outcome?: string;
  readonly issueKey?: string;
  readonly deliveryIds?: Set<string>;
  readonly lastDeliveryId?: string;
  readonly lastInput?: string;
  readonly digestId?: string;
}

/** One storm window: `issues` new issues opened (at most STORM_MAX_NEW_ISSUES), then its umbrella issue. */
export interface StormWindowRecord {
  readonly pk: string;
  readonly windowStartMs?: number;
  readonly windowEndMs?: number;
  /** New per-alarm issues opened (or being opened) in the window. */
  readonly issues?: number;
  /** Critical ALARMs of the window that opened an incident: with their own issue or on the umbrella. */
  readonly alarms?: number;
  readonly accounts?: Set<string>;
  /** Keys of the window's own issues (for the umbrella's description). */
  readonly ownIssues?: Set<string>;
  readonly umbrellaStatus?: 'CLAIMED' | 'OPEN' | 'RELEASED' | 'LOST';
  readonly umbrellaKey?: string;
  readonly umbrellaClaimToken?: string;
  readonly umbrellaLeaseUntil?: number;
  readonly umbrellaClaimTokens?: Set<string>;
  readonly umbrellaCreatedByChangeId?: string;
  readonly lostUmbrellaKey?: string;
  /** Incidents on the umbrella, and how many of them are OK again. */
  readonly members?: number;
  readonly recovered?: number;
  /** The counts the umbrella's summary shows. */
  readonly summaryAlarms?: number;
  readonly summaryAccounts?: number;
  /** The umbrella issue's OpsItem (OPSCENTER_ENABLED). */
  readonly umbrellaOpsItemId?: string;
}

/** One occurrence of a maintenance window (`MAINT#<window>#<occurrence end>`). */
export interface MaintenanceRecord {
  readonly pk: string;
  readonly window?: string;
  readonly startsAt?: string;
  readonly endsAt?: string;
  /** `ALARM#...` keys of the alarms the occurrence muted. */
  readonly alarms?: Set<string>;
  /** Those the window's end has dealt with (ticket opened, recovered, or still covered by another window). */
  readonly released?: Set<string>;
  readonly endedAt?: string;
}

export interface CoolDown {
  readonly untilMs: number;
  readonly reason?: string;
}

export type BeginResult =
  | { readonly started: true; readonly previous?: ChangeRecord }
  | { readonly started: false; readonly current?: ChangeRecord };

export type ClaimResult =
  | { readonly acquired: true; readonly previous?: IncidentRecord }
  | { readonly acquired: false; readonly current?: IncidentRecord };

export interface ObserveResult {
  /** True when this is the newest state time handled for its state (the record's time was raised). */
  readonly newest: boolean;
  /** The record before the write (when `newest`), else as it is now. */
  readonly record?: IncidentRecord;
}

/**
 * Idempotency records outlive EventBridge's retries (24 h), Lambda's async retries (6 h) and a redrive from
 * the dead-letter queue (14 days' retention), so a late copy is still recognised.
 */
export const CHANGE_TTL_SECONDS = 15 * 24 * 3600;
/**
 * Incident records expire this long after the alarm's last handled state change, whatever their status: an
 * OPEN incident whose alarm went quiet (or whose issue vanished unnoticed) does not stay forever.
 */
export const INCIDENT_TTL_SECONDS = 90 * 24 * 3600;

/** The incident attribute holding the newest handled state time of each state. */
export const STATE_TIME_ATTRIBUTE: Record<
  AlarmState,
  'lastAlarmStateAtMs' | 'lastOkStateAtMs' | 'lastInsufficientStateAtMs'
> = { ALARM: 'lastAlarmStateAtMs', OK: 'lastOkStateAtMs', INSUFFICIENT_DATA: 'lastInsufficientStateAtMs' };

export function incidentKey(change: Pick<AlarmStateChange, 'accountId' | 'region' | 'alarmName'>): string {
  return `ALARM#${change.accountId}#${change.region}#${change.alarmName}`;
}

export function changeKey(changeId: string): string {
  return `CHANGE#${changeId}`;
}

export const COOL_DOWN_KEY = 'PIPELINE#jira-cool-down';
export const HEARTBEAT_KEY = 'HEARTBEAT#alert-path';

interface Update {
  set?: Record<string, unknown>;
  remove?: string[];
  add?: Record<string, unknown>;
  del?: Record<string, unknown>;
  /** Attribute names written as `#name`, values as `:name` (values in `values`). */
  condition?: string;
  values?: Record<string, unknown>;
  returnValues?: 'ALL_OLD' | 'ALL_NEW';
}

/** Neither an OPEN incident's issue nor a claim's token survive these; the state times always do. */
const OLD_INCIDENT = [
  'issueKey',
  'openedAt',
  'openedByChangeId',
  'replacesIssueKey',
  'closedAt',
  'lastError',
  'umbrellaWindow',
  'opsItemId',
  'pendingResolveChangeId',
  'pendingResolveStateAtMs',
  'pendingResolveDueAt',
];
const PENDING_RESOLVE = ['pendingResolveChangeId', 'pendingResolveStateAtMs', 'pendingResolveDueAt'];

export class IncidentStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Starts processing a state change; refuses one that is done, or in progress elsewhere (lease not expired).
   * A change handed to the digest (DIGEST) starts again: the digest consumer takes it, and a buffer delivery
   * hands it over again (its JIRA result is reused), in case the first hand-over never reached the digest queue.
   */
  async beginChange(change: AlarmStateChange, now: number, leaseMs: number): Promise<BeginResult> {
    const pk = changeKey(change.changeId);
    const old = await this.update<ChangeRecord>(pk, {
      set: {
        kind: 'change',
        status: 'IN_PROGRESS',
        leaseUntil: now + leaseMs,
        alarmName: change.alarmName,
        accountId: change.accountId,
        region: change.region,
        newState: change.newState,
        stateAt: change.timestamp,
        lastDeliveryId: change.eventId,
        lastInput: change.input,
        updatedAt: iso(now),
        expiresAt: Math.floor(now / 1000) + CHANGE_TTL_SECONDS,
      },
      add: { attempts: 1, deliveryIds: new Set([change.eventId]) },
      condition:
        'attribute_not_exists(#pk) OR #status IN (:failed, :digest) OR (#status = :inProgress AND #leaseUntil < :now)',
      values: { failed: 'FAILED', digest: 'DIGEST', inProgress: 'IN_PROGRESS', now },
    });
    if (old === false) return { started: false, current: await this.get<ChangeRecord>(pk) };
    return { started: true, previous: old };
  }

  /** Notes a delivery of a state change that was handled (or is being handled) by another one. */
  async noteDuplicate(change: AlarmStateChange, now: number): Promise<void> {
    await this.update(changeKey(change.changeId), {
      set: { updatedAt: iso(now) },
      add: { duplicates: 1, deliveryIds: new Set([change.eventId]) },
      condition: 'attribute_exists(#pk)',
    });
  }

  /** Keeps the JIRA result as soon as JIRA is done, so a retry after a crash does not comment twice. */
  async recordJira(changeId: string, jira: JiraResult, now: number): Promise<void> {
    await this.update(changeKey(changeId), { set: { jira: { ...jira }, updatedAt: iso(now) } });
  }

  async finishChange(
    changeId: string,
    result: JiraResult,
    emailSent: EmailReport | undefined,
    now: number,
  ): Promise<void> {
    await this.update(changeKey(changeId), {
      set: {
        status: 'DONE',
        outcome: result.outcome,
        issueKey: result.issueKey,
        emailSent,
        maintenanceWindow: result.maintenance?.window,
        mutedUntil: result.maintenance?.until,
        resolveDueAt: result.resolveDueAt,
        updatedAt: iso(now),
      },
      remove: ['leaseUntil'],
    });
  }

  /** JIRA is done; the email is the digest's (the digest consumer takes the change from DIGEST to DONE). */
  async handOverToDigest(changeId: string, result: JiraResult, now: number): Promise<void> {
    await this.update(changeKey(changeId), {
      set: {
        status: 'DIGEST',
        jira: { ...result },
        outcome: result.outcome,
        issueKey: result.issueKey,
        updatedAt: iso(now),
      },
      remove: ['leaseUntil'],
    });
  }

  /** The change went out in digest `digestId` (part `part`). */
  async finishDigested(
    changeId: string,
    outcome: string,
    issueKey: string | undefined,
    digestId: string,
    part: number,
    now: number,
  ): Promise<void> {
    await this.update(changeKey(changeId), {
      set: {
        status: 'DONE',
        outcome,
        issueKey,
        emailSent: 'digest',
        digestId,
        digestPart: part,
        updatedAt: iso(now),
      },
      remove: ['leaseUntil'],
    });
  }

  async failChange(
    changeId: string,
    error: string,
    emailSent: EmailReport | undefined,
    now: number,
    jira?: JiraResult,
  ) {
    await this.update(changeKey(changeId), {
      set: {
        status: 'FAILED',
        lastError: error.slice(0, 1000),
        emailSent,
        jira: jira ? { ...jira } : undefined,
        updatedAt: iso(now),
      },
      remove: ['leaseUntil'],
    });
  }

  async getIncident(
    change: Pick<AlarmStateChange, 'accountId' | 'region' | 'alarmName'>,
  ): Promise<IncidentRecord | undefined> {
    return this.get<IncidentRecord>(incidentKey(change));
  }

  async getIncidentByKey(pk: string): Promise<IncidentRecord | undefined> {
    return this.get<IncidentRecord>(pk);
  }

  /**
   * Records the change's state time as the newest of its state, unless an equal or newer one was handled
   * (the condition makes this a compare-and-raise: racing invocations cannot lower it). Every ALARM and OK
   * does this before deciding anything, so a decision of another invocation (claim, close) sees it.
   */
  async observeState(change: AlarmStateChange, now: number): Promise<ObserveResult> {
    const pk = incidentKey(change);
    const attr = STATE_TIME_ATTRIBUTE[change.newState];
    const old = await this.update<IncidentRecord>(pk, {
      set: {
        kind: 'incident',
        [attr]: change.stateAtMs,
        alarmName: change.alarmName,
        alarmArn: change.alarmArn,
        accountId: change.accountId,
        region: change.region,
        lastChangeId: change.changeId,
        lastDeliveryId: change.eventId,
        updatedAt: iso(now),
        expiresAt: incidentExpiry(now),
      },
      condition: `attribute_not_exists(#${attr}) OR #${attr} < :stateAtMs`,
      values: { stateAtMs: change.stateAtMs },
    });
    if (old === false) return { newest: false, record: await this.get<IncidentRecord>(pk) };
    return { newest: true, record: old };
  }

  /**
   * Claims the right to create the alarm's issue. Succeeds when there is no incident, it is CLOSED, RELEASED
   * or LOST, or the current claim's lease expired (crashed holder, or an unanswered create whose search lag
   * has passed), and only for an ALARM not older than the newest handled OK (equal times: ALARM wins).
   */
  async claimIncident(change: AlarmStateChange, token: string, now: number, leaseMs: number): Promise<ClaimResult> {
    const pk = incidentKey(change);
    const old = await this.update<IncidentRecord>(pk, {
      set: {
        kind: 'incident',
        status: 'CLAIMED',
        claimToken: token,
        claimChangeId: change.changeId,
        claimDeliveryId: change.eventId,
        claimedAt: iso(now),
        leaseUntil: now + leaseMs,
        alarmName: change.alarmName,
        alarmArn: change.alarmArn,
        accountId: change.accountId,
        region: change.region,
        updatedAt: iso(now),
        expiresAt: incidentExpiry(now),
      },
      remove: OLD_INCIDENT,
      add: { claimTokens: new Set([token]) },
      condition:
        '(attribute_not_exists(#status) OR #status IN (:closed, :released, :lost) OR ' +
        '(#status = :claimed AND #leaseUntil < :now)) AND ' +
        '(attribute_not_exists(#lastOkStateAtMs) OR #lastOkStateAtMs <= :stateAtMs)',
      values: {
        closed: 'CLOSED',
        released: 'RELEASED',
        lost: 'LOST',
        claimed: 'CLAIMED',
        now,
        stateAtMs: change.stateAtMs,
      },
    });
    if (old === false) return { acquired: false, current: await this.get<IncidentRecord>(pk) };
    return { acquired: true, previous: old };
  }

  /** Records the issue of a claim; false when the claim was lost (it was taken over). */
  async markOpen(
    change: AlarmStateChange,
    token: string,
    issueKey: string,
    now: number,
    replacesIssueKey?: string,
    umbrellaWindow?: string,
  ): Promise<boolean> {
    const old = await this.update(incidentKey(change), {
      set: {
        status: 'OPEN',
        issueKey,
        openedAt: iso(now),
        openedByChangeId: change.changeId,
        replacesIssueKey,
        umbrellaWindow,
        updatedAt: iso(now),
        expiresAt: incidentExpiry(now),
      },
      remove: ['claimTokens', 'leaseUntil', 'lostIssueKey', 'lostReason'],
      condition: '#status = :claimed AND #claimToken = :token',
      values: { claimed: 'CLAIMED', token },
    });
    return old !== false;
  }

  /** Gives up a claim whose create certainly made no issue (a 4xx, or no create sent): a retry claims at once. */
  async releaseClaim(change: AlarmStateChange, token: string, error: string, now: number) {
    await this.update(incidentKey(change), {
      set: { status: 'RELEASED', lastError: error.slice(0, 1000), updatedAt: iso(now) },
      remove: ['leaseUntil'],
      del: { claimTokens: new Set([token]) },
      condition: '#status = :claimed AND #claimToken = :token',
      values: { claimed: 'CLAIMED', token },
    });
  }

  /**
   * Keeps a claim whose create may have made an issue (5xx, timeout, reset) until `untilMs`, when a label
   * search can be trusted to show it: nobody (this state change's own retry included) claims before then.
   */
  async holdClaim(change: AlarmStateChange, token: string, error: string, now: number, untilMs: number) {
    await this.update(incidentKey(change), {
      set: { leaseUntil: untilMs, lastError: error.slice(0, 1000), updatedAt: iso(now) },
      condition: '#status = :claimed AND #claimToken = :token',
      values: { claimed: 'CLAIMED', token },
    });
  }

  /**
   * Lets an OK take over claims whose create had an unknown outcome (their tokens are left, their lease has
   * passed) to find, by label, an issue that would otherwise stay open while the alarm is OK. Only for an OK
   * newer than the newest handled ALARM. This claim adds no token: the OK creates nothing.
   */
  async claimOrphans(change: AlarmStateChange, token: string, now: number, leaseMs: number): Promise<ClaimResult> {
    const pk = incidentKey(change);
    const old = await this.update<IncidentRecord>(pk, {
      set: {
        status: 'CLAIMED',
        claimToken: token,
        claimChangeId: change.changeId,
        claimDeliveryId: change.eventId,
        claimedAt: iso(now),
        leaseUntil: now + leaseMs,
        updatedAt: iso(now),
      },
      condition:
        'attribute_exists(#claimTokens) AND (#status = :released OR (#status = :claimed AND #leaseUntil < :now)) AND ' +
        '(attribute_not_exists(#lastAlarmStateAtMs) OR #lastAlarmStateAtMs < :stateAtMs)',
      values: { released: 'RELEASED', claimed: 'CLAIMED', now, stateAtMs: change.stateAtMs },
    });
    if (old === false) return { acquired: false, current: await this.get<IncidentRecord>(pk) };
    return { acquired: true, previous: old };
  }

  /**
   * Ends an OK's orphan claim: closed with the issue it found (the OK then resolves it), or released with the
   * searched tokens dropped when the search found none. False when the claim was taken over.
   */
  async settleOrphans(
    change: AlarmStateChange,
    token: string,
    searched: ReadonlySet<string>,
    found: string | undefined,
    now: number,
  ): Promise<boolean> {
    const old = await this.update(incidentKey(change), {
      set: found
        ? {
            status: 'CLOSED',
            issueKey: found,
            closedAt: iso(now),
            closedByChangeId: change.changeId,
            closedIssueKey: found,
            updatedAt: iso(now),
            expiresAt: incidentExpiry(now),
          }
        : { status: 'RELEASED', updatedAt: iso(now), expiresAt: incidentExpiry(now) },
      // Found: every leftover claim is accounted for. None: the searched tokens made no issue.
      remove: ['leaseUntil', ...(found ? ['claimTokens', 'closedIssueLost'] : [])],
      del: found ? undefined : { claimTokens: new Set(searched) },
      condition: '#status = :claimed AND #claimToken = :token',
      values: { claimed: 'CLAIMED', token },
    });
    return old !== false;
  }

  /** The open incident's issue was deleted or moved: released, with why. False when it was not open with it. */
  async markLost(change: ChangeRef, issueKey: string, reason: string, now: number): Promise<boolean> {
    const old = await this.update(incidentKey(change), {
      set: {
        status: 'LOST',
        lostIssueKey: issueKey,
        lostReason: reason.slice(0, 1000),
        lostAt: iso(now),
        lostByChangeId: change.changeId,
        updatedAt: iso(now),
        expiresAt: incidentExpiry(now),
      },
      remove: ['issueKey', ...PENDING_RESOLVE],
      condition: '#status = :open AND #issueKey = :issueKey',
      values: { open: 'OPEN', issueKey },
    });
    return old !== false;
  }

  /**
   * Closes the open incident for an OK newer than the newest handled ALARM (the next ALARM claims anew).
   * False when it is not open with that issue, or an ALARM at or after this OK's time was handled.
   * `afterGrace`: the delayed resolve of this OK, only while this OK's resolve is still the pending one.
   */
  async closeIncident(
    change: ChangeRef,
    issueKey: string,
    now: number,
    opts: { afterGrace?: boolean; opsItemId?: string } = {},
  ): Promise<boolean> {
    const old = await this.update(incidentKey(change), {
      set: {
        status: 'CLOSED',
        closedAt: iso(now),
        closedByChangeId: change.changeId,
        closedIssueKey: issueKey,
        closedAfterGraceAt: opts.afterGrace ? iso(now) : undefined,
        closedOpsItemId: opts.opsItemId,
        updatedAt: iso(now),
        expiresAt: incidentExpiry(now),
      },
      remove: ['closedIssueLost', 'graceResolvedChangeId', ...PENDING_RESOLVE],
      condition:
        '#status = :open AND #issueKey = :issueKey AND ' +
        '(attribute_not_exists(#lastAlarmStateAtMs) OR #lastAlarmStateAtMs < :stateAtMs)' +
        (opts.afterGrace ? ' AND #pendingResolveChangeId = :changeId' : ''),
      values: {
        open: 'OPEN',
        issueKey,
        stateAtMs: change.stateAtMs,
        ...(opts.afterGrace ? { changeId: change.changeId } : {}),
      },
    });
    return old !== false;
  }

  /**
   * An OK newer than the newest handled ALARM starts the resolve grace period of the open incident: the resolve is
   * due at `dueAtMs` unless a newer ALARM is handled first. Idempotent (a retry writes the same); a pending resolve
   * of a newer OK is kept. False when the incident is not open with that issue, or an ALARM at or after this OK's
   * time was handled.
   */
  async markPendingResolve(change: ChangeRef, issueKey: string, dueAtMs: number, now: number): Promise<boolean> {
    const old = await this.update(incidentKey(change), {
      set: {
        pendingResolveChangeId: change.changeId,
        pendingResolveStateAtMs: change.stateAtMs,
        pendingResolveDueAt: iso(dueAtMs),
        updatedAt: iso(now),
        expiresAt: incidentExpiry(now),
      },
      condition:
        '#status = :open AND #issueKey = :issueKey AND ' +
        '(attribute_not_exists(#lastAlarmStateAtMs) OR #lastAlarmStateAtMs < :stateAtMs) AND ' +
        '(attribute_not_exists(#pendingResolveStateAtMs) OR #pendingResolveStateAtMs <= :stateAtMs)',
      values: { open: 'OPEN', issueKey, stateAtMs: change.stateAtMs },
    });
    return old !== false;
  }

  /** A newer ALARM came within the grace period (a flap): the pending resolve of that OK is cancelled. */
  async cancelPendingResolve(change: ChangeRef, pendingChangeId: string, now: number): Promise<boolean> {
    const old = await this.update(incidentKey(change), {
      set: { flappedAt: iso(now), flappedByChangeId: change.changeId, updatedAt: iso(now) },
      remove: PENDING_RESOLVE,
      condition: '#pendingResolveChangeId = :pending AND #pendingResolveStateAtMs < :stateAtMs',
      values: { pending: pendingChangeId, stateAtMs: change.stateAtMs },
    });
    return old !== false;
  }

  /** The delayed resolve of OK `changeId` finished its JIRA work: a redelivery of its message does nothing. */
  async noteGraceResolved(change: ChangeRef, now: number): Promise<void> {
    await this.update(incidentKey(change), {
      set: { graceResolvedChangeId: change.changeId, updatedAt: iso(now) },
      condition: '#closedByChangeId = :changeId',
      values: { changeId: change.changeId },
    });
  }

  /**
   * Records the incident's OpsItem. Returns the item before (undefined when new), or false when the incident is no
   * longer the one `openedByChangeId` opened (an OK closed it meanwhile: the caller resolves the OpsItem).
   */
  async setOpsItem(
    change: Pick<AlarmStateChange, 'accountId' | 'region' | 'alarmName'>,
    openedByChangeId: string,
    opsItemId: string,
    now: number,
  ): Promise<IncidentRecord | undefined | false> {
    return this.update<IncidentRecord>(incidentKey(change), {
      set: { opsItemId, updatedAt: iso(now) },
      condition: '#status = :open AND #openedByChangeId = :opened',
      values: { open: 'OPEN', opened: openedByChangeId },
    });
  }

  /** Records the storm window's umbrella OpsItem; the item before. */
  async setUmbrellaOpsItem(
    key: string,
    opsItemId: string,
    now: number,
  ): Promise<StormWindowRecord | undefined | false> {
    return this.update<StormWindowRecord>(key, {
      set: { umbrellaOpsItemId: opsItemId, updatedAt: iso(now) },
      condition: 'attribute_exists(#pk)',
    });
  }

  // --- Maintenance windows ---

  /**
   * A maintenance window muted this ALARM: it becomes the alarm's held ALARM (the one whose ticket opens when the
   * window ends), unless a newer one is held already.
   */
  async holdAlarm(change: AlarmStateChange, maintenanceKey: string, now: number): Promise<boolean> {
    const old = await this.update(incidentKey(change), {
      set: {
        heldAlarm: { ...change },
        heldAlarmStateAtMs: change.stateAtMs,
        heldBy: maintenanceKey,
        heldAt: iso(now),
        updatedAt: iso(now),
        expiresAt: incidentExpiry(now),
      },
      condition: 'attribute_not_exists(#heldAlarmStateAtMs) OR #heldAlarmStateAtMs <= :stateAtMs',
      values: { stateAtMs: change.stateAtMs },
    });
    return old !== false;
  }

  /** Moves a held ALARM to another window's occurrence (it still covers the alarm when this one ends). */
  async moveHeldAlarm(alarmKey: string, fromKey: string, toKey: string, now: number): Promise<boolean> {
    const old = await this.update(alarmKey, {
      set: { heldBy: toKey, updatedAt: iso(now) },
      condition: '#heldBy = :from',
      values: { from: fromKey },
    });
    return old !== false;
  }

  /** Remembers a muted alarm on the window occurrence's item. */
  async rememberMuted(
    key: string,
    occurrence: { window: string; startMs: number; endMs: number },
    alarmKey: string,
    now: number,
  ): Promise<void> {
    await this.update(key, {
      set: {
        kind: 'maintenance-window',
        window: occurrence.window,
        startsAt: iso(occurrence.startMs),
        endsAt: iso(occurrence.endMs),
        updatedAt: iso(now),
        expiresAt: incidentExpiry(occurrence.endMs),
      },
      add: { alarms: new Set([alarmKey]) },
    });
  }

  async getMaintenance(key: string): Promise<MaintenanceRecord | undefined> {
    return this.get<MaintenanceRecord>(key);
  }

  /** The window's end dealt with these alarms: a redelivered end event skips them. */
  async noteReleased(key: string, alarmKeys: readonly string[], endedAt: string, now: number): Promise<void> {
    await this.update(key, {
      set: { endedAt, updatedAt: iso(now) },
      add: alarmKeys.length ? { released: new Set(alarmKeys) } : undefined,
    });
  }

  // --- Alert-path heartbeat ---

  /** The heartbeat started: proves the table takes writes. */
  async beginHeartbeat(eventId: string, scheduledAt: string | undefined, now: number): Promise<void> {
    await this.update(HEARTBEAT_KEY, {
      set: {
        kind: 'heartbeat',
        lastAttemptAt: iso(now),
        lastAttemptEventId: eventId,
        lastAttemptScheduledAt: scheduledAt,
        updatedAt: iso(now),
      },
      add: { attempts: 1 },
    });
  }

  async recordHeartbeat(
    outcome: { ok: true } | { ok: false; step: string; reason: string },
    eventId: string,
    now: number,
  ): Promise<void> {
    await this.update(HEARTBEAT_KEY, {
      set: outcome.ok
        ? { status: 'OK', lastSuccessAt: iso(now), lastSuccessEventId: eventId, updatedAt: iso(now) }
        : {
            status: 'FAILED',
            lastFailureAt: iso(now),
            lastFailureEventId: eventId,
            lastFailureStep: outcome.step,
            lastFailureReason: outcome.reason.slice(0, 1000),
            updatedAt: iso(now),
          },
    });
  }

  /** Closes an incident whose issue was lost, for an OK newer than the newest handled ALARM. */
  async closeLost(
    change: ChangeRef,
    lostIssueKey: string,
    reason: string,
    now: number,
    opsItemId?: string,
  ): Promise<boolean> {
    const old = await this.update(incidentKey(change), {
      set: {
        status: 'CLOSED',
        closedAt: iso(now),
        closedByChangeId: change.changeId,
        closedIssueKey: lostIssueKey,
        closedIssueLost: reason.slice(0, 1000),
        closedOpsItemId: opsItemId,
        updatedAt: iso(now),
        expiresAt: incidentExpiry(now),
      },
      remove: ['lostIssueKey', 'lostReason', 'closedAfterGraceAt', 'graceResolvedChangeId', ...PENDING_RESOLVE],
      condition:
        '#status = :lost AND #lostIssueKey = :issueKey AND ' +
        '(attribute_not_exists(#lastAlarmStateAtMs) OR #lastAlarmStateAtMs < :stateAtMs)',
      values: { lost: 'LOST', issueKey: lostIssueKey, stateAtMs: change.stateAtMs },
    });
    return old !== false;
  }

  /** Notes that the issue an OK closed turned out to be deleted or moved. */
  async noteClosedIssueLost(change: ChangeRef, reason: string, now: number): Promise<void> {
    await this.update(incidentKey(change), {
      set: { closedIssueLost: reason.slice(0, 1000), updatedAt: iso(now) },
      condition: '#closedByChangeId = :changeId',
      values: { changeId: change.changeId },
    });
  }

  // --- JIRA cool-down (pipeline-wide back-pressure) ---

  async getCoolDown(): Promise<CoolDown | undefined> {
    const item = await this.get<{ untilMs?: number; reason?: string }>(COOL_DOWN_KEY);
    return item?.untilMs === undefined ? undefined : { untilMs: item.untilMs, reason: item.reason };
  }

  /** Records that JIRA rate-limits until `untilMs`; only ever extends it (racing invocations keep the latest). */
  async recordCoolDown(untilMs: number, reason: string, now: number): Promise<void> {
    await this.update(COOL_DOWN_KEY, {
      set: {
        kind: 'cool-down',
        untilMs,
        reason: reason.slice(0, 500),
        setAt: iso(now),
        expiresAt: Math.floor(untilMs / 1000) + 24 * 3600,
      },
      condition: 'attribute_not_exists(#untilMs) OR #untilMs < :untilMs',
      values: { untilMs },
    });
  }

  // --- Storm windows ---

  async getStormWindow(key: string): Promise<StormWindowRecord | undefined> {
    return this.get<StormWindowRecord>(key);
  }

  /**
   * Takes one of the window's `max` new-issue slots for this ALARM (and counts its alarm and account).
   * `granted` false: the window already opened `max` issues; `window` is then the record as it is.
   */
  async takeIssueSlot(
    key: string,
    window: { startMs: number; endMs: number },
    change: AlarmStateChange,
    max: number,
    now: number,
  ): Promise<{ granted: boolean; window?: StormWindowRecord }> {
    const out = await this.update<StormWindowRecord>(key, {
      set: this.windowAttributes(window, now),
      add: { issues: 1, alarms: 1, accounts: new Set([change.accountId]) },
      condition: 'attribute_not_exists(#issues) OR #issues < :max',
      values: { max },
      returnValues: 'ALL_NEW',
    });
    if (out === false) return { granted: false, window: await this.getStormWindow(key) };
    return { granted: true, window: out };
  }

  /** Gives a slot back: the create certainly made no issue. */
  async releaseIssueSlot(key: string): Promise<void> {
    await this.update(key, { add: { issues: -1, alarms: -1 }, condition: '#issues > :zero', values: { zero: 0 } });
  }

  async noteOwnIssue(key: string, issueKey: string): Promise<void> {
    await this.update(key, { add: { ownIssues: new Set([issueKey]) } });
  }

  /** Counts an incident that went to the umbrella; returns the window as it is now. */
  async addUmbrellaMember(
    key: string,
    window: { startMs: number; endMs: number },
    change: AlarmStateChange,
    now: number,
  ): Promise<StormWindowRecord | undefined> {
    const out = await this.update<StormWindowRecord>(key, {
      set: this.windowAttributes(window, now),
      add: { alarms: 1, members: 1, accounts: new Set([change.accountId]) },
      returnValues: 'ALL_NEW',
    });
    return out === false ? undefined : out;
  }

  /** Counts an umbrella incident that its OK closed; returns the window as it is now. */
  async noteUmbrellaRecovered(key: string, now: number): Promise<StormWindowRecord | undefined> {
    const out = await this.update<StormWindowRecord>(key, {
      set: { updatedAt: iso(now) },
      add: { recovered: 1 },
      condition: 'attribute_exists(#pk)',
      returnValues: 'ALL_NEW',
    });
    return out === false ? undefined : out;
  }

  /**
   * Claims the right to create the window's umbrella issue, like `claimIncident` for an alarm's issue: granted
   * when there is none (or it was lost or released), or the current claim's lease passed.
   */
  async claimUmbrella(
    key: string,
    window: { startMs: number; endMs: number },
    token: string,
    change: AlarmStateChange,
    now: number,
    leaseMs: number,
  ): Promise<{ acquired: boolean; previous?: StormWindowRecord; current?: StormWindowRecord }> {
    const old = await this.update<StormWindowRecord>(key, {
      set: {
        ...this.windowAttributes(window, now),
        umbrellaStatus: 'CLAIMED',
        umbrellaClaimToken: token,
        umbrellaClaimChangeId: change.changeId,
        umbrellaLeaseUntil: now + leaseMs,
      },
      add: { umbrellaClaimTokens: new Set([token]) },
      condition:
        'attribute_not_exists(#umbrellaStatus) OR #umbrellaStatus IN (:released, :lost) OR ' +
        '(#umbrellaStatus = :claimed AND #umbrellaLeaseUntil < :now)',
      values: { released: 'RELEASED', lost: 'LOST', claimed: 'CLAIMED', now },
    });
    if (old === false) return { acquired: false, current: await this.getStormWindow(key) };
    return { acquired: true, previous: old };
  }

  /** Records the umbrella issue of a claim; false when the claim was taken over. */
  async markUmbrellaOpen(
    key: string,
    token: string,
    issueKey: string,
    change: AlarmStateChange,
    counts: { alarms: number; accounts: number },
    now: number,
  ): Promise<boolean> {
    const old = await this.update(key, {
      set: {
        umbrellaStatus: 'OPEN',
        umbrellaKey: issueKey,
        umbrellaCreatedByChangeId: change.changeId,
        umbrellaOpenedAt: iso(now),
        summaryAlarms: counts.alarms,
        summaryAccounts: counts.accounts,
        updatedAt: iso(now),
      },
      remove: ['umbrellaClaimTokens', 'umbrellaLeaseUntil'],
      condition: '#umbrellaStatus = :claimed AND #umbrellaClaimToken = :token',
      values: { claimed: 'CLAIMED', token },
    });
    return old !== false;
  }

  /** The umbrella create certainly made nothing: a retry claims at once. */
  async releaseUmbrella(key: string, token: string, error: string, now: number): Promise<void> {
    await this.update(key, {
      set: { umbrellaStatus: 'RELEASED', umbrellaLastError: error.slice(0, 1000), updatedAt: iso(now) },
      remove: ['umbrellaLeaseUntil'],
      del: { umbrellaClaimTokens: new Set([token]) },
      condition: '#umbrellaStatus = :claimed AND #umbrellaClaimToken = :token',
      values: { claimed: 'CLAIMED', token },
    });
  }

  /** The umbrella create may have made an issue: nobody claims before a label search can see it. */
  async holdUmbrella(key: string, token: string, error: string, now: number, untilMs: number): Promise<void> {
    await this.update(key, {
      set: { umbrellaLeaseUntil: untilMs, umbrellaLastError: error.slice(0, 1000), updatedAt: iso(now) },
      condition: '#umbrellaStatus = :claimed AND #umbrellaClaimToken = :token',
      values: { claimed: 'CLAIMED', token },
    });
  }

  /** A person deleted or moved the umbrella issue: the next overflow ALARM opens a new one. */
  async markUmbrellaLost(key: string, issueKey: string, reason: string, now: number): Promise<boolean> {
    const old = await this.update(key, {
      set: {
        umbrellaStatus: 'LOST',
        lostUmbrellaKey: issueKey,
        lostReason: reason.slice(0, 1000),
        updatedAt: iso(now),
      },
      remove: ['umbrellaKey'],
      condition: '#umbrellaStatus = :open AND #umbrellaKey = :issueKey',
      values: { open: 'OPEN', issueKey },
    });
    return old !== false;
  }

  /** Claims the right to rewrite the umbrella's summary with these counts (only ever raised). */
  async noteUmbrellaSummary(key: string, alarms: number, accounts: number, now: number): Promise<boolean> {
    const old = await this.update(key, {
      set: { summaryAlarms: alarms, summaryAccounts: accounts, updatedAt: iso(now) },
      condition:
        '#umbrellaStatus = :open AND (attribute_not_exists(#summaryAlarms) OR #summaryAlarms < :alarms OR ' +
        '#summaryAccounts < :accounts)',
      values: { open: 'OPEN', alarms, accounts },
    });
    return old !== false;
  }

  private windowAttributes(window: { startMs: number; endMs: number }, now: number): Record<string, unknown> {
    return {
      kind: 'storm-window',
      windowStartMs: window.startMs,
      windowEndMs: window.endMs,
      windowStart: iso(window.startMs),
      updatedAt: iso(now),
      // Members' OKs may come long after the window: kept as long as their incidents.
      expiresAt: incidentExpiry(window.endMs),
    };
  }

  private async get<T>(pk: string): Promise<T | undefined> {
    const out = await awsCall(`DynamoDB GetItem on table ${this.tableName}`, () =>
      this.client.send(new GetCommand({ TableName: this.tableName, Key: { pk }, ConsistentRead: true })),
    );
    return out.Item as T | undefined;
  }

  /** Runs one UpdateItem; returns the old item (or undefined when new), or false when the condition failed. */
  private async update<T>(pk: string, u: Update): Promise<T | undefined | false> {
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const name = (attr: string) => {
      names[`#${attr}`] = attr;
      return `#${attr}`;
    };
    const clauses: string[] = [];
    const set = Object.entries(u.set ?? {}).filter(([, v]) => v !== undefined);
    const unset = Object.entries(u.set ?? {}).filter(([, v]) => v === undefined);
    if (set.length) {
      clauses.push(`SET ${set.map(([k, v]) => ((values[`:set_${k}`] = v), `${name(k)} = :set_${k}`)).join(', ')}`);
    }
    const remove = [...(u.remove ?? []), ...unset.map(([k]) => k)];
    if (remove.length) clauses.push(`REMOVE ${remove.map(name).join(', ')}`);
    const add = Object.entries(u.add ?? {});
    if (add.length) {
      clauses.push(`ADD ${add.map(([k, v]) => ((values[`:add_${k}`] = v), `${name(k)} :add_${k}`)).join(', ')}`);
    }
    const del = Object.entries(u.del ?? {});
    if (del.length) {
      clauses.push(`DELETE ${del.map(([k, v]) => ((values[`:del_${k}`] = v), `${name(k)} :del_${k}`)).join(', ')}`);
    }
    for (const match of u.condition?.matchAll(/#(\w+)/g) ?? []) name(match[1]);
    for (const [k, v] of Object.entries(u.values ?? {})) values[`:${k}`] = v;
    try {
      const out = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk },
          UpdateExpression: clauses.join(' '),
          ConditionExpression: u.condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: Object.keys(values).length ? values : undefined,
          ReturnValues: u.returnValues ?? 'ALL_OLD',
        }),
      );
      return out.Attributes as T | undefined;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException || (err as Error).name === 'ConditionalCheckFailedException') {
        return false;
      }
      throw new AwsCallError(`DynamoDB UpdateItem on table ${this.tableName}`, err);
    }
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function incidentExpiry(now: number): number {
  return Math.floor(now / 1000) + INCIDENT_TTL_SECONDS;
}
