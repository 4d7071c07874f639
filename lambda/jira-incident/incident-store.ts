/**
 * DynamoDB incident table (partition key `pk` only, TTL attribute `expiresAt`). Two kinds of item:
 *
 * `ALARM#<accountId>#<region>#<alarmName>`: the incident of one alarm. `status` moves
 *   (none|CLOSED|RELEASED) -> CLAIMED -> OPEN -> CLOSED. The CLAIMED write is conditional and happens before
 *   JIRA is called, so only one invocation creates the issue. `claimTokens` holds the tokens of claims that
 *   have not yet produced a recorded issue; each created issue carries its token as a label, so a takeover
 *   finds (by search) an issue that a crashed or timed-out attempt did create.
 * `EVENT#<eventId>`: idempotency of one delivery: IN_PROGRESS -> DONE | FAILED, with the JIRA result and
 *   whether the email went out, so a redelivery or retry neither repeats JIRA work nor re-sends the email.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AlarmStateChange } from './events';
import { awsCall, AwsCallError } from './errors';

export type IncidentStatus = 'CLAIMED' | 'OPEN' | 'RELEASED' | 'CLOSED';
export type EventStatus = 'IN_PROGRESS' | 'DONE' | 'FAILED';
/** What the last email of a delivery reported: the final result, or a JIRA failure. */
export type EmailReport = 'final' | 'failure';

export interface JiraResult {
  readonly outcome: string;
  readonly issueKey?: string;
  readonly reason?: string;
}

export interface IncidentRecord {
  readonly pk: string;
  readonly status: IncidentStatus;
  readonly issueKey?: string;
  readonly claimToken?: string;
  readonly claimEventId?: string;
  readonly leaseUntil?: number;
  readonly claimTokens?: Set<string>;
  readonly openedByEventId?: string;
  readonly lastEventId?: string;
  readonly closedByEventId?: string;
  /** When the alarm entered the OK state that closed the incident (epoch ms): older ALARMs are stale. */
  readonly closedStateAtMs?: number;
}

export interface EventRecord {
  readonly pk: string;
  readonly status: EventStatus;
  readonly leaseUntil?: number;
  readonly jira?: JiraResult;
  readonly emailSent?: EmailReport;
  readonly outcome?: string;
  readonly issueKey?: string;
}

export type BeginResult =
  | { readonly started: true; readonly previous?: EventRecord }
  | { readonly started: false; readonly current?: EventRecord };

export type ClaimResult =
  | { readonly acquired: true; readonly previous?: IncidentRecord }
  | { readonly acquired: false; readonly current?: IncidentRecord };

/** Idempotency records outlive Lambda's async retries (6 h) and EventBridge retries (24 h) comfortably. */
export const EVENT_TTL_SECONDS = 7 * 24 * 3600;
/** Closed incidents are kept a while for troubleshooting, then expire. */
export const CLOSED_INCIDENT_TTL_SECONDS = 30 * 24 * 3600;

export function incidentKey(change: Pick<AlarmStateChange, 'accountId' | 'region' | 'alarmName'>): string {
  return `ALARM#${change.accountId}#${change.region}#${change.alarmName}`;
}

export function eventKey(eventId: string): string {
  return `EVENT#${eventId}`;
}

interface Update {
  set?: Record<string, unknown>;
  remove?: string[];
  add?: Record<string, unknown>;
  del?: Record<string, unknown>;
  /** Attribute names written as `#name`, values as `:name` (values in `values`). */
  condition?: string;
  values?: Record<string, unknown>;
}

