/**
 * AWS Systems Manager OpsCenter (OPSCENTER_ENABLED): every JIRA issue the pipeline opens for an incident also gets an
 * OpsItem, the AWS-native record of it (Incident Manager is closed to new customers). README "OpsCenter".
 *
 * - A critical ALARM that opens its own issue: an OpsItem deduplicated per alarm (`/aws/dedup`), with the JIRA key in
 *   its operational data and the alarm ARN in `/aws/resources`; its id goes into the issue (a comment) and onto the
 *   `ALARM#` item. The OK that resolves the incident resolves it (UpdateOpsItem Status=Resolved).
 * - An alarm storm's umbrella issue: one OpsItem for the storm window (its members open none: OpsCenter would get
 *   the storm the umbrella keeps out of JIRA), resolved when the umbrella is.
 * - Best effort: a failure is logged and reported in the change's result, never blocks JIRA or the email.
 *
 * Deduplication (Systems Manager user guide, "Managing duplicate OpsItems"): CreateOpsItem with a dedup string that
 * matches an OpsItem that is Open or In progress creates none; once it is Resolved, a new one is created. A create
 * that hits an open duplicate answers OpsItemAlreadyExistsException with its OpsItemId, which is adopted.
 */
import type * as Ssm from '@aws-sdk/client-ssm';
import type { SSMClient } from '@aws-sdk/client-ssm';
import { createHash } from 'node:crypto';
import { opsItemComment } from './adf';
import { errorMessage } from './errors';
import type { AlarmStateChange } from './events';
import { incidentKey, type IncidentRecord } from './incident-store';
import { commentDocOrLost, type ProcessorDeps } from './jira-steps';
import { logger } from './logger';
import { browseUrl } from './notifier';
import { accountLabel, singleLine, truncate } from './text';

/**
 * The Systems Manager SDK, loaded on first use: requiring it costs ~55 ms of module init (measured, `npm run bench`),
 * a fifth of the handler's cold start, and only OpsCenter (off by default) needs it.
 */
export function ssmSdk(): typeof Ssm {
  return require('@aws-sdk/client-ssm') as typeof Ssm;
}

/**
 * CreateOpsItem's Source: "The source name can't contain the following strings: aws, amazon, and amzn" (Systems
 * Manager API reference, CreateOpsItem).
 */
export const OPS_ITEM_SOURCE = 'observability-hub';
/** OpsCenter severities are 1 (Critical) to 4 (Low), priorities 1 to 5: a ticketed alarm is High. */
export const OPS_ITEM_SEVERITY = '2';
export const OPS_ITEM_PRIORITY = 2;
/** CreateOpsItem's Title and Description limits (1024 and 2048 characters). */
const TITLE_MAX = 1024;
const DESCRIPTION_MAX = 2048;

export interface OpsItemInput {
  readonly title: string;
  readonly description: string;
  /** The deduplication string: one open OpsItem per value. */
  readonly dedup: string;
  readonly jiraKey: string;
  readonly jiraUrl: string;
  readonly resourceArn?: string;
  /** Further operational data (String, searchable). */
  readonly data: Readonly<Record<string, string>>;
}

/** The SSM client, the hub's region (for console links) and the request shapes. */
export class OpsCenter {
  constructor(
    private readonly ssm: SSMClient,
    private readonly region: string | undefined,
  ) {}

