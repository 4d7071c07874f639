/**
 * A local JIRA Cloud-compatible HTTP server (node `http`, 127.0.0.1, random port) for the incident
 * handler's integration tests.
 *
 * - Implements what the handler uses: createIssue, addComment, getTransitions, doTransition,
 *   GET|POST /rest/api/3/search/jql, getIssue, and the alert-path heartbeat's myself and getProject;
 *   anything else is a 404 and a recorded violation. The deprecated /rest/api/3/search answers 410 (as
 *   Atlassian does for removed APIs) and is a violation.
 * - With `preflight: true`, also what the operator preflight (`npm run jira:check`) reads besides:
 *   serverInfo (anonymous, as on JIRA Cloud) and the create metadata (issue types, fields), all from
 *   `projects`. Off by default, so the handler's tests still catch a call the handler does not need.
 * - Checks Basic auth against the credentials (default: the test secret) and answers 401 otherwise.
 * - Validates every request against the full JIRA OpenAPI spec and JIRA's rules with the validator
 *   the unit tests' fake also uses (test/support/jira-openapi.ts); an invalid request gets a 400
 *   ErrorCollection and is recorded in `violations`. Tests assert there are none.
 * - Records every request (method, path, query, body, headers without `authorization`).
 * - Keeps an in-memory issue store (issues, comments, transitions, status).
 * - People editing JIRA: `deleteIssue(key)` (the issue then answers 404 to get, comment and transitions),
 *   `moveIssue(key, project, { visible })` (a new key in another project; the old key answers 403 to
 *   comment and transitions and the issue under its new key to get when the bot can still see it, else 404
 *   to everything), `rotateToken(token)` (only the new API token is accepted from then on).
 * - Fault injection: `inject(route, ...faults)` queues one-shot responses for a route (or '*');
 *   `injectAlways(route, fault)` answers every request to the route with the fault until
 *   `clearFaults()`. A fault is a status/body/headers, a delay, a response that never arrives
 *   (`hang`), or a connection reset (`reset`). "Connection refused" is `stop()` or `closedPortUrl()`.
 * - Rate limiting: `rateLimit = { requestsPerSecond, retryAfterSeconds }` answers 429 with `Retry-After` to every
 *   request beyond N in the last second (counted in `rateLimited`); `inFlight` / `maxInFlight` count requests
 *   that have arrived and not been answered (the handler's concurrency bound is asserted on it).
 */
import * as http from 'http';
import type { AddressInfo, Socket } from 'net';
import { JiraOpenApi } from '../../support/jira-openapi';

export type JiraRoute =
  | 'createIssue'
  | 'addComment'
  | 'getTransitions'
  | 'doTransition'
  | 'searchJql'
  | 'getIssue'
  | 'editIssue'
  | 'deprecatedSearch'
  | 'serverInfo'
  | 'myself'
  | 'getProject'
  | 'createMetaIssueTypes'
  | 'createMetaFields'
  | 'unknown';

export interface Fault {
  /** HTTP status to answer with (ignored with `hang`/`reset`). */
  status?: number;
  headers?: Record<string, string>;
  /** JSON body (serialised). */
  body?: unknown;
  /** Raw body sent as is (with `contentType`, default text/html). */
  rawBody?: string;
  contentType?: string;
  /** Wait this long before answering (or before behaving normally, with `passThrough`). */
  delayMs?: number;
  /** Never answer; the socket stays open until the client gives up or the server stops. */
  hang?: boolean;
  /** Destroy the socket without answering (client sees ECONNRESET / "socket hang up"). */
  reset?: boolean;
  /** After `delayMs`, handle the request normally (a slow but successful JIRA). */
  passThrough?: boolean;
  /**
   * JIRA processes the request (the issue/comment/transition IS stored), then the response is
   * replaced by the fault: the "lost response" case (timeout, reset, 502 from a proxy, garbled body).
   */
  afterApply?: boolean;
  /** A label for the log of applied faults. */
  label?: string;
}

