/**
 * An in-memory JIRA Cloud used as `fetch`: issues, comments, transitions and label search, with every
 * request body checked against the OpenAPI spec and JIRA's rules by test/support/jira-openapi.ts (the
 * committed subset of the spec; a violation fails the test), and injectable failures.
 */
import { JiraOpenApi } from '../../support/jira-openapi';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: unknown;
}

export interface FakeIssue {
  readonly key: string;
  readonly fields: { summary: string; labels: string[]; description: unknown; [k: string]: unknown };
  readonly comments: unknown[];
  status: string;
}

/** Answers a request instead of the fake (return undefined to let the fake answer). */
export type Interceptor = (
  req: RecordedRequest,
  signal?: AbortSignal | null,
) => Promise<Response | undefined> | Response | undefined;

export const TRANSITIONS = [
  { id: '11', name: 'To Do' },
  { id: '21', name: 'In Progress' },
  { id: '31', name: 'Done' },
];

export class FakeJira {
  readonly requests: RecordedRequest[] = [];
  readonly issues = new Map<string, FakeIssue>();
  /** Old key -> where a person moved the issue; `visible` false: to a project the bot cannot see. */
  readonly moved = new Map<string, { issue: FakeIssue; visible: boolean }>();
  readonly specViolations: string[] = [];
  /** Requests in flight now, and the most ever at once (one invocation must make one request at a time). */
  inFlight = 0;
  maxInFlight = 0;
  private interceptors: Interceptor[] = [];
  private next = 1;

  constructor(
    readonly baseUrl: string,
    private expectedAuth: string,
    readonly projectKey = 'OPS',
  ) {}

  /** Adds a one-shot interceptor (consumed when it returns a response). */
  once(interceptor: Interceptor): this {
    this.interceptors.push(interceptor);
    return this;
  }

  /** Answers the next `count` requests with the given status (and optional body/headers). */
  failNext(
    count: number,
    status: number,
    body: unknown = { errorMessages: [`boom ${status}`], errors: {} },
    headers: Record<string, string> = {},
  ): this {
    for (let i = 0; i < count; i++) this.once(() => json(status, body, headers));
    return this;
  }

  /** JIRA accepts only this Authorization header from now on (a rotated API token). */
  rotateAuth(expectedAuth: string): void {
    this.expectedAuth = expectedAuth;
  }

  /** The next request takes effect (issue created, comment stored) but is answered `status`: a lost response. */
  applyThenFail(status: number): this {
    return this.once((req) => {
      this.route(req);
      return json(status, { errorMessages: [`applied, then ${status}`], errors: {} });
    });
  }

  /** The next request takes effect, but its response never arrives (the client's timeout aborts it). */
  applyThenHang(): this {
    return this.once((req, signal) => {
      this.route(req);
      return new Promise<Response>((_resolve, reject) =>
        signal?.addEventListener('abort', () => reject(signal.reason)),
      );
    });
  }

  /** The next request is a search that does not see the newest issues yet (JIRA's index lags). */
  searchLagging(): this {
    return this.once((req) =>
      req.path === '/rest/api/3/search/jql' ? json(200, { issues: [], isLast: true }) : undefined,
    );
  }

  /** A person deletes the issue: comment, transitions and get answer 404. */
  deleteIssue(key: string): void {
    if (!this.issues.delete(key)) throw new Error(`no issue ${key}`);
  }

  /**
   * A person moves the issue to another project. Visible: GET answers with the new key, comment and
   * transitions 403 (no permission there); not visible: everything 404.
   */
  moveIssue(key: string, toProject: string, visible = true): FakeIssue {
    const issue = this.issues.get(key);
    if (!issue) throw new Error(`no issue ${key}`);
    this.issues.delete(key);
    const moved: FakeIssue = { ...issue, key: `${toProject}-${this.next++}` };
    this.moved.set(key, { issue: moved, visible });
    return moved;
  }

