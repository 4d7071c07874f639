/**
 * The end of a maintenance window's occurrence ('Maintenance Window Ended', detail {window, endedAt}; README
 * "Maintenance windows"): every alarm the occurrence muted whose newest handled state is still ALARM and that has no
 * open incident opens its ticket now, through the normal claim and storm rules (openOrComment), with a description
 * that says the window held it back. One summary email lists the tickets opened.
 *
 * Idempotent on redelivery: the alarms dealt with are kept on the occurrence's item (`released`), and an alarm whose
 * held ALARM already opened its incident is not opened again (`openedByChangeId`). An alarm another window still
 * covers moves to that window's occurrence (its end opens the ticket). Out of time, or a failure (JIRA, a claim
 * being held): what is done is recorded and emailed, and the record comes back for the rest.
 */
import { IncidentBusyError, errorMessage } from './errors';
import type { AlarmStateChange, MaintenanceEndedEvent } from './events';
import type { IncidentRecord } from './incident-store';
import { iso, liveClaim, type ProcessorDeps } from './jira-steps';
import { logger } from './logger';
import { coveringOccurrence, maintenanceKey } from './maintenance';
import { browseUrl } from './notifier';
import { openOrComment, withOpsItem } from './processor';
import { accountLabel, asciiSingleLine, singleLine } from './text';

export interface MaintenanceEndResult {
  readonly outcome: 'maintenance-ended';
  readonly window: string;
  readonly endedAt: string;
  /** Tickets opened (or joined to a storm issue) now. */
  readonly opened: readonly { alarmKey: string; alarmName: string; issueKey?: string; outcome: string }[];
  readonly skipped: Readonly<Record<string, number>>;
  /** Storm windows whose umbrella issue got alarms (their summaries are refreshed after the batch). */
  readonly umbrellas: readonly string[];
}

type Decision =
  | { readonly open: AlarmStateChange }
  | { readonly skip: 'nothing held' | 'held by a later window' | 'recovered' | 'incident open' | 'still covered' };

function newestIsAlarm(item: IncidentRecord): boolean {
  const alarmAt = item.lastAlarmStateAtMs;
  if (alarmAt === undefined) return false;
  // Equal times: ALARM wins (README "Late, repeated and reordered events", rule 4).
  return alarmAt >= (item.lastOkStateAtMs ?? -Infinity) && alarmAt >= (item.lastInsufficientStateAtMs ?? -Infinity);
}

async function decide(
  alarmKey: string,
  item: IncidentRecord | undefined,
  occurrenceKey: string,
  event: MaintenanceEndedEvent,
  deps: ProcessorDeps,
): Promise<Decision> {
  const held = item?.heldAlarm;
  if (!item || !held) return { skip: 'nothing held' };
  if (item.heldBy !== occurrenceKey) return { skip: 'held by a later window' };
  if (!newestIsAlarm(item)) return { skip: 'recovered' };
  const opened = item.status === 'OPEN' && item.openedByChangeId === held.changeId;
  if (!opened && (item.status === 'OPEN' || liveClaim(item, deps.clock.now()))) return { skip: 'incident open' };
  if (!opened) {
    // Another window that still covers the alarm holds its ticket until it ends too.
    const other = coveringOccurrence(deps.config.maintenanceWindows, held, event.endedAtMs, occurrenceKey);
    if (other && other.endMs > event.endedAtMs) {
      const { store, clock } = deps;
      await store.rememberMuted(
        other.key,
        { window: other.window.name, startMs: other.startMs, endMs: other.endMs },
        alarmKey,
        clock.now(),
      );
      await store.moveHeldAlarm(alarmKey, occurrenceKey, other.key, clock.now());
      logger.info('Held ALARM moved to another maintenance window that still covers it', {
        alarmKey,
        window: other.window.name,
        until: iso(other.endMs),
      });
      return { skip: 'still covered' };
    }
  }
  return { open: { ...held, heldBack: { window: event.window, endedAt: event.endedAt } } };
}

/**
 * Opens the held-back tickets of the occurrence that ended. Throws (after recording and emailing what was done) when
 * it could not finish: the record comes back for the rest.
 */
