import type { AdfDoc, ReplacedIssue } from './adf';
import { issueDescription, umbrellaDescription } from './adf';
import type { Clock } from './clock';
import type { Config } from './config';
import { JiraApiError, JiraRateLimitedError } from './errors';
import type { AlarmStateChange } from './events';
import type { JiraCredentials } from './jira-credentials';
import { logger } from './logger';
import { jiraLabel, singleLine } from './text';

/** Request bodies, exactly as sent (validated against the JIRA OpenAPI spec in the unit tests). */
export interface CreateIssueBody {
  fields: {
    project: { key: string };
    issuetype: { name: string };
    summary: string;
    description: AdfDoc;
    labels: string[];
  };
}
export interface CommentBody {
  body: AdfDoc;
}
export interface TransitionBody {
  transition: { id: string };
}
export interface EditIssueBody {
  fields: { summary: string };
}
export interface SearchBody {
  jql: string;
  maxResults: number;
  fields: string[];
}

export interface Transition {
  readonly id: string;
  readonly name: string;
}

/** Backoff: full jitter over BASE * 2^(attempt-1), capped. */
const BACKOFF_BASE_MS = 300;
const BACKOFF_CAP_MS = 5000;
/** A request is not started (nor a retry slept for) with less time than this left before the deadline. */
export const MIN_REQUEST_MS = 250;
const MAX_ERROR_TEXT = 1000;
/** Network errors raised before a connection exists (refused, DNS): the request was certainly not sent. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

export const SUMMARY_MAX = 255;
/** Label that ties an issue to the incident claim that created it (found again by search after a crash). */
export const CLAIM_LABEL_PREFIX = 'cw-incident-claim-';

export function buildCreateIssueBody(
  config: Config,
  change: AlarmStateChange,
  claimToken: string,
  replaces?: ReplacedIssue,
): CreateIssueBody {
  const accountName = config.accountNames[change.accountId];
  const account = accountName ? `${change.accountId} ${singleLine(accountName, 100)}` : change.accountId;
  const summary = singleLine(
    `[${change.newState}] ${change.alarmName} (account ${account}, ${change.region})`,
    SUMMARY_MAX,
  );
  const labels = [
    'cloudwatch-alarm',
    `aws-account-${change.accountId}`,
    jiraLabel('aws-region-', change.region),
    jiraLabel('alarm-', change.alarmName),
    `${CLAIM_LABEL_PREFIX}${claimToken}`,
  ];
  return {
    fields: {
      project: { key: config.jiraProjectKey },
      issuetype: { name: config.jiraIssueType },
      summary,
      description: issueDescription(change, replaces, accountName),
      labels: [...new Set(labels)],
    },
  };
}

/** Label of every alarm storm umbrella issue (find them all with `labels = alarm-storm`). */
export const STORM_LABEL = 'alarm-storm';

/** "Alarm storm: N alarms in M accounts since <window start>" (one line, <= 255). */
export function umbrellaSummary(alarms: number, accounts: number, windowStartMs: number): string {
  const since = new Date(windowStartMs)
    .toISOString()
    .replace(/:\d\d\.\d{3}Z$/, ' UTC')
    .replace('T', ' ');
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  return `Alarm storm: ${plural(alarms, 'alarm')} in ${plural(accounts, 'account')} since ${since}`;
}

export function buildUmbrellaIssueBody(
  config: Config,
  opts: {
    first: AlarmStateChange;
    windowStartMs: number;
    windowEndMs: number;
    ownIssues: readonly string[];
    alarms: number;
    accounts: number;
  },
  claimToken: string,
): CreateIssueBody {
  const start = new Date(opts.windowStartMs).toISOString().replace(/[-:]|\.\d{3}/g, '');
  return {
    fields: {
      project: { key: config.jiraProjectKey },
      issuetype: { name: config.jiraIssueType },
      summary: umbrellaSummary(opts.alarms, opts.accounts, opts.windowStartMs),
      description: umbrellaDescription({
        first: opts.first,
        accountName: config.accountNames[opts.first.accountId],
        windowStartMs: opts.windowStartMs,
        windowEndMs: opts.windowEndMs,
        maxNewIssues: config.stormMaxNewIssues,
        ownIssues: opts.ownIssues,
      }),
      labels: ['cloudwatch-alarm', STORM_LABEL, `storm-window-${start}`, `${CLAIM_LABEL_PREFIX}${claimToken}`],
    },
  };
}