  /** Creates the OpsItem, or adopts the open one with the same dedup string; returns its id. */
  async open(input: OpsItemInput): Promise<string> {
    const searchable = (Value: string) => ({ Type: 'SearchableString' as const, Value });
    try {
      const out = await this.ssm.send(
        new (ssmSdk().CreateOpsItemCommand)({
          Title: truncate(singleLine(input.title, TITLE_MAX), TITLE_MAX),
          Description: truncate(input.description, DESCRIPTION_MAX),
          Source: OPS_ITEM_SOURCE,
          Severity: OPS_ITEM_SEVERITY,
          Priority: OPS_ITEM_PRIORITY,
          Category: 'Availability',
          OperationalData: {
            // Reserved keys (Systems Manager user guide, "Managing duplicate OpsItems" and "Create OpsItems manually").
            '/aws/dedup': searchable(JSON.stringify({ dedupString: input.dedup })),
            ...(input.resourceArn
              ? { '/aws/resources': searchable(JSON.stringify([{ arn: input.resourceArn }])) }
              : {}),
            jiraIssueKey: searchable(input.jiraKey),
            jiraIssueUrl: { Type: 'String', Value: input.jiraUrl },
            ...Object.fromEntries(Object.entries(input.data).map(([k, v]) => [k, searchable(v.slice(0, 1000))])),
          },
        }),
      );
      if (!out.OpsItemId) throw new Error('CreateOpsItem returned no OpsItemId');
      return out.OpsItemId;
    } catch (err) {
      const existing = (err as { name?: string; OpsItemId?: string }).OpsItemId;
      if ((err as Error).name === 'OpsItemAlreadyExistsException' && existing) return existing;
      throw new Error(`SSM CreateOpsItem failed: ${(err as Error).name ?? 'Error'}: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  }

  async resolve(opsItemId: string): Promise<void> {
    try {
      await this.ssm.send(new (ssmSdk().UpdateOpsItemCommand)({ OpsItemId: opsItemId, Status: 'Resolved' }));
    } catch (err) {
      throw new Error(
        `SSM UpdateOpsItem ${opsItemId} failed: ${(err as Error).name ?? 'Error'}: ${errorMessage(err)}`,
        {
          cause: err,
        },
      );
    }
  }

  consoleUrl(opsItemId: string): string | undefined {
    const r = this.region;
    if (!r || !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(r)) return undefined;
    return `https://${r}.console.aws.amazon.com/systems-manager/opsitems/${encodeURIComponent(opsItemId)}?region=${r}`;
  }
}

/** One OpsItem per alarm while it is open: the dedup string is the alarm's incident key, hashed to a fixed length. */
export function alarmDedupString(change: Pick<AlarmStateChange, 'accountId' | 'region' | 'alarmName'>): string {
  const digest = createHash('sha256').update(incidentKey(change)).digest('hex').slice(0, 40);
  return `cw-alarm-${digest}`;
}

/** The result's note: what OpsCenter did, or why it could not. */
export interface OpsItemOutcome {
  readonly opsItemId?: string;
  readonly note: string;
}

/**
 * The incident of this ALARM just opened its own issue: its OpsItem (created or adopted), recorded on the alarm's
 * item and named in the issue by a comment (once: a retry that finds it recorded comments nothing). Never throws.
 */
export async function openAlarmOpsItem(
  change: AlarmStateChange,
  issueKey: string,
  openedByChangeId: string,
  deps: ProcessorDeps,
  deadline: number,
): Promise<OpsItemOutcome | undefined> {
  const { opsCenter, config, store, clock } = deps;
  if (!opsCenter) return undefined;
  let id: string;
  try {
    const accountName = config.accountNames[change.accountId];
    id = await opsCenter.open({
      title: `[ALARM] ${change.alarmName} (account ${accountLabel(change.accountId, accountName)}, ${change.region})`,
      description: [
        `CloudWatch alarm ${change.alarmName} in account ${accountLabel(change.accountId, accountName)} ` +
          `(${change.region}) changed to ALARM at ${change.timestamp}.`,
        '',
        `JIRA issue: ${issueKey} ${browseUrl(config.jiraBaseUrl, issueKey)}`,
        '',
        `Reason: ${change.reason}`,
      ].join('\n'),
      dedup: alarmDedupString(change),
      jiraKey: issueKey,
      jiraUrl: browseUrl(config.jiraBaseUrl, issueKey),
      resourceArn: change.alarmArn,
      data: {
        alarmName: change.alarmName,
        accountId: change.accountId,
        region: change.region,
        stateChangeId: change.changeId,
      },
    });
  } catch (err) {
    logger.error('OpsCenter: could not create the OpsItem; JIRA and the email go on', { error: err as Error });
    return { note: `OpsCenter: ${errorMessage(err)}` };
  }
  let before: IncidentRecord | undefined | false;
  try {
    before = await store.setOpsItem(change, openedByChangeId, id, clock.now());
  } catch (err) {
    logger.warn('OpsCenter: could not record the OpsItem on the alarm', { error: err as Error, opsItemId: id });
    return { opsItemId: id, note: `OpsCenter OpsItem ${id} (not recorded on the alarm: ${errorMessage(err)})` };
  }
  if (before === false) {
    // An OK closed the incident between the create and this write: nothing would resolve the OpsItem later.
    const resolved = await resolveOpsItem(id, deps);
    return { opsItemId: id, note: `OpsCenter OpsItem ${id}; the incident closed meanwhile: ${resolved}` };
  }
  if (before?.opsItemId === id) return { opsItemId: id, note: `OpsCenter OpsItem ${id}` };
  const lost = await commentDocOrLost(issueKey, opsItemComment(id, opsCenter.consoleUrl(id)), deps, deadline).catch(
    (err: unknown) => {
      logger.warn('OpsCenter: could not name the OpsItem in the issue', { error: err as Error, opsItemId: id });
      return `not named in ${issueKey}: ${errorMessage(err)}`;
    },
  );
  logger.info('OpsCenter OpsItem opened for the incident', { opsItemId: id });
  return { opsItemId: id, note: lost ? `OpsCenter OpsItem ${id} (${lost})` : `OpsCenter OpsItem ${id}` };
}

/** The umbrella issue of a storm window was created: one OpsItem for the storm. Never throws. */
export async function openStormOpsItem(
  change: AlarmStateChange,
  windowKey: string,
  umbrellaKey: string,
  deps: ProcessorDeps,
  deadline: number,
): Promise<OpsItemOutcome | undefined> {
  const { opsCenter, config, store, clock } = deps;
  if (!opsCenter) return undefined;
  try {
    const id = await opsCenter.open({
      title: `Alarm storm since ${windowKey.replace(/^STORM#/, '')} (JIRA ${umbrellaKey})`,
      description:
        `More critical alarms went to ALARM in the storm window ${windowKey.replace(/^STORM#/, '')} than get their ` +
        `own issue; they are tracked on the JIRA storm issue ${umbrellaKey} ${browseUrl(config.jiraBaseUrl, umbrellaKey)}.`,
      dedup: `cw-storm-${createHash('sha256').update(windowKey).digest('hex').slice(0, 40)}`,
      jiraKey: umbrellaKey,
      jiraUrl: browseUrl(config.jiraBaseUrl, umbrellaKey),
      resourceArn: change.alarmArn,
      data: { stormWindow: windowKey, firstAlarmName: change.alarmName, firstAccountId: change.accountId },
    });
    const before = await store.setUmbrellaOpsItem(windowKey, id, clock.now());
    // Named in the umbrella once: a retry that finds it recorded comments nothing.
    if (before !== false && before?.umbrellaOpsItemId !== id) {
      await commentDocOrLost(umbrellaKey, opsItemComment(id, opsCenter.consoleUrl(id)), deps, deadline).catch(
        (err: unknown) =>
          logger.warn('OpsCenter: could not name the OpsItem in the storm issue', { error: err as Error }),
      );
    }
    return { opsItemId: id, note: `OpsCenter OpsItem ${id}` };
  } catch (err) {
    logger.error('OpsCenter: could not open the storm OpsItem', { error: err as Error });
    return { note: `OpsCenter: ${errorMessage(err)}` };
  }
}

/** Resolves an OpsItem (the OK that closed its incident); returns the note for the result. Never throws. */
export async function resolveOpsItem(opsItemId: string | undefined, deps: ProcessorDeps): Promise<string> {
  if (!opsItemId || !deps.opsCenter) return '';
  try {
    await deps.opsCenter.resolve(opsItemId);
    logger.info('OpsCenter OpsItem resolved', { opsItemId });
    return `OpsCenter OpsItem ${opsItemId} resolved`;
  } catch (err) {
    logger.error('OpsCenter: could not resolve the OpsItem', { error: err as Error, opsItemId });
    return `OpsCenter: ${errorMessage(err)}`;
  }
}
