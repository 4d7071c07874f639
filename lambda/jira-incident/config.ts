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
}

/** Below Lambda's first async retry (about a minute), so an invocation's own retry is never held back. */
export const DEFAULT_SEARCH_LAG_MS = 30_000;

export const DEFAULT_STORM_MAX_NEW_ISSUES = 5;
export const DEFAULT_STORM_WINDOW_SECONDS = 900;
export const DEFAULT_RETRY_BASE_SECONDS = 15;

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
  };
}