export function buildClaimSearchBody(projectKey: string, claimTokens: readonly string[]): SearchBody {
  const labels = claimTokens.map((t) => jqlQuote(`${CLAIM_LABEL_PREFIX}${t}`)).join(', ');
  return {
    jql: `project = ${jqlQuote(projectKey)} AND labels in (${labels}) ORDER BY created ASC`,
    maxResults: 10,
    fields: ['summary'],
  };
}

/** A JQL string literal: double-quoted, `\` and `"` escaped, controls replaced. */
export function jqlQuote(value: string): string {
  return `"${singleLine(value, 1000).replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export interface JiraClientOptions {
  readonly baseUrl: string;
  readonly credentials: () => Promise<JiraCredentials>;
  /**
   * Called on 401 to drop the cached credentials: the request is then tried once more with credentials
   * read again (a rotated token), and a second 401 fails naming `credentialsSource`.
   */
  readonly onUnauthorized?: () => void;
  /** Where the credentials come from, for error messages (e.g. the secret ARN; never the token). */
  readonly credentialsSource?: string;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly clock: Clock;
  /**
   * Pipeline-wide back-pressure: asked before every request (waits out a cool-down, or throws
   * JiraRateLimitedError), and told of every 429.
   */
  readonly throttle?: {
    beforeRequest(what: string, deadline: number): Promise<void>;
    rateLimited(delayMs: number, reason: string): Promise<number>;
  };
  /** The HTTP client (the traced fetch when X-Ray is on). @default the global fetch, looked up per request */
  readonly fetch?: typeof fetch;
}

interface Attempt {
  readonly error: JiraApiError;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
}

/** JIRA Cloud REST v3 with per-request timeouts and bounded retries. Every call takes an absolute deadline (epoch ms). */
export class JiraClient {
  constructor(private readonly options: JiraClientOptions) {}

  /**
   * Creates an issue. JIRA has no idempotency key, so a create that may have been applied (5xx, timeout,
   * reset, a garbled 2xx) is never posted again by this call: a label search that finds the issue adopts
   * it, and one that finds nothing proves nothing (JIRA's search index lags for seconds), so the create then
   * fails as "outcome unknown" (`definitelyNotApplied` false). The caller keeps the claim until a later
   * search can be trusted. Failures that certainly created nothing (429, refused connection) are retried.
   */
  async createIssue(body: CreateIssueBody, deadline: number): Promise<{ id: string; key: string }> {
    const claimLabels = (body.fields?.labels ?? []).filter((label) => label.startsWith(CLAIM_LABEL_PREFIX));
    const findCreated = async (failure: JiraApiError) => {
      const unknown = (detail: string) =>
        new JiraApiError(
          failure.status,
          `${failure.message}; JIRA may have created the issue, so it is not posted again in this invocation ` +
            `(${detail})`,
        );
      if (claimLabels.length === 0) throw unknown('no claim label to search for it');
      const tokens = claimLabels.map((label) => label.slice(CLAIM_LABEL_PREFIX.length));
      let keys: string[];
      try {
        keys = await this.searchIssueKeys(buildClaimSearchBody(body.fields.project.key, tokens), deadline);
      } catch (err) {
        // Whatever the search answered, the create's outcome is still unknown.
        throw unknown(`searching for it failed too: ${(err as Error).message}`);
      }
      if (keys[0]) {
        logger.info('Found the issue of an unanswered create; not creating another', { ticketKey: keys[0] });
        return { id: keys[0], key: keys[0] };
      }
      throw unknown('a later attempt adopts it by its claim label, or creates it once the search can be trusted');
    };
    const created = await this.request('POST', '/rest/api/3/issue', body, deadline, findCreated);
    if (!isRecord(created) || typeof created.key !== 'string' || !/^[A-Z][A-Z0-9_]*-\d+$/.test(created.key)) {
      throw new JiraApiError(201, 'JIRA POST /rest/api/3/issue returned no issue key');
    }
    return { id: String(created.id), key: created.key };
  }

  /** The issue's current key and project (a moved issue answers under its new key). */
  async getIssue(issueKey: string, deadline: number): Promise<{ key: string; projectKey?: string }> {
    const out = await this.request(
      'GET',
      `/rest/api/3/issue/${encodeURIComponent(issueKey)}?fields=project`,
      undefined,
      deadline,
    );
    const fields = isRecord(out) && isRecord(out.fields) ? out.fields : {};
    const project = isRecord(fields.project) ? fields.project : {};
    return {
      key: isRecord(out) && typeof out.key === 'string' ? out.key : issueKey,
      projectKey: typeof project.key === 'string' ? project.key : undefined,
    };
  }

  /** The user the token belongs to (GET /rest/api/3/myself, getCurrentUser): proves the token works. */
  async getMyself(deadline: number): Promise<{ accountId?: string; active?: boolean }> {
    const out = await this.request('GET', '/rest/api/3/myself', undefined, deadline);
    return {
      accountId: isRecord(out) && typeof out.accountId === 'string' ? out.accountId : undefined,
      active: isRecord(out) && typeof out.active === 'boolean' ? out.active : undefined,
    };
  }

  /** The project (GET /rest/api/3/project/{projectIdOrKey}, getProject): proves the bot still sees it. */
  async getProject(projectKey: string, deadline: number): Promise<{ key?: string; id?: string }> {
    const out = await this.request('GET', `/rest/api/3/project/${encodeURIComponent(projectKey)}`, undefined, deadline);
    return {
      key: isRecord(out) && typeof out.key === 'string' ? out.key : undefined,
      id: isRecord(out) && typeof out.id === 'string' ? out.id : undefined,
    };
  }

  async addComment(issueKey: string, body: CommentBody, deadline: number): Promise<void> {
    await this.request('POST', `/rest/api/3/issue/${encodeURIComponent(issueKey)}/comment`, body, deadline);
  }

  async getTransitions(issueKey: string, deadline: number): Promise<Transition[]> {
    const out = await this.request(
      'GET',
      `/rest/api/3/issue/${encodeURIComponent(issueKey)}/transitions`,
      undefined,
      deadline,
    );
    const list = isRecord(out) && Array.isArray(out.transitions) ? out.transitions : [];
    return list.filter(isRecord).map((t) => ({ id: String(t.id), name: String(t.name ?? '') }));
  }

  /** Edits the issue's fields (the umbrella issue's summary counts). */
  async editIssue(issueKey: string, body: EditIssueBody, deadline: number): Promise<void> {
    await this.request('PUT', `/rest/api/3/issue/${encodeURIComponent(issueKey)}`, body, deadline);
  }

  async transitionIssue(issueKey: string, body: TransitionBody, deadline: number): Promise<void> {
    await this.request('POST', `/rest/api/3/issue/${encodeURIComponent(issueKey)}/transitions`, body, deadline);
  }

  /** Issue keys matching a JQL search (`/rest/api/3/search/jql`; the old `/search` is being removed). */
  async searchIssueKeys(body: SearchBody, deadline: number): Promise<string[]> {
    const out = await this.request('POST', '/rest/api/3/search/jql', body, deadline);
    const issues = isRecord(out) && Array.isArray(out.issues) ? out.issues : [];
    return issues.filter(isRecord).flatMap((i) => (typeof i.key === 'string' ? [i.key] : []));
  }

  /**
   * @param recover called before retrying an attempt that may have been applied; a value it returns is
   *   the result (the earlier attempt did succeed), undefined means retry, a throw ends the request.
   *   Without it, such attempts are simply retried (comments, transitions and searches tolerate that).
   */
  private async request(
    method: string,
    path: string,
    body: unknown,
    deadline: number,
    recover?: (failure: JiraApiError) => Promise<unknown>,
  ): Promise<unknown> {
    const { clock, maxAttempts, onUnauthorized, throttle } = this.options;
    let reauthenticated = false;
    for (let attempt = 1; ; attempt++) {
      await throttle?.beforeRequest(`JIRA ${method} ${path}`, deadline);
      const remaining = deadline - clock.now();
      if (remaining < MIN_REQUEST_MS) {
        throw new JiraApiError(0, `JIRA ${method} ${path} not attempted: only ${remaining} ms left in this invocation`);
      }
      const outcome = await this.attempt(method, path, body, Math.min(this.options.timeoutMs, remaining));
      if (!('error' in outcome)) return outcome.value;
      const { error, retryable, retryAfterMs } = outcome;
      if (error.status === 401 && onUnauthorized) {
        onUnauthorized();
        if (reauthenticated) {
          const source = this.options.credentialsSource ? ` ${this.options.credentialsSource}` : '';
          throw new JiraApiError(
            401,
            `${error.message}; token rejected after re-reading the secret${source}: put a valid apiToken in it`,
            true,
          );
        }
        // Probably a rotated token: try once more, at once, with the secret read again. A 401 is not a JIRA
        // failure, so it does not use up an attempt.
        reauthenticated = true;
        logger.warn('JIRA rejected the token; re-reading the secret and trying once more', { method, path });
        attempt--;
        continue;
      }
      if (!retryable) throw error;
      const delayMs = Math.round(
        retryAfterMs ?? clock.random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1)),
      );
      // A 429 slows the whole pipeline: every invocation waits as long as JIRA asked (see throttle.ts).
      const rateLimitedUntil =
        error.status === 429
          ? ((await throttle?.rateLimited(delayMs, error.message)) ?? clock.now() + delayMs)
          : undefined;
      const fail = (note: string) =>
        rateLimitedUntil === undefined
          ? new JiraApiError(error.status, `${error.message} (${note})`, error.definitelyNotApplied)
          : new JiraRateLimitedError(`${error.message} (${note})`, rateLimitedUntil);
      if (attempt >= maxAttempts) throw fail(`gave up after ${attempt} attempts`);
      if (clock.now() + delayMs + MIN_REQUEST_MS > deadline) {
        throw fail(`not retried: waiting ${delayMs} ms would pass the invocation deadline`);
      }
      const checkFirst = recover !== undefined && !error.definitelyNotApplied;
      logger.warn(
        checkFirst
          ? 'JIRA request failed and may have been applied; checking before any retry'
          : 'JIRA request failed, retrying',
        { method, path, attempt, status: error.status, error: error.message, delayMs },
      );
      await clock.sleep(delayMs);
      if (checkFirst) {
        const recovered = await recover(error);
        if (recovered !== undefined) return recovered;
      }
    }
  }

  private async attempt(
    method: string,
    path: string,
    body: unknown,
    timeoutMs: number,
  ): Promise<{ value: unknown } | Attempt> {
    const what = `JIRA ${method} ${path}`;
    const { email, apiToken } = await this.options.credentials();
    const headers: Record<string, string> = {
      Accept: 'application/json',
      Authorization: `Basic ${Buffer.from(`${email}:${apiToken}`).toString('base64')}`,
    };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let response: Response;
    let text: string;
    try {
      response = await (this.options.fetch ?? globalThis.fetch)(`${this.options.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
      text = await response.text();
    } catch (err) {
      // No connection was made, so nothing reached JIRA; any other network error may follow a sent request.
      const code = (err as { cause?: { code?: string } })?.cause?.code;
      const notSent = code !== undefined && NOT_SENT_CODES.has(code);
      return {
        error: new JiraApiError(0, `${what} failed: ${networkReason(err, timeoutMs)}`, notSent),
        retryable: true,
      };
    }
    const status = response.status;
    if (status >= 200 && status < 300) {
      if (status === 204 || text.trim() === '') return { value: undefined };
      try {
        return { value: JSON.parse(text) as unknown };
      } catch {
        return { error: new JiraApiError(status, `${what} returned a non-JSON ${status} response`), retryable: false };
      }
    }
    const definite = status >= 400 && status < 500;
    const error = new JiraApiError(status, `${what} failed with HTTP ${status}: ${errorDetail(text)}`, definite);
    const retryable = status === 429 || (status >= 500 && status !== 501 && status !== 505);
    return {
      error,
      retryable,
      retryAfterMs: retryable ? retryAfter(response.headers, this.options.clock.now()) : undefined,
    };
  }
}