/** Ready-made faults. */
export const faults = {
  status: (status: number, body?: unknown): Fault => ({
    status,
    body: body ?? { errorMessages: [`Injected HTTP ${status}`], errors: {} },
    label: `HTTP ${status}`,
  }),
  rateLimited: (retryAfterSeconds?: number): Fault => ({
    status: 429,
    headers:
      retryAfterSeconds === undefined
        ? { 'X-RateLimit-Remaining': '0' }
        : { 'Retry-After': String(retryAfterSeconds), 'X-RateLimit-Remaining': '0' },
    rawBody: 'Rate limit exceeded.',
    contentType: 'text/plain',
    label: `429 Retry-After=${retryAfterSeconds ?? 'none'}`,
  }),
  serviceUnavailable: (): Fault => ({
    status: 503,
    rawBody: '<html><body>Service Unavailable</body></html>',
    contentType: 'text/html',
    label: '503',
  }),
  badRequest: (message = "Field 'x' is required"): Fault => ({
    status: 400,
    body: { errorMessages: [message], errors: {} },
    label: '400 ErrorCollection',
  }),
  unauthorized: (): Fault => ({
    status: 401,
    body: {
      errorMessages: ['You are not authenticated. Authentication required to perform this operation.'],
      errors: {},
    },
    label: '401',
  }),
  forbidden: (): Fault => ({
    status: 403,
    body: { errorMessages: ['You do not have permission to create issues in this project.'], errors: {} },
    label: '403',
  }),
  nonJson: (status = 201): Fault => ({
    status,
    rawBody: '<!DOCTYPE html><html><body>Atlassian Cloud Notifications: your site is being upgraded</body></html>',
    contentType: 'text/html;charset=UTF-8',
    label: `non-JSON ${status}`,
  }),
  hang: (): Fault => ({ hang: true, label: 'hang' }),
  slow: (delayMs: number): Fault => ({ delayMs, passThrough: true, label: `slow ${delayMs}ms` }),
  reset: (): Fault => ({ reset: true, label: 'reset' }),
  /** The request takes effect in JIRA but its response is lost (`hang`, `reset`, 502 or a non-JSON 201). */
  lostResponse: (kind: 'hang' | 'reset' | '502' | 'nonJson'): Fault => ({
    ...(kind === 'hang'
      ? faults.hang()
      : kind === 'reset'
        ? faults.reset()
        : kind === '502'
          ? faults.status(502)
          : faults.nonJson(201)),
    afterApply: true,
    label: `applied, then ${kind}`,
  }),
};

export interface RecordedRequest {
  seq: number;
  at: number;
  method: string;
  path: string;
  query: Record<string, string[]>;
  route: JiraRoute;
  operationId?: string;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
  rawBody: string;
  /** Status sent, or 'reset' / 'hang' / 'aborted'. */
  response?: number | 'reset' | 'hang';
  fault?: string;
}

export interface Violation {
  method: string;
  path: string;
  problems: string[];
}

export interface FakeComment {
  id: string;
  body: unknown;
  created: string;
}

export interface FakeIssue {
  id: string;
  key: string;
  self: string;
  fields: Record<string, unknown>;
  status: { name: string; category: 'new' | 'indeterminate' | 'done' };
  comments: FakeComment[];
  transitions: { id: string; name: string; at: string }[];
  createdAt: number;
}

export interface FakeJiraOptions {
  email?: string;
  apiToken?: string;
  /** Latency added to every normal response (helps concurrent invocations overlap). */
  latencyMs?: number;
  /** Issues become visible to /search/jql only this long after creation (JIRA's index is eventually consistent). */
  searchLagMs?: number;
  /** Also serve the read-only routes of the operator preflight (jira:check). */
  preflight?: boolean;
  /** Answer 429 (with Retry-After) to requests beyond this many per second. */
  rateLimit?: RateLimit;
}

export interface RateLimit {
  readonly requestsPerSecond: number;
  readonly retryAfterSeconds: number;
}

/** A project's create metadata (createmeta): what `jira:check` reads; tests edit it to break a check. */
export interface FakeCreateField {
  fieldId: string;
  name: string;
  required: boolean;
  hasDefaultValue?: boolean;
  schema: { type: string; system?: string; items?: string; custom?: string };
}
export interface FakeIssueType {
  id: string;
  name: string;
  subtask?: boolean;
  fields: FakeCreateField[];
}
export interface FakeProject {
  id: string;
  key: string;
  name: string;
  issueTypes: FakeIssueType[];
}

