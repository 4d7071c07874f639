/**
 * Maintenance windows (MAINTENANCE_WINDOWS, README "Maintenance windows"): a planned change opens no ticket storm.
 *
 * A critical ALARM whose state time falls inside an occurrence of a window covering its account (`accounts` absent:
 * all) and alarm name (`alarmNamePattern` absent: all) opens no ticket: it is emailed at once, marked "muted by
 * maintenance window <name> until <end>", recorded (`CHANGE#` outcome `muted`, with the window), held on its
 * `ALARM#` item (`heldAlarm`) and remembered on the occurrence's item `MAINT#<name>#<occurrence end>`. OK and
 * INSUFFICIENT_DATA are handled as usual (closing an open incident is housekeeping). When the occurrence ends, the
 * alarms still in ALARM open their tickets (maintenance-end.ts).
 *
 * Weekly windows: every listed weekday is a start day, at `startTime` UTC for `durationMinutes`, so an occurrence may
 * cross midnight (and a week's end). One-off windows: [start, end).
 */
import type { MaintenanceWindow } from './config';
import { WEEKDAYS } from './config';
import type { AlarmStateChange } from './events';
import { incidentKey, type JiraResult } from './incident-store';
import type { ProcessorDeps } from './jira-steps';
import { logger } from './logger';

const DAY_MS = 24 * 3600 * 1000;

/** One occurrence of a window: [startMs, endMs). */
export interface Occurrence {
  readonly window: MaintenanceWindow;
  readonly startMs: number;
  readonly endMs: number;
  /** `MAINT#<name>#<end ISO>`: its item. */
  readonly key: string;
}

/**
 * The item of a window's occurrence is named by its end, to the second: the end schedule's event carries that time
 * (`<aws.scheduler.scheduled-time>` of the `at(...)` or weekly `cron(...)` end expression, lib/hub/maintenance-windows.ts).
 */
export function maintenanceKey(window: string, endMs: number): string {
  return `MAINT#${window}#${new Date(Math.floor(endMs / 1000) * 1000).toISOString()}`;
}

/** The occurrence of `window` that contains `atMs`, if any. */
export function occurrenceAt(window: MaintenanceWindow, atMs: number): Occurrence | undefined {
  const make = (startMs: number, endMs: number): Occurrence => ({
    window,
    startMs,
    endMs,
    key: maintenanceKey(window.name, endMs),
  });
  if (window.startMs !== undefined && window.endMs !== undefined) {
    return atMs >= window.startMs && atMs < window.endMs ? make(window.startMs, window.endMs) : undefined;
  }
  const weekly = window.weekly;
  if (!weekly) return undefined;
  const durationMs = weekly.durationMinutes * 60_000;
  const dayStart = Math.floor(atMs / DAY_MS) * DAY_MS;
  // The latest start first: today's, then earlier start days an occurrence could still last from.
  for (let back = 0; back <= Math.ceil(weekly.durationMinutes / 1440) + 1; back++) {
    const startMs = dayStart - back * DAY_MS + weekly.startMinutes * 60_000;
    if (!weekly.days.includes(WEEKDAYS[new Date(startMs).getUTCDay()])) continue;
    if (atMs >= startMs && atMs < startMs + durationMs) return make(startMs, startMs + durationMs);
  }
  return undefined;
}

export function covers(window: MaintenanceWindow, accountId: string, alarmName: string): boolean {
  return (
    (window.accounts === undefined || window.accounts.includes(accountId)) &&
    (window.alarmNamePattern === undefined || window.alarmNamePattern.test(alarmName))
  );
}

/**
 * The occurrence covering this alarm at `atMs` (the one that lasts longest when several do), ignoring `except`
 * (an occurrence that is ending).
 */
export function coveringOccurrence(
  windows: readonly MaintenanceWindow[],
  alarm: { readonly accountId: string; readonly alarmName: string },
  atMs: number,
  except?: string,
): Occurrence | undefined {
  let best: Occurrence | undefined;
  for (const w of windows) {
    if (!covers(w, alarm.accountId, alarm.alarmName)) continue;
    const occurrence = occurrenceAt(w, atMs);
    if (!occurrence || occurrence.key === except) continue;
    if (!best || occurrence.endMs > best.endMs) best = occurrence;
  }
  return best;
}

/** The occurrence muting this critical ALARM (its own state time decides), if any. */
export function mutingOccurrence(change: AlarmStateChange, deps: ProcessorDeps): Occurrence | undefined {
  if (change.newState !== 'ALARM' || deps.config.maintenanceWindows.length === 0) return undefined;
  return coveringOccurrence(deps.config.maintenanceWindows, change, change.stateAtMs);
}

/**
 * Mutes a critical ALARM: records its time (so ordering holds as for any ALARM), holds it on the alarm's item and
 * remembers the alarm on the occurrence's item. No JIRA. Idempotent (a retry writes the same).
 */
export async function muteAlarm(
  change: AlarmStateChange,
  occurrence: Occurrence,
  deps: ProcessorDeps,
): Promise<JiraResult> {
  const { store, clock } = deps;
  await store.observeState(change, clock.now());
  await store.holdAlarm(change, occurrence.key, clock.now());
  await store.rememberMuted(
    occurrence.key,
    { window: occurrence.window.name, startMs: occurrence.startMs, endMs: occurrence.endMs },
    incidentKey(change),
    clock.now(),
  );
  const until = new Date(occurrence.endMs).toISOString();
  logger.info('Critical ALARM muted by a maintenance window: no ticket now', {
    window: occurrence.window.name,
    until,
  });
  return {
    outcome: 'muted',
    reason: `muted by maintenance window ${occurrence.window.name} until ${until}`,
    maintenance: { window: occurrence.window.name, until },
  };
}
