import * as z from 'zod/mini';
import { ConfigError } from './errors';

/** Handler configuration, read from environment variables (names are a contract with the stack and operators). */
export interface Config {
  /** Site root without trailing slash, e.g. `https://example.atlassian.net`. */
  readonly jiraBaseUrl: string;
  readonly jiraProjectKey: string;
  readonly jiraIssueType: string;
  readonly jiraSecretArn: string;
  readonly alertTopicArn: string;
  readonly incidentTableName: string;
  /** Alarms whose name matches get JIRA tickets; all others get email only. */
  readonly ticketAlarmPattern: RegExp;
  /** Transition (name or id) applied when the alarm returns to OK. */
  readonly resolveTransition?: string;
  readonly requestTimeoutMs: number;
  readonly maxAttempts: number;
  /**
   * How long JIRA's search index may take to show a new issue. A create whose outcome is unknown holds the
   * alarm's claim this long, so no one re-posts it before a label search can see it.
   */
  readonly searchLagMs: number;
  /** Alarm storms: at most this many new issues per storm window, across all alarms (then one umbrella issue). */
  readonly stormMaxNewIssues: number;
  /** Length of a storm window (fixed windows of the handler's clock, aligned to the epoch). */
  readonly stormWindowMs: number;
  /** Queue of the digest emails (state changes that are not emailed one by one); unset: everything is immediate. */
  readonly digestQueueUrl?: string;
  /** Member account names by account id, for emails, summaries and comments. */
  readonly accountNames: Readonly<Record<string, string>>;
  /** First retry delay of a failed queue record (doubled per receive, capped by the queue's visibility timeout). */
  readonly retryBaseSeconds: number;
  /** The buffer queue: where an OK's delayed "resolve after the grace period" message goes. */
  readonly bufferQueueUrl?: string;
  /**
   * An OK resolves its alarm's issue only after this long without a newer ALARM (0: at once). Needs
   * `bufferQueueUrl`: without it, OKs resolve at once.
   */
  readonly resolveGraceSeconds: number;
  /** Systems Manager OpsCenter: critical incidents also open an OpsItem. */
  readonly opsCenterEnabled: boolean;
  /** Planned changes: critical ALARMs they cover open no ticket while they last (maintenance.ts). */
  readonly maintenanceWindows: readonly MaintenanceWindow[];
  /** CloudWatch namespace of the pipeline's own metrics (the heartbeat's success). */
  readonly pipelineMetricNamespace: string;
}

export type Weekday = 'SUN' | 'MON' | 'TUE' | 'WED' | 'THU' | 'FRI' | 'SAT';
/** Weekdays in the order of `Date.prototype.getUTCDay()`. */
export const WEEKDAYS: readonly Weekday[] = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** One MAINTENANCE_WINDOWS entry (the stack's `maintenanceWindows[]` config entry), validated. */
export interface MaintenanceWindow {
  readonly name: string;
  /** One-off window: epoch ms. */
  readonly startMs?: number;
  readonly endMs?: number;
  /** Recurring window: every listed weekday (the start day, UTC) at `startMinutes` past midnight UTC. */
  readonly weekly?: {
    readonly days: readonly Weekday[];
    readonly startMinutes: number;
    readonly durationMinutes: number;
  };
  /** Covered member accounts; absent: every account. */
  readonly accounts?: readonly string[];
  /** Covered alarm names (unanchored, like JIRA_TICKET_ALARM_PATTERN); absent: every alarm. */
  readonly alarmNamePattern?: RegExp;
}

/** Below Lambda's first async retry (about a minute), so an invocation's own retry is never held back. */
export const DEFAULT_SEARCH_LAG_MS = 30_000;

export const DEFAULT_STORM_MAX_NEW_ISSUES = 5;
export const DEFAULT_STORM_WINDOW_SECONDS = 900;
export const DEFAULT_RETRY_BASE_SECONDS = 15;
/** The stack's PIPELINE_METRIC_NAMESPACE (lib/hub/incident-pipeline.ts). */
export const DEFAULT_PIPELINE_METRIC_NAMESPACE = 'Observability/Pipeline';
/** SQS delays a message by at most 15 minutes (SQS developer guide, "Amazon SQS message timers"). */
export const MAX_RESOLVE_GRACE_SECONDS = 900;

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

type Check = (value: string) => string | undefined;

function envString(hint: string, check?: Check) {
  return z.string({ error: (issue) => (issue.input === undefined ? `is not set; ${hint}` : 'must be a string') }).check(
    z.superRefine((value: string, ctx) => {
      if (value.trim() === '') ctx.addIssue(`is empty; ${hint}`);
      else if (check) {
        const problem = check(value);
        if (problem) ctx.addIssue(`${problem}, got '${value}'`);
      }
    }),
  );
}

function optionalInt(min: number, max: number) {
  return z.optional(
    z.string().check(
      z.superRefine((value: string, ctx) => {
        const n = Number(value);
        if (!/^\d+$/.test(value.trim()) || n < min || n > max) {
          ctx.addIssue(`must be a whole number between ${min} and ${max}, got '${value}'`);
        }
      }),
    ),
  );
}

const checkBaseUrl: Check = (value) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL such as https://example.atlassian.net';
  }
  if (url.username || url.password || url.search || url.hash) {
    return 'must not contain credentials, a query or a fragment (credentials come from JIRA_SECRET_ARN)';
  }
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname)) return undefined;
  return 'must use https (plain http is accepted only for the loopback hosts 127.0.0.1, localhost and [::1])';
};