  requestsTo(method: string, pattern: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && pattern.test(r.path));
  }

  get creates(): RecordedRequest[] {
    return this.requestsTo('POST', /^\/rest\/api\/3\/issue$/);
  }

  get comments(): RecordedRequest[] {
    return this.requestsTo('POST', /\/comment$/);
  }

  readonly fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = new URL(String(input));
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
    const req: RecordedRequest = {
      method: init?.method ?? 'GET',
      path: url.pathname,
      url: url.toString(),
      headers,
      body,
    };
    this.requests.push(req);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      return await this.answer(req, url, init);
    } finally {
      this.inFlight--;
    }
  };

  private async answer(req: RecordedRequest, url: URL, init?: RequestInit): Promise<Response> {
    const { body, headers } = req;
    // Requests with a body, and the reads the subset carries (the heartbeat's myself and project).
    const spec = JiraOpenApi.subset();
    if (body !== undefined || spec.resolveOperation(req.method, req.path)) {
      for (const problem of spec.requestProblems(req.method, req.path, body, url.searchParams)) {
        this.specViolations.push(`${req.method} ${req.path}: ${problem}`);
      }
    }
    await new Promise((resolve) => setImmediate(resolve));
    const interceptor = this.interceptors.shift();
    if (interceptor) {
      const answer = await interceptor(req, init?.signal);
      if (answer) return answer;
    }
    if (headers.authorization !== this.expectedAuth) return json(401, { errorMessages: ['Unauthorized'], errors: {} });
    return this.route(req);
  }

  /** Projects the bot no longer sees (GET /rest/api/3/project/{key} answers 404): breaks the heartbeat. */
  readonly hiddenProjects = new Set<string>();
  /** What GET /rest/api/3/myself says of the token's user. */
  userActive = true;

  private route(req: RecordedRequest): Response {
    const { method, path } = req;
    if (method === 'GET' && path === '/rest/api/3/myself') {
      return json(200, {
        accountId: '5b10a2844c20165700ede21g',
        accountType: 'atlassian',
        active: this.userActive,
        displayName: 'Incident Bot',
      });
    }
    const project = /^\/rest\/api\/3\/project\/([^/]+)$/.exec(path);
    if (method === 'GET' && project) {
      const key = decodeURIComponent(project[1]);
      if (key !== this.projectKey || this.hiddenProjects.has(key)) {
        return json(404, { errorMessages: ['No project could be found with key or id.'], errors: {} });
      }
      return json(200, { id: '10000', key, name: 'Operations', projectTypeKey: 'software' });
    }
    if (method === 'POST' && path === '/rest/api/3/issue') {
      const fields = structuredClone((req.body as { fields: FakeIssue['fields'] }).fields);
      const key = `${this.projectKey}-${this.next++}`;
      this.issues.set(key, { key, fields, comments: [], status: 'To Do' });
      return json(201, { id: String(10000 + this.next), key, self: `${this.baseUrl}/rest/api/3/issue/${key}` });
    }
    if (method === 'POST' && path === '/rest/api/3/search/jql') {
      const jql = (req.body as { jql: string }).jql;
      const wanted = [...jql.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1].replace(/\\(.)/g, '$1'));
      const found = [...this.issues.values()].filter((i) => i.fields.labels.some((l) => wanted.includes(l)));
      return json(200, { issues: found.map((i) => ({ id: '1', key: i.key })), isLast: true });
    }
    const m = /^\/rest\/api\/3\/issue\/([^/]+)(?:\/(comment|transitions))?$/.exec(path);
    const key = m ? decodeURIComponent(m[1]) : '';
    const moved = this.moved.get(key);
    if (m && moved?.visible && method === 'GET' && !m[2]) {
      const project = moved.issue.key.replace(/-\d+$/, '');
      return json(200, { id: '1', key: moved.issue.key, fields: { project: { key: project } } });
    }
    if (m && moved?.visible) {
      return json(403, { errorMessages: ['You do not have permission to comment on this issue.'], errors: {} });
    }
    const issue = m ? this.issues.get(key) : undefined;
    if (m && !issue)
      return json(404, {
        errorMessages: ['Issue does not exist or you do not have permission to see it.'],
        errors: {},
      });
    if (issue && !m?.[2] && method === 'PUT') {
      Object.assign(issue.fields, (req.body as { fields: Partial<FakeIssue['fields']> }).fields);
      return new Response(null, { status: 204 });
    }
    if (issue && !m?.[2] && method === 'GET') {
      return json(200, { id: '1', key: issue.key, fields: { project: { key: this.projectKey } } });
    }
    if (issue && m?.[2] === 'comment' && method === 'POST') {
      issue.comments.push((req.body as { body: unknown }).body);
      return json(201, { id: String(issue.comments.length) });
    }
    if (issue && m?.[2] === 'transitions' && method === 'GET') return json(200, { transitions: TRANSITIONS });
    if (issue && m?.[2] === 'transitions' && method === 'POST') {
      const id = (req.body as { transition: { id: string } }).transition.id;
      const t = TRANSITIONS.find((x) => x.id === id);
      if (!t) return json(400, { errorMessages: [`Transition id '${id}' is not valid for this issue.`], errors: {} });
      issue.status = t.name;
      return new Response(null, { status: 204 });
    }
    return json(404, { errorMessages: [`No route ${method} ${path}`], errors: {} });
  }
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

export function networkError(code = 'ECONNREFUSED'): TypeError {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(`connect ${code} 127.0.0.1:8080`), { code }) });
}