export class IncidentStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** Starts processing a delivery; refuses one that is done or in progress elsewhere (lease not expired). */
  async beginEvent(change: AlarmStateChange, now: number, leaseMs: number): Promise<BeginResult> {
    const pk = eventKey(change.eventId);
    const old = await this.update<EventRecord>(pk, {
      set: {
        kind: 'event',
        status: 'IN_PROGRESS',
        leaseUntil: now + leaseMs,
        alarmName: change.alarmName,
        accountId: change.accountId,
        newState: change.newState,
        updatedAt: iso(now),
        expiresAt: Math.floor(now / 1000) + EVENT_TTL_SECONDS,
      },
      add: { attempts: 1 },
      condition: 'attribute_not_exists(#pk) OR #status = :failed OR (#status = :inProgress AND #leaseUntil < :now)',
      values: { failed: 'FAILED', inProgress: 'IN_PROGRESS', now },
    });
    if (old === false) return { started: false, current: await this.get<EventRecord>(pk) };
    return { started: true, previous: old };
  }

  async finishEvent(
    eventId: string,
    result: JiraResult,
    emailSent: EmailReport | undefined,
    now: number,
  ): Promise<void> {
    await this.update(eventKey(eventId), {
      set: { status: 'DONE', outcome: result.outcome, issueKey: result.issueKey, emailSent, updatedAt: iso(now) },
      remove: ['leaseUntil'],
    });
  }

  async failEvent(eventId: string, error: string, emailSent: EmailReport | undefined, now: number, jira?: JiraResult) {
    await this.update(eventKey(eventId), {
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

  async getIncident(change: AlarmStateChange): Promise<IncidentRecord | undefined> {
    return this.get<IncidentRecord>(incidentKey(change));
  }

  /**
   * Claims the right to create the alarm's issue. Succeeds when there is no incident, it is CLOSED or RELEASED,
   * or the current claim's lease expired (crashed holder) or belongs to this same event (its own retry).
   */
  async claimIncident(change: AlarmStateChange, token: string, now: number, leaseMs: number): Promise<ClaimResult> {
    const pk = incidentKey(change);
    const old = await this.update<IncidentRecord>(pk, {
      set: {
        kind: 'incident',
        status: 'CLAIMED',
        claimToken: token,
        claimEventId: change.eventId,
        claimedAt: iso(now),
        leaseUntil: now + leaseMs,
        alarmName: change.alarmName,
        alarmArn: change.alarmArn,
        accountId: change.accountId,
        region: change.region,
        updatedAt: iso(now),
      },
      remove: [
        'issueKey',
        'openedAt',
        'openedByEventId',
        'lastEventId',
        'closedAt',
        'closedByEventId',
        'closedStateAtMs',
        'expiresAt',
      ],
      add: { claimTokens: new Set([token]) },
      // A CLOSED incident reopens only for an ALARM newer than the OK that closed it (late deliveries are stale).
      condition:
        'attribute_not_exists(#pk) OR #status = :released OR ' +
        '(#status = :closed AND (attribute_not_exists(#closedStateAtMs) OR #closedStateAtMs < :stateAtMs)) OR ' +
        '(#status = :claimed AND (#leaseUntil < :now OR #claimEventId = :eventId))',
      values: {
        closed: 'CLOSED',
        released: 'RELEASED',
        claimed: 'CLAIMED',
        now,
        eventId: change.eventId,
        stateAtMs: Date.parse(change.timestamp),
      },
    });
    if (old === false) return { acquired: false, current: await this.get<IncidentRecord>(pk) };
    return { acquired: true, previous: old };
  }

  /** Records the issue of a claim; false when the claim was lost (it was taken over). */
  async markOpen(change: AlarmStateChange, token: string, issueKey: string, now: number): Promise<boolean> {
    const old = await this.update(incidentKey(change), {
      set: {
        status: 'OPEN',
        issueKey,
        openedAt: iso(now),
        openedByEventId: change.eventId,
        lastEventId: change.eventId,
        updatedAt: iso(now),
      },
      remove: ['claimTokens', 'leaseUntil'],
      condition: '#status = :claimed AND #claimToken = :token',
      values: { claimed: 'CLAIMED', token },
    });
    return old !== false;
  }

  /**
   * Gives up a claim after a failed create so a retry can claim at once. When JIRA certainly did not create
   * the issue (a 4xx answer) the token is dropped; otherwise it stays for the next claimer's search.
   */
  async releaseClaim(
    change: AlarmStateChange,
    token: string,
    certainlyNotCreated: boolean,
    error: string,
    now: number,
  ) {
    await this.update(incidentKey(change), {
      set: { status: 'RELEASED', lastError: error.slice(0, 1000), updatedAt: iso(now) },
      remove: ['leaseUntil'],
      del: certainlyNotCreated ? { claimTokens: new Set([token]) } : undefined,
      condition: '#status = :claimed AND #claimToken = :token',
      values: { claimed: 'CLAIMED', token },
    });
  }

  /** Notes that this event's comment is on the issue, so a retry does not comment twice. */
  async recordComment(change: AlarmStateChange, issueKey: string, now: number): Promise<void> {
    await this.update(incidentKey(change), {
      set: { lastEventId: change.eventId, updatedAt: iso(now) },
      condition: '#status = :open AND #issueKey = :issueKey',
      values: { open: 'OPEN', issueKey },
    });
  }

  /** Closes the open incident (the next ALARM claims anew). False when it was not open with that issue. */
  async closeIncident(change: AlarmStateChange, issueKey: string, now: number): Promise<boolean> {
    const old = await this.update(incidentKey(change), {
      set: {
        status: 'CLOSED',
        closedAt: iso(now),
        closedByEventId: change.eventId,
        closedStateAtMs: Date.parse(change.timestamp),
        lastEventId: change.eventId,
        updatedAt: iso(now),
        expiresAt: Math.floor(now / 1000) + CLOSED_INCIDENT_TTL_SECONDS,
      },
      condition: '#status = :open AND #issueKey = :issueKey',
      values: { open: 'OPEN', issueKey },
    });
    return old !== false;
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
          ReturnValues: 'ALL_OLD',
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