const checkRegex: Check = (value) => {
  try {
    new RegExp(value);
    return undefined;
  } catch (err) {
    return `is not a valid JavaScript regular expression (${(err as Error).message})`;
  }
};

const checkQueueUrl: Check = (value) => {
  try {
    const url = new URL(value);
    return /^\/\d{12}\/[\w-]{1,80}$/.test(url.pathname) ? undefined : 'must be an SQS queue URL';
  } catch {
    return 'must be an SQS queue URL such as https://sqs.us-east-1.amazonaws.com/111111111111/sqs-incident-digest-dev';
  }
};

const checkAccountNames: Check = (value) => {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return 'must be a JSON object {"<12-digit account id>": "<name>"}';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return 'must be a JSON object {"<12-digit account id>": "<name>"}';
  }
  const bad = Object.entries(parsed).find(([id, name]) => !/^\d{12}$/.test(id) || typeof name !== 'string');
  return bad ? `must map 12-digit account ids to names (entry '${bad[0]}' does not)` : undefined;
};

const ISO_WITH_OFFSET = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/;
const HH_MM = /^([01]\d|2[0-3]):([0-5]\d)$/;
const WINDOW_NAME = /^[a-z0-9-]{2,32}$/;
const WINDOW_KEYS = new Set(['name', 'start', 'end', 'weekly', 'accounts', 'alarmNamePattern']);

/**
 * MAINTENANCE_WINDOWS: a JSON list of the stack's `maintenanceWindows[]` entries. Returns the windows, or the first
 * problem (naming the entry and the field).
 */