/** Milliseconds to wait from `Retry-After` (seconds or HTTP date), else `X-RateLimit-Reset` (ISO time). */
export function retryAfter(headers: Headers, now: number): number | undefined {
  const value = headers.get('retry-after')?.trim();
  if (value) {
    if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
    const at = Date.parse(value);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  const reset = headers.get('x-ratelimit-reset')?.trim();
  if (reset) {
    const at = Date.parse(reset);
    if (!Number.isNaN(at)) return Math.max(0, at - now);
  }
  return undefined;
}

/** JIRA's ErrorCollection (`errorMessages`, `errors`) as one line; any other body as trimmed text. */
export function errorDetail(text: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    const raw = singleLine(text, 300);
    return raw ? `non-JSON response body: ${raw}` : 'empty response body';
  }
  if (isRecord(parsed)) {
    const messages = Array.isArray(parsed.errorMessages) ? parsed.errorMessages.map(String) : [];
    const fields = isRecord(parsed.errors) ? Object.entries(parsed.errors).map(([k, v]) => `${k}: ${String(v)}`) : [];
    const all = [...messages, ...fields];
    if (all.length) return singleLine(all.join('; '), MAX_ERROR_TEXT);
  }
  return `no error messages in response body ${singleLine(text, 300)}`;
}

function isTimeout(err: unknown): boolean {
  const name = (err as { name?: string })?.name;
  return name === 'TimeoutError' || name === 'AbortError';
}

function networkReason(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (isTimeout(err)) return `timed out after ${timeoutMs} ms`;
  const code = e?.cause?.code;
  return `network error${code ? ` ${code}` : ''}: ${singleLine(e?.cause?.message ?? e?.message ?? String(err), 200)}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