/** One project, OPS, whose Incident and Task screens take exactly what the handler sends (+ reporter by default). */
export function defaultProjects(): FakeProject[] {
  const field = (
    fieldId: string,
    name: string,
    required: boolean,
    type: string,
    extra: Partial<FakeCreateField> = {},
  ) => ({ fieldId, name, required, schema: { type, system: fieldId }, ...extra }) as FakeCreateField;
  const screen = () => [
    field('project', 'Project', true, 'project'),
    field('issuetype', 'Issue Type', true, 'issuetype'),
    field('summary', 'Summary', true, 'string'),
    field('description', 'Description', false, 'string'),
    field('labels', 'Labels', false, 'array', { schema: { type: 'array', items: 'string', system: 'labels' } }),
    field('reporter', 'Reporter', true, 'user', { hasDefaultValue: true }),
    field('priority', 'Priority', false, 'priority', { hasDefaultValue: true }),
  ];
  return [
    {
      id: '10000',
      key: 'OPS',
      name: 'Operations',
      issueTypes: [
        { id: '10004', name: 'Incident', fields: screen() },
        { id: '10001', name: 'Task', fields: screen() },
      ],
    },
  ];
}

const WORKFLOW = [
  { id: '11', name: 'To Do', to: { id: '10000', name: 'To Do', category: 'new' as const } },
  { id: '21', name: 'In Progress', to: { id: '3', name: 'In Progress', category: 'indeterminate' as const } },
  { id: '31', name: 'Done', to: { id: '10001', name: 'Done', category: 'done' as const } },
];
const CATEGORY_NAMES = { new: 'To Do', indeterminate: 'In Progress', done: 'Done' };
const CATEGORY_IDS = { new: 2, indeterminate: 4, done: 3 };

function errorCollection(messages: string[], errors: Record<string, string> = {}) {
  return { errorMessages: messages, errors };
}

export class FakeJira {
  /** Credentials JIRA accepts (change `apiToken` to simulate a token rotation). */
  email: string;
  apiToken: string;
  latencyMs: number;
  searchLagMs: number;
  readonly requests: RecordedRequest[] = [];
  readonly violations: Violation[] = [];
  readonly authFailures: RecordedRequest[] = [];
  readonly jqlWarnings: string[] = [];
  readonly issues: FakeIssue[] = [];
  /** Issues removed by `deleteIssue`. */
  readonly deletedIssues: FakeIssue[] = [];
  /** Old key -> the issue `moveIssue` moved, and whether the bot can still see it. */
  private readonly movedIssues = new Map<string, { issue: FakeIssue; visible: boolean }>();
  /** Projects and their create screens (serverInfo, myself, project and createmeta routes). */
  readonly projects: FakeProject[] = defaultProjects();
  /** Faults that were applied, in order. */
  readonly appliedFaults: { route: JiraRoute; label: string }[] = [];
  rateLimit?: RateLimit;
  /** Requests answered 429 by the rate limit. */
  rateLimited = 0;
  inFlight = 0;
  maxInFlight = 0;
  /** Arrival times of the requests the rate limit let through (the last second of them). */
  private admitted: number[] = [];

  private server?: http.Server;
  private port = 0;
  private seq = 0;
  private nextIssueNumber = 1;
  private nextIssueId = 10000;
  private nextCommentId = 20000;
  private readonly queued = new Map<JiraRoute | '*', Fault[]>();
  private readonly always = new Map<JiraRoute | '*', Fault>();
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly preflight: boolean;

  constructor(options: FakeJiraOptions = {}) {
    this.preflight = options.preflight ?? false;
    this.email = options.email ?? 'ops@example.com';
    this.apiToken = options.apiToken ?? 'test-token';
    this.latencyMs = options.latencyMs ?? 0;
    this.searchLagMs = options.searchLagMs ?? 0;
    this.rateLimit = options.rateLimit;
  }