export function parseMaintenanceWindows(value: string): { windows: MaintenanceWindow[] } | { problem: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return { problem: 'must be a JSON list of maintenance windows' };
  }
  if (!Array.isArray(parsed)) return { problem: 'must be a JSON list of maintenance windows' };
  const windows: MaintenanceWindow[] = [];
  const names = new Set<string>();
  for (const [i, entry] of parsed.entries()) {
    const at = (field?: string) => `entry ${i}${field ? ` ${field}` : ''}`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
      return { problem: `${at()} must be an object {name, start and end | weekly, accounts?, alarmNamePattern?}` };
    }
    const w = entry as Record<string, unknown>;
    const unknown = Object.keys(w).find((k) => !WINDOW_KEYS.has(k));
    if (unknown) return { problem: `${at()} has an unknown field '${unknown}'` };
    if (typeof w.name !== 'string' || !WINDOW_NAME.test(w.name)) {
      return { problem: `${at('name')} must be 2-32 lowercase letters, digits or hyphens` };
    }
    if (names.has(w.name)) return { problem: `${at('name')} '${w.name}' is a duplicate` };
    names.add(w.name);
    const named = (field: string) => `${at(field)} (window '${w.name as string}')`;
    const oneOff = w.start !== undefined || w.end !== undefined;
    if (oneOff === (w.weekly !== undefined)) {
      return { problem: `${at()} (window '${w.name}') must be either one-off (start and end) or recurring (weekly)` };
    }
    let window: MaintenanceWindow = { name: w.name };
    if (oneOff) {
      for (const field of ['start', 'end'] as const) {
        const v = w[field];
        if (typeof v !== 'string' || !ISO_WITH_OFFSET.test(v) || Number.isNaN(Date.parse(v))) {
          return { problem: `${named(field)} must be an ISO 8601 time with an offset, e.g. 2026-01-01T02:00:00Z` };
        }
      }
      const startMs = Date.parse(w.start as string);
      const endMs = Date.parse(w.end as string);
      if (endMs <= startMs) return { problem: `${named('end')} must be after start` };
      window = { ...window, startMs, endMs };
    } else {
      const weekly = w.weekly as Record<string, unknown> | null;
      if (typeof weekly !== 'object' || weekly === null || Array.isArray(weekly)) {
        return { problem: `${named('weekly')} must be an object {days, startTime, durationMinutes}` };
      }
      const days = weekly.days ?? [...WEEKDAYS];
      if (
        !Array.isArray(days) ||
        days.length === 0 ||
        days.some((d) => typeof d !== 'string' || !WEEKDAYS.includes(d as Weekday))
      ) {
        return { problem: `${named('weekly.days')} must list weekdays among ${WEEKDAYS.join(', ')}` };
      }
      const time = typeof weekly.startTime === 'string' ? HH_MM.exec(weekly.startTime) : null;
      if (!time) return { problem: `${named('weekly.startTime')} must be a UTC time HH:MM, e.g. 02:00` };
      const duration = weekly.durationMinutes;
      if (typeof duration !== 'number' || !Number.isInteger(duration) || duration < 1 || duration > 7 * 24 * 60) {
        return { problem: `${named('weekly.durationMinutes')} must be a whole number of minutes between 1 and 10080` };
      }
      window = {
        ...window,
        weekly: {
          days: [...new Set(days as Weekday[])],
          startMinutes: Number(time[1]) * 60 + Number(time[2]),
          durationMinutes: duration,
        },
      };
    }
    if (w.accounts !== undefined) {
      if (
        !Array.isArray(w.accounts) ||
        w.accounts.length === 0 ||
        w.accounts.some((a) => typeof a !== 'string' || !/^\d{12}$/.test(a))
      ) {
        return { problem: `${named('accounts')} must be a non-empty list of 12-digit account ids` };
      }
      window = { ...window, accounts: w.accounts as string[] };
    }
    if (w.alarmNamePattern !== undefined) {
      if (typeof w.alarmNamePattern !== 'string') return { problem: `${named('alarmNamePattern')} must be a string` };
      const problem = checkRegex(w.alarmNamePattern);
      if (problem) return { problem: `${named('alarmNamePattern')} ${problem}` };
      window = { ...window, alarmNamePattern: new RegExp(w.alarmNamePattern) };
    }
    windows.push(window);
  }
  return { windows };
}

const maintenanceWindowsVariable = z.optional(
  z.string().check(
    z.superRefine((value: string, ctx) => {
      const out = parseMaintenanceWindows(value);
      if ('problem' in out) ctx.addIssue(out.problem);
    }),
  ),
);

const booleanVariable = z.optional(
  z.string().check(
    z.superRefine((value: string, ctx) => {
      if (value !== 'true' && value !== 'false') ctx.addIssue(`must be 'true' or 'false', got '${value}'`);
    }),
  ),
);