export async function endMaintenance(
  event: MaintenanceEndedEvent,
  deps: ProcessorDeps,
  deadline: number,
  reserveMs: number,
): Promise<MaintenanceEndResult> {
  const { store, clock } = deps;
  const key = maintenanceKey(event.window, event.endedAtMs);
  const record = await store.getMaintenance(key);
  const released = record?.released ?? new Set<string>();
  const pending = [...(record?.alarms ?? [])].filter((a) => !released.has(a)).sort();
  const opened: { alarmKey: string; change: AlarmStateChange; issueKey?: string; outcome: string }[] = [];
  const skipped: Record<string, number> = {};
  const done: string[] = [];
  const umbrellas = new Set<string>();
  let failure: unknown;
  for (const alarmKey of pending) {
    if (clock.now() + reserveMs > deadline) {
      failure = new IncidentBusyError(
        `${pending.length - done.length} alarms left when this invocation ran out of time`,
      );
      break;
    }
    try {
      const decision = await decide(alarmKey, await store.getIncidentByKey(alarmKey), key, event, deps);
      if ('skip' in decision) {
        skipped[decision.skip] = (skipped[decision.skip] ?? 0) + 1;
        done.push(alarmKey);
        continue;
      }
      const change = decision.open;
      logger.appendKeys({ alarmName: change.alarmName, accountId: change.accountId, changeId: change.changeId });
      const jira = await withOpsItem(change, await openOrComment(change, deps, deadline), deps, deadline);
      if (jira.umbrella) umbrellas.add(jira.umbrella);
      opened.push({ alarmKey, change, issueKey: jira.issueKey, outcome: jira.outcome });
      done.push(alarmKey);
      logger.info('Maintenance window ended: held-back ticket opened', {
        window: event.window,
        outcome: jira.outcome,
        issueKey: jira.issueKey,
      });
    } catch (err) {
      failure = err;
      logger.warn('Maintenance window end: could not open a held-back ticket; the record comes back', {
        alarmKey,
        error: err as Error,
      });
      break;
    } finally {
      logger.removeKeys(['alarmName', 'accountId', 'changeId', 'ticketKey']);
    }
  }

  let emailed = opened.length === 0;
  if (opened.length) {
    try {
      await deps.notifier.send(summaryEmail(event, opened, skipped, deps));
      emailed = true;
    } catch (err) {
      // Their tickets are open: the redelivery lists them again (opened by their held ALARM) and emails.
      logger.error('Could not email the maintenance window summary', { error: err as Error });
      failure ??= err;
    }
  }
  const settled = emailed ? done : done.filter((a) => !opened.some((o) => o.alarmKey === a));
  await store.noteReleased(key, settled, event.endedAt, clock.now());
  logger.info('Maintenance window ended', {
    window: event.window,
    endedAt: event.endedAt,
    held: record?.alarms?.size ?? 0,
    opened: opened.length,
    skipped,
    finished: failure === undefined,
  });
  if (failure !== undefined) throw failure instanceof Error ? failure : new Error(errorMessage(failure));
  return {
    outcome: 'maintenance-ended',
    window: event.window,
    endedAt: event.endedAt,
    opened: opened.map((o) => ({
      alarmKey: o.alarmKey,
      alarmName: o.change.alarmName,
      issueKey: o.issueKey,
      outcome: o.outcome,
    })),
    skipped,
    umbrellas: [...umbrellas],
  };
}

function summaryEmail(
  event: MaintenanceEndedEvent,
  opened: readonly { change: AlarmStateChange; issueKey?: string; outcome: string }[],
  skipped: Readonly<Record<string, number>>,
  deps: ProcessorDeps,
) {
  const { config } = deps;
  const n = opened.length;
  const subject = asciiSingleLine(
    `[MAINTENANCE ENDED] ${event.window}: ${n} alarm${n === 1 ? '' : 's'} still in ALARM, ticket${n === 1 ? '' : 's'} opened`,
    99,
  );
  const lines = [
    `Maintenance window ${event.window} ended at ${event.endedAt}.`,
    `These critical alarms went to ALARM during the window, which muted their tickets, and are still in ALARM: ` +
      'their tickets open now.',
    '',
    ...opened.map((o) => {
      const c = o.change;
      const where = `account ${accountLabel(c.accountId, config.accountNames[c.accountId])}, ${c.region}`;
      const ticket = o.issueKey
        ? `${o.issueKey} ${browseUrl(config.jiraBaseUrl, o.issueKey)}${o.outcome === 'commented' ? ' (alarm storm issue)' : ''}`
        : 'no ticket';
      return `- ${singleLine(c.alarmName, 255)} (${where}): ALARM since ${c.timestamp} -> ${ticket}`;
    }),
    '',
    `Recovered during the window (no ticket): ${skipped.recovered ?? 0}`,
    `Already had an open incident: ${skipped['incident open'] ?? 0}`,
    `Still covered by another window: ${skipped['still covered'] ?? 0}`,
  ];
  return { subject, message: lines.join('\n') };
}