  get url(): string {
    if (!this.server) throw new Error('FakeJira is not started');
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const server = http.createServer((req, res) => this.onRequest(req, res));
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  /** Stops listening and drops every connection (later requests get "connection refused"). */
  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
      server.closeAllConnections();
    });
  }

  /** Resolves once no delayed response is pending (a slow request has been applied), or after `maxWaitMs`. */
  async idle(maxWaitMs = 5000): Promise<void> {
    const until = Date.now() + maxWaitMs;
    while (this.timers.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  }

  inject(route: JiraRoute | '*', ...fs: Fault[]): this {
    const q = this.queued.get(route) ?? [];
    q.push(...fs);
    this.queued.set(route, q);
    return this;
  }

  injectAlways(route: JiraRoute | '*', fault: Fault): this {
    this.always.set(route, fault);
    return this;
  }

  /** A person deletes the issue: get, comment and transitions answer 404 from now on. */
  deleteIssue(key: string): FakeIssue {
    const i = this.issues.findIndex((x) => x.key === key);
    if (i < 0) throw new Error(`FakeJira: no issue ${key} to delete`);
    const [issue] = this.issues.splice(i, 1);
    this.deletedIssues.push(issue);
    return issue;
  }

  /**
   * A person moves the issue to another project: it gets a new key there. `visible` (default true): the
   * bot may browse but not comment there (old key: get answers the moved issue, comment and transitions
   * 403); false: the bot cannot see the project (old key: 404 to everything).
   */
  moveIssue(key: string, toProject: string, opts: { visible?: boolean } = {}): FakeIssue {
    const issue = this.issues.find((x) => x.key === key);
    if (!issue) throw new Error(`FakeJira: no issue ${key} to move`);
    issue.key = `${toProject}-${this.nextIssueNumber++}`;
    issue.fields = { ...issue.fields, project: { key: toProject } };
    this.movedIssues.set(key, { issue, visible: opts.visible ?? true });
    return issue;
  }

  /** Rotates the API token: JIRA accepts only `apiToken` from now on (put it in the secret to recover). */
  rotateToken(apiToken: string): void {
    this.apiToken = apiToken;
  }

  clearFaults(): this {
    this.queued.clear();
    this.always.clear();
    return this;
  }

  requestsTo(route: JiraRoute): RecordedRequest[] {
    return this.requests.filter((r) => r.route === route);
  }

  /** Issues whose summary or labels mention `text` (e.g. an alarm name). */
  issuesMentioning(text: string): FakeIssue[] {
    return this.issues.filter((i) => JSON.stringify([i.fields.summary, i.fields.labels]).includes(text));
  }

  openIssues(): FakeIssue[] {
    return this.issues.filter((i) => i.status.category !== 'done');
  }

  /** A human-readable dump for assertion messages. */
  describe(): string {
    return JSON.stringify(
      {
        requests: this.requests.map(
          (r) => `${r.seq} ${r.method} ${r.path} -> ${r.response}${r.fault ? ` (${r.fault})` : ''}`,
        ),
        issues: this.issues.map((i) => ({
          key: i.key,
          summary: i.fields.summary,
          status: i.status.name,
          comments: i.comments.length,
        })),
        violations: this.violations,
      },
      null,
      2,
    );
  }

  private takeFault(route: JiraRoute): Fault | undefined {
    for (const key of [route, '*'] as const) {
      const q = this.queued.get(key);
      if (q && q.length > 0) return q.shift();
    }
    return this.always.get(route) ?? this.always.get('*');
  }

  private later(ms: number, fn: () => void) {
    if (ms <= 0) return fn();
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse) {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    res.once('close', () => this.inFlight--);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        this.handle(req, res, Buffer.concat(chunks).toString('utf8'));
      } catch (err) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify(errorCollection([`fake JIRA crashed: ${String(err)}`])));
      }
    });
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, rawBody: string) {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const urlPath = url.pathname;
    const headers = { ...req.headers };
    delete headers.authorization;
    const query: Record<string, string[]> = {};
    for (const k of new Set(url.searchParams.keys())) query[k] = url.searchParams.getAll(k);

    const rec: RecordedRequest = {
      seq: ++this.seq,
      at: Date.now(),
      method,
      path: urlPath,
      query,
      route: 'unknown',
      headers,
      rawBody,
    };
    this.requests.push(rec);

    const send = (status: number, body?: unknown, extraHeaders: Record<string, string> = {}) => {
      rec.response = status;
      if (res.writableEnded || res.destroyed) return;
      if (body === undefined) {
        res.writeHead(status, extraHeaders);
        res.end();
      } else {
        res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', ...extraHeaders });
        res.end(JSON.stringify(body));
      }
    };
    const violation = (problems: string[]) => this.violations.push({ method, path: urlPath, problems });

    // Route.
    const op = urlPath.startsWith('/rest/api/3/') ? JiraOpenApi.full().resolveOperation(method, urlPath) : undefined;
    rec.operationId = op?.operationId;
    const routes: Record<string, JiraRoute> = {
      createIssue: 'createIssue',
      addComment: 'addComment',
      getTransitions: 'getTransitions',
      doTransition: 'doTransition',
      searchAndReconsileIssuesUsingJql: 'searchJql',
      searchAndReconsileIssuesUsingJqlPost: 'searchJql',
      getIssue: 'getIssue',
      editIssue: 'editIssue',
      searchForIssuesUsingJql: 'deprecatedSearch',
      searchForIssuesUsingJqlPost: 'deprecatedSearch',
      // The alert-path heartbeat's reads (and the preflight's).
      getCurrentUser: 'myself',
      getProject: 'getProject',
      ...(this.preflight
        ? ({
            getServerInfo: 'serverInfo',
            getCreateIssueMetaIssueTypes: 'createMetaIssueTypes',
            getCreateIssueMetaIssueTypeId: 'createMetaFields',
          } as const)
        : {}),
    };
    rec.route = (op && routes[op.operationId]) || 'unknown';

    if (rec.route === 'deprecatedSearch') {
      violation([`${method} ${urlPath} is the deprecated search API (removed; use /rest/api/3/search/jql)`]);
      return send(
        410,
        errorCollection(['The requested API has been removed. Please migrate to the /rest/api/3/search/jql API.']),
      );
    }
    if (rec.route === 'unknown') {
      violation([
        op
          ? `${method} ${urlPath} (${op.operationId}) is a real JIRA operation the fake does not implement: extend test/integration/support/jira-server.ts`
          : `${method} ${urlPath} is not an operation of the JIRA Cloud REST API v3 spec`,
      ]);
      return send(404, errorCollection(['Not found']));
    }

    // Parse and validate.
    let body: unknown;
    const problems: string[] = [];
    if (rawBody.length > 0) {
      const ct = String(req.headers['content-type'] ?? '');
      if (!/^application\/json\b/i.test(ct))
        problems.push(`request body sent with content-type '${ct}', not application/json`);
      try {
        body = JSON.parse(rawBody);
      } catch {
        problems.push('request body is not valid JSON');
      }
    }
    if (problems.length === 0) problems.push(...JiraOpenApi.full().validateRequest(op!, body, url.searchParams));
    if (problems.length > 0) violation(problems);

    if (this.rateLimit) {
      const now = Date.now();
      this.admitted = this.admitted.filter((t) => now - t < 1000);
      if (this.admitted.length >= this.rateLimit.requestsPerSecond) {
        this.rateLimited++;
        rec.fault = 'rate limit';
        return send(429, undefined, {
          'Retry-After': String(this.rateLimit.retryAfterSeconds),
          'X-RateLimit-Remaining': '0',
          'RateLimit-Reason': 'jira-burst-based',
        });
      }
      this.admitted.push(now);
    }

    const fault = this.takeFault(rec.route);
    if (fault) {
      const label = fault.label ?? `HTTP ${fault.status}`;
      rec.fault = label;
      this.appliedFaults.push({ route: rec.route, label });
      if (fault.afterApply && problems.length === 0 && this.authorized(req.headers.authorization)) {
        this.dispatch(rec.route, op!.pathParams, body, url.searchParams, () => undefined);
      }
      if (fault.reset) {
        rec.response = 'reset';
        req.socket.destroy();
        return;
      }
      if (fault.hang) {
        rec.response = 'hang';
        return;
      }
      if (!fault.passThrough) {
        return this.later(fault.delayMs ?? 0, () => {
          rec.response = fault.status ?? 500;
          if (res.writableEnded || res.destroyed) return;
          if (fault.rawBody !== undefined) {
            res.writeHead(fault.status ?? 500, { 'content-type': fault.contentType ?? 'text/html', ...fault.headers });
            res.end(fault.rawBody);
          } else if (fault.body === undefined || fault.status === 204) {
            res.writeHead(fault.status ?? 500, { ...fault.headers });
            res.end();
          } else {
            res.writeHead(fault.status ?? 500, { 'content-type': 'application/json;charset=UTF-8', ...fault.headers });
            res.end(JSON.stringify(fault.body));
          }
        });
      }
    }

    const delay = (fault?.passThrough ? (fault.delayMs ?? 0) : 0) + this.latencyMs;
    this.later(delay, () => {
      // serverInfo needs no login on JIRA Cloud ("Permissions required: None").
      if (rec.route !== 'serverInfo' && !this.authorized(req.headers.authorization)) {
        this.authFailures.push(rec);
        return send(
          401,
          errorCollection(['You are not authenticated. Authentication required to perform this operation.']),
          { 'WWW-Authenticate': 'Basic realm="protected-area"' },
        );
      }
      if (problems.length > 0) return send(400, errorCollection(problems));
      this.dispatch(rec.route, op!.pathParams, body, url.searchParams, send);
    });
  }

  private authorized(header: string | undefined): boolean {
    if (!header || !header.startsWith('Basic ')) return false;
    const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
    return decoded === `${this.email}:${this.apiToken}`;
  }

  private findIssue(idOrKey: string): FakeIssue | undefined {
    return this.issues.find((i) => i.key === idOrKey || i.id === idOrKey);
  }

  private dispatch(
    route: JiraRoute,
    params: Record<string, string>,
    body: unknown,
    query: URLSearchParams,
    send: (status: number, body?: unknown, headers?: Record<string, string>) => void,
  ) {
    const notFound = () =>
      send(404, errorCollection(['Issue does not exist or you do not have permission to see it.']));
    const b = (body ?? {}) as Record<string, unknown>;
    const moved = params.issueIdOrKey === undefined ? undefined : this.movedIssues.get(params.issueIdOrKey);
    if (moved && ['getIssue', 'addComment', 'getTransitions', 'doTransition'].includes(route)) {
      if (!moved.visible) return notFound();
      if (route === 'getIssue') {
        return send(
          200,
          this.issueBean(
            moved.issue,
            query.getAll('fields').flatMap((f) => f.split(',')),
          ),
        );
      }
      return send(403, errorCollection(['You do not have permission to edit or comment on this issue.']));
    }
    switch (route) {
      case 'createIssue': {
        const fields = (b.fields ?? {}) as Record<string, unknown>;
        const project = (fields.project ?? {}) as { key?: string; id?: string };
        const projectKey = project.key ?? 'PRJ';
        const id = String(this.nextIssueId++);
        const key = `${projectKey}-${this.nextIssueNumber++}`;
        const issue: FakeIssue = {
          id,
          key,
          self: `${this.url}/rest/api/3/issue/${id}`,
          fields,
          status: { name: 'To Do', category: 'new' },
          comments: [],
          transitions: [],
          createdAt: Date.now(),
        };
        this.issues.push(issue);
        return send(201, { id, key, self: issue.self });
      }
      case 'editIssue': {
        const issue = this.findIssue(params.issueIdOrKey);
        if (!issue) return notFound();
        issue.fields = { ...issue.fields, ...((b.fields ?? {}) as Record<string, unknown>) };
        return send(204);
      }
      case 'getIssue': {
        const issue = this.findIssue(params.issueIdOrKey);
        if (!issue) return notFound();
        return send(
          200,
          this.issueBean(
            issue,
            query.getAll('fields').flatMap((f) => f.split(',')),
          ),
        );
      }
      case 'addComment': {
        const issue = this.findIssue(params.issueIdOrKey);
        if (!issue) return notFound();
        const id = String(this.nextCommentId++);
        const created = new Date().toISOString();
        issue.comments.push({ id, body: b.body, created });
        return send(201, { id, self: `${issue.self}/comment/${id}`, body: b.body, created, updated: created });
      }
      case 'getTransitions': {
        const issue = this.findIssue(params.issueIdOrKey);
        if (!issue) return notFound();
        return send(200, {
          transitions: WORKFLOW.filter((t) => t.to.name !== issue.status.name).map((t) => ({
            id: t.id,
            name: t.name,
            hasScreen: false,
            isGlobal: true,
            isInitial: false,
            isAvailable: true,
            isConditional: false,
            isLooped: false,
            to: {
              id: t.to.id,
              name: t.to.name,
              self: `${this.url}/rest/api/3/status/${t.to.id}`,
              statusCategory: {
                id: CATEGORY_IDS[t.to.category],
                key: t.to.category,
                name: CATEGORY_NAMES[t.to.category],
              },
            },
          })),
        });
      }
      case 'doTransition': {
        const issue = this.findIssue(params.issueIdOrKey);
        if (!issue) return notFound();
        const tid = (b.transition as { id?: string } | undefined)?.id;
        const t = WORKFLOW.find((w) => w.id === tid && w.to.name !== issue.status.name);
        if (!t) return send(400, errorCollection([`Transition id '${tid}' is not valid for this issue.`]));
        issue.status = { name: t.to.name, category: t.to.category };
        issue.transitions.push({ id: t.id, name: t.name, at: new Date().toISOString() });
        const update = b.update as { comment?: { add?: { body?: unknown } }[] } | undefined;
        for (const c of update?.comment ?? []) {
          if (c.add) {
            const created = new Date().toISOString();
            issue.comments.push({ id: String(this.nextCommentId++), body: c.add.body, created });
          }
        }
        return send(204);
      }
      case 'searchJql': {
        const jql = typeof b.jql === 'string' ? b.jql : (query.get('jql') ?? '');
        const fields = Array.isArray(b.fields)
          ? (b.fields as string[])
          : query.getAll('fields').flatMap((f) => f.split(','));
        const maxResults = Number(b.maxResults ?? query.get('maxResults') ?? 50);
        const now = Date.now();
        const visible = this.issues.filter((i) => now - i.createdAt >= this.searchLagMs);
        const matched = visible.filter((i) => this.matchesJql(i, jql)).slice(0, maxResults);
        return send(200, { issues: matched.map((i) => this.issueBean(i, fields)), isLast: true });
      }
      case 'serverInfo':
        return send(200, {
          baseUrl: this.url,
          buildDate: '2025-01-01T00:00:00.000+0000',
          buildNumber: 100000,
          deploymentType: 'Cloud',
          scmInfo: '0000000000000000000000000000000000000000',
          serverTime: new Date().toISOString(),
          serverTimeZone: 'Etc/UTC',
          serverTitle: 'Fake JIRA',
          version: '1001.0.0-SNAPSHOT',
          versionNumbers: [1001, 0, 0],
        });
      case 'myself':
        return send(200, {
          accountId: '5b10a2844c20165700ede21g',
          accountType: 'atlassian',
          active: true,
          displayName: 'Incident Bot',
          emailAddress: this.email,
          self: `${this.url}/rest/api/3/user?accountId=5b10a2844c20165700ede21g`,
          timeZone: 'Etc/UTC',
        });
      case 'getProject': {
        const p = this.findProject(params.projectIdOrKey);
        if (!p) return send(404, errorCollection(['No project could be found with key or id.']));
        return send(200, {
          id: p.id,
          key: p.key,
          name: p.name,
          self: `${this.url}/rest/api/3/project/${p.id}`,
          projectTypeKey: 'software',
          simplified: false,
          style: 'classic',
          issueTypes: p.issueTypes.map((t) => this.issueTypeBean(t)),
        });
      }
      case 'createMetaIssueTypes':
      case 'createMetaFields': {
        // Unknown project or type: 400 is the only client error createmeta documents.
        const p = this.findProject(params.projectIdOrKey);
        if (!p) return send(400, errorCollection(['Project not found or you do not have permission to view it.']));
        const page = <T>(items: T[]) => {
          const startAt = Number(query.get('startAt') ?? 0);
          const maxResults = Math.min(Number(query.get('maxResults') ?? 50), 200);
          return { values: items.slice(startAt, startAt + maxResults), maxResults, startAt, total: items.length };
        };
        if (route === 'createMetaIssueTypes') {
          const { values, ...rest } = page(p.issueTypes.map((t) => this.issueTypeBean(t)));
          return send(200, { issueTypes: values, ...rest });
        }
        const type = p.issueTypes.find((t) => t.id === params.issueTypeId);
        if (!type) return send(400, errorCollection([`Issue type ${params.issueTypeId} is not valid for ${p.key}.`]));
        const { values, ...rest } = page(
          type.fields.map((f) => ({
            fieldId: f.fieldId,
            key: f.fieldId,
            name: f.name,
            required: f.required,
            hasDefaultValue: f.hasDefaultValue ?? false,
            operations: f.schema.type === 'array' ? ['add', 'set', 'remove'] : ['set'],
            schema: f.schema,
          })),
        );
        return send(200, { fields: values, ...rest });
      }
      default:
        return send(404, errorCollection(['Not found']));
    }
  }

  private findProject(idOrKey: string): FakeProject | undefined {
    return this.projects.find((p) => p.key === idOrKey || p.id === idOrKey);
  }

  private issueTypeBean(t: FakeIssueType) {
    return {
      id: t.id,
      name: t.name,
      description: `${t.name} (fake)`,
      iconUrl: `${this.url}/images/icons/issuetypes/${t.id}.png`,
      self: `${this.url}/rest/api/3/issuetype/${t.id}`,
      subtask: t.subtask ?? false,
    };
  }

  private issueBean(issue: FakeIssue, fields: string[]) {
    const all: Record<string, unknown> = {
      ...issue.fields,
      status: {
        name: issue.status.name,
        statusCategory: {
          id: CATEGORY_IDS[issue.status.category],
          key: issue.status.category,
          name: CATEGORY_NAMES[issue.status.category],
        },
      },
      resolution: issue.status.category === 'done' ? { name: 'Done' } : null,
      created: new Date(issue.createdAt).toISOString(),
      comment: { comments: issue.comments, total: issue.comments.length },
    };
    const wanted =
      fields.length === 0 || fields.includes('*all') || fields.includes('*navigable') ? Object.keys(all) : fields;
    const out: Record<string, unknown> = {};
    for (const f of wanted) if (f in all) out[f] = all[f];
    return { id: issue.id, key: issue.key, self: issue.self, fields: out };
  }

  /** A small JQL evaluator: AND-ed clauses on project, labels, status, statusCategory, resolution, issuetype, summary, key, text. */
  private matchesJql(issue: FakeIssue, jql: string): boolean {
    const withoutOrder = jql.replace(/\border\s+by\b[\s\S]*$/i, '').trim();
    if (withoutOrder === '') return true;
    const clauses = splitTopLevel(withoutOrder, /^and$/i);
    if (splitTopLevel(withoutOrder, /^or$/i).length > 1) {
      this.jqlWarnings.push(`OR is not supported by the fake JIRA, treated as AND: ${jql}`);
    }
    return clauses.every((c) => this.matchClause(issue, c.trim(), jql));
  }

  private matchClause(issue: FakeIssue, clause: string, jql: string): boolean {
    const m = /^("[^"]+"|[\w.[\]]+)\s*(!=|=|!~|~|not\s+in|in|is\s+not|is)\s*([\s\S]+)$/i.exec(clause);
    if (!m) {
      this.jqlWarnings.push(`unsupported JQL clause ignored: '${clause}' in ${jql}`);
      return true;
    }
    const field = m[1].replace(/^"|"$/g, '').toLowerCase();
    const op = m[2].toLowerCase().replace(/\s+/g, ' ');
    const values = parseJqlValues(m[3].trim());
    const f = issue.fields;
    let actual: string[];
    switch (field) {
      case 'project':
        actual = [issue.key.split('-')[0], String((f.project as { id?: string } | undefined)?.id ?? '')];
        break;
      case 'labels':
        actual = Array.isArray(f.labels) ? (f.labels as string[]) : [];
        break;
      case 'status':
        actual = [issue.status.name];
        break;
      case 'statuscategory':
        actual = [CATEGORY_NAMES[issue.status.category], issue.status.category];
        break;
      case 'resolution':
        actual = issue.status.category === 'done' ? ['Done'] : [];
        break;
      case 'issuetype':
      case 'type':
        actual = [String((f.issuetype as { name?: string } | undefined)?.name ?? '')];
        break;
      case 'summary':
        actual = [String(f.summary ?? '')];
        break;
      case 'key':
      case 'issuekey':
      case 'id':
        actual = [issue.key, issue.id];
        break;
      case 'text':
        actual = [String(f.summary ?? ''), JSON.stringify(f.description ?? '')];
        break;
      default:
        this.jqlWarnings.push(`unsupported JQL field '${field}' ignored in ${jql}`);
        return true;
    }
    const lower = (xs: string[]) => xs.map((x) => x.toLowerCase());
    const a = lower(actual);
    const v = lower(values);
    const empty = v.length === 1 && (v[0] === 'empty' || v[0] === 'null' || v[0] === 'unresolved');
    switch (op) {
      case '=':
        return empty ? a.length === 0 : v.some((x) => a.includes(x));
      case '!=':
        return empty ? a.length > 0 : !v.some((x) => a.includes(x));
      case 'in':
        return v.some((x) => a.includes(x));
      case 'not in':
        return !v.some((x) => a.includes(x));
      case 'is':
        return a.length === 0;
      case 'is not':
        return a.length > 0;
      case '~':
        return v.some((x) => a.some((y) => y.includes(x.replace(/[*?]/g, ''))));
      case '!~':
        return !v.some((x) => a.some((y) => y.includes(x.replace(/[*?]/g, ''))));
      default:
        return true;
    }
  }
}

function splitTopLevel(s: string, sep: RegExp): string[] {
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  let quote: string | null = null;
  const tokens = s.split(/(\s+)/);
  for (const tok of tokens) {
    if (quote === null && depth === 0 && sep.test(tok)) {
      out.push(cur);
      cur = '';
      continue;
    }
    for (const ch of tok) {
      if (quote) {
        if (ch === quote) quote = null;
      } else if (ch === '"' || ch === "'") quote = ch;
      else if (ch === '(') depth++;
      else if (ch === ')') depth--;
    }
    cur += tok;
  }
  out.push(cur);
  return out.map((x) => x.trim()).filter((x) => x !== '');
}

function parseJqlValues(raw: string): string[] {
  let s = raw.trim();
  if (s.startsWith('(') && s.endsWith(')')) s = s.slice(1, -1);
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^,\s]+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) {
    const v = m[1] ?? m[2] ?? m[3];
    out.push(v.replace(/\\(.)/g, '$1'));
  }
  return out;
}

/** A URL on 127.0.0.1 where nothing listens (the port was bound then released): "connection refused". */
export async function closedPortUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