const envSchema = z.object({
  JIRA_BASE_URL: envString('set it to the JIRA Cloud site, e.g. https://example.atlassian.net', checkBaseUrl),
  JIRA_PROJECT_KEY: envString('set it to the JIRA project key, e.g. OPS', (v) =>
    /^[A-Z][A-Z0-9_]+$/.test(v) ? undefined : 'must be a JIRA project key (uppercase letter, then A-Z, 0-9 or _)',
  ),
  JIRA_ISSUE_TYPE: envString('set it to an issue type of the project, e.g. Incident'),
  JIRA_SECRET_ARN: envString('set it to the Secrets Manager secret holding {"email","apiToken"}'),
  ALERT_TOPIC_ARN: envString('set it to the alert SNS topic ARN', (v) =>
    /^arn:[\w-]+:sns:[\w-]*:\d{12}:[\w.-]+$/.test(v) ? undefined : 'must be an SNS topic ARN',
  ),
  INCIDENT_TABLE_NAME: envString('set it to the DynamoDB incident table name', (v) =>
    /^[\w.-]{3,255}$/.test(v) ? undefined : 'must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)',
  ),
  JIRA_TICKET_ALARM_PATTERN: envString(
    'set it to a regular expression matching the alarms that get tickets',
    checkRegex,
  ),
  JIRA_RESOLVE_TRANSITION: z.optional(z.string()),
  JIRA_REQUEST_TIMEOUT_MS: optionalInt(100, 60_000),
  JIRA_MAX_ATTEMPTS: optionalInt(1, 10),
  JIRA_SEARCH_LAG_MS: optionalInt(0, 600_000),
  STORM_MAX_NEW_ISSUES: optionalInt(1, 1000),
  STORM_WINDOW_SECONDS: optionalInt(1, 86_400),
  DIGEST_QUEUE_URL: z.optional(envString('set it to the digest queue URL or leave it unset', checkQueueUrl)),
  ACCOUNT_NAMES: z.optional(envString('set it to a JSON object of account names or leave it unset', checkAccountNames)),
  QUEUE_RETRY_BASE_SECONDS: optionalInt(0, 900),
  BUFFER_QUEUE_URL: z.optional(envString('set it to the buffer queue URL or leave it unset', checkQueueUrl)),
  RESOLVE_GRACE_SECONDS: optionalInt(0, MAX_RESOLVE_GRACE_SECONDS),
  OPSCENTER_ENABLED: booleanVariable,
  MAINTENANCE_WINDOWS: maintenanceWindowsVariable,
  PIPELINE_METRIC_NAMESPACE: z.optional(
    envString('set it to the namespace of the pipeline metrics or leave it unset', (v) =>
      /^[^:]{1,255}$/.test(v) && !v.startsWith('AWS/') ? undefined : 'must be a CloudWatch namespace (not AWS/...)',
    ),
  ),
});

/** Validates the environment; throws a ConfigError naming every bad variable and the fix. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')} ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  const transition = e.JIRA_RESOLVE_TRANSITION?.trim();
  return {
    jiraBaseUrl: e.JIRA_BASE_URL.trim().replace(/\/+$/, ''),
    jiraProjectKey: e.JIRA_PROJECT_KEY.trim(),
    jiraIssueType: e.JIRA_ISSUE_TYPE.trim(),
    jiraSecretArn: e.JIRA_SECRET_ARN.trim(),
    alertTopicArn: e.ALERT_TOPIC_ARN.trim(),
    incidentTableName: e.INCIDENT_TABLE_NAME.trim(),
    ticketAlarmPattern: new RegExp(e.JIRA_TICKET_ALARM_PATTERN),
    resolveTransition: transition ? transition : undefined,
    requestTimeoutMs: e.JIRA_REQUEST_TIMEOUT_MS ? Number(e.JIRA_REQUEST_TIMEOUT_MS) : 5000,
    maxAttempts: e.JIRA_MAX_ATTEMPTS ? Number(e.JIRA_MAX_ATTEMPTS) : 4,
    searchLagMs: e.JIRA_SEARCH_LAG_MS ? Number(e.JIRA_SEARCH_LAG_MS) : DEFAULT_SEARCH_LAG_MS,
    stormMaxNewIssues: e.STORM_MAX_NEW_ISSUES ? Number(e.STORM_MAX_NEW_ISSUES) : DEFAULT_STORM_MAX_NEW_ISSUES,
    stormWindowMs: (e.STORM_WINDOW_SECONDS ? Number(e.STORM_WINDOW_SECONDS) : DEFAULT_STORM_WINDOW_SECONDS) * 1000,
    digestQueueUrl: e.DIGEST_QUEUE_URL?.trim(),
    accountNames: e.ACCOUNT_NAMES ? (JSON.parse(e.ACCOUNT_NAMES) as Record<string, string>) : {},
    retryBaseSeconds: e.QUEUE_RETRY_BASE_SECONDS ? Number(e.QUEUE_RETRY_BASE_SECONDS) : DEFAULT_RETRY_BASE_SECONDS,
    bufferQueueUrl: e.BUFFER_QUEUE_URL?.trim(),
    resolveGraceSeconds: e.RESOLVE_GRACE_SECONDS ? Number(e.RESOLVE_GRACE_SECONDS) : 0,
    opsCenterEnabled: e.OPSCENTER_ENABLED === 'true',
    maintenanceWindows: e.MAINTENANCE_WINDOWS
      ? (parseMaintenanceWindows(e.MAINTENANCE_WINDOWS) as { windows: MaintenanceWindow[] }).windows
      : [],
    pipelineMetricNamespace: e.PIPELINE_METRIC_NAMESPACE?.trim() ?? DEFAULT_PIPELINE_METRIC_NAMESPACE,
  };
}
