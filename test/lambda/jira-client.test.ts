import { JiraApiError } from '../../lambda/jira-incident/errors';
import { JiraClient, MIN_REQUEST_MS, errorDetail, retryAfter } from '../../lambda/jira-incident/jira-client';
import { json, networkError } from './helpers/fake-jira';
import { FakeClock, SECRET } from './helpers/harness';

const BASE = 'https://example.atlassian.net';
const COMMENT = { body: { type: 'doc' as const, version: 1 as const, content: [] } };

let clock: FakeClock;
let fetchMock: jest.SpyInstance;
let unauthorized: jest.Mock;
let logSpies: jest.SpyInstance[];

function client(
  options: { maxAttempts?: number; timeoutMs?: number; credentials?: () => Promise<typeof SECRET> } = {},
) {
  return new JiraClient({
    baseUrl: BASE,
    credentials: options.credentials ?? (async () => SECRET),
    onUnauthorized: unauthorized,
    credentialsSource: 'arn:aws:secretsmanager:us-east-1:999999999999:secret:jira-AbC',
    timeoutMs: options.timeoutMs ?? 5000,
    maxAttempts: options.maxAttempts ?? 4,
    clock,
  });
}

/** Answers fetch calls in order; the last answer repeats. */
function answers(...responses: (() => Response | Promise<Response>)[]) {
  let i = 0;
  fetchMock.mockImplementation(async () => responses[Math.min(i++, responses.length - 1)]());
}

const created = () => json(201, { id: '10001', key: 'OPS-9', self: `${BASE}/rest/api/3/issue/10001` });
const commented = () => json(201, { id: '1' });
/** A create body as the handler sends it: with a claim label to find the issue by. */
const labelled = {
  fields: {
    project: { key: 'OPS' },
    issuetype: { name: 'Incident' },
    summary: 's',
    description: { type: 'doc', version: 1, content: [] },
    labels: ['cloudwatch-alarm', 'cw-incident-claim-tok-1'],
  },
} as never;
const found =
  (...keys: string[]) =>
  () =>
    json(200, { issues: keys.map((key) => ({ id: '1', key })), isLast: true });
const far = () => clock.now() + 60_000;

beforeEach(() => {
  clock = new FakeClock();
  unauthorized = jest.fn();
  fetchMock = jest.spyOn(globalThis, 'fetch');
  logSpies = [
    jest.spyOn(process.stdout, 'write').mockReturnValue(true),
    jest.spyOn(process.stderr, 'write').mockReturnValue(true),
  ];
});
afterEach(() => {
  fetchMock.mockRestore();
  for (const s of logSpies) s.mockRestore();
});

describe('requests', () => {
  test('sends JSON with Basic auth and returns the created key', async () => {
    answers(created);
    await expect(client().createIssue({ fields: {} } as never, far())).resolves.toEqual({ id: '10001', key: 'OPS-9' });
    const [url, init] = fetchMock.mock.calls[0] as [string, RequestInit];
    expect(url).toBe(`${BASE}/rest/api/3/issue`);
    expect(init.method).toBe('POST');
    expect(init.headers).toMatchObject({
      Accept: 'application/json',
      'Content-Type': 'application/json',
      Authorization: `Basic ${Buffer.from(`${SECRET.email}:${SECRET.apiToken}`).toString('base64')}`,
    });
    expect(init.signal).toBeInstanceOf(AbortSignal);
    expect(init.redirect).toBe('error');
  });

  test('issue keys are URL-encoded in paths', async () => {
    answers(() => json(200, { transitions: [{ id: '31', name: 'Done' }] }));
    await expect(client().getTransitions('OPS-1/../x', far())).resolves.toEqual([{ id: '31', name: 'Done' }]);
    expect(fetchMock.mock.calls[0][0]).toBe(`${BASE}/rest/api/3/issue/OPS-1%2F..%2Fx/transitions`);
  });

  test('204 without a body is success', async () => {
    answers(() => new Response(null, { status: 204 }));
    await expect(client().transitionIssue('OPS-1', { transition: { id: '31' } }, far())).resolves.toBeUndefined();
  });

  test('a non-JSON 2xx body where JSON is expected is an error', async () => {
    answers(() => new Response('<html>login</html>', { status: 200 }));
    await expect(client().searchIssueKeys({ jql: 'x', maxResults: 1, fields: [] }, far())).rejects.toThrow(
      /returned a non-JSON 200 response/,
    );
  });

  test('a create response without a key is an error', async () => {
    answers(() => json(201, { id: '1' }));
    await expect(client().createIssue({ fields: {} } as never, far())).rejects.toThrow(/returned no issue key/);
  });
});

describe('retries', () => {
  test('429 honours Retry-After in seconds', async () => {
    answers(() => json(429, {}, { 'Retry-After': '2' }), created);
    await expect(client().createIssue({ fields: {} } as never, far())).resolves.toMatchObject({ key: 'OPS-9' });
    expect(clock.sleeps).toEqual([2000]);
    expect(fetchMock).toHaveBeenCalledTimes(2);
  });

  test('429 honours Retry-After as an HTTP date', async () => {
    const at = new Date(clock.now() + 3000).toUTCString();
    answers(() => json(429, {}, { 'Retry-After': at }), created);
    await client().createIssue({ fields: {} } as never, far());
    expect(clock.sleeps).toHaveLength(1);
    expect(clock.sleeps[0]).toBeGreaterThan(2000);
    expect(clock.sleeps[0]).toBeLessThanOrEqual(3000);
  });

  test('429 without Retry-After uses capped exponential backoff with full jitter', async () => {
    answers(() => json(429, { errorMessages: ['Rate limit exceeded'] }));
    clock.jitter = 0.5;
    await expect(client({ maxAttempts: 4 }).createIssue({ fields: {} } as never, far())).rejects.toThrow(
      /HTTP 429: Rate limit exceeded \(gave up after 4 attempts\)/,
    );
    expect(clock.sleeps).toEqual([150, 300, 600]);
    clock.sleeps.length = 0;
    clock.jitter = 0.999;
    await expect(
      client({ maxAttempts: 10 }).createIssue({ fields: {} } as never, clock.now() + 600_000),
    ).rejects.toThrow();
    expect(Math.max(...clock.sleeps)).toBeLessThanOrEqual(5000);
    expect(clock.sleeps.at(-1)).toBeGreaterThan(4900);
  });

  test('X-RateLimit-Reset is used when Retry-After is absent', async () => {
    const reset = new Date(clock.now() + 1500).toISOString();
    answers(() => json(429, {}, { 'X-RateLimit-Reset': reset }), created);
    await client().createIssue({ fields: {} } as never, far());
    expect(clock.sleeps).toEqual([1500]);
  });

  test.each([500, 502, 503, 504])(
    '%i is retried (a comment, a search: requests that tolerate a repeat)',
    async (status) => {
      answers(() => json(status, { errorMessages: ['temporary'] }), commented);
      await expect(client().addComment('OPS-1', COMMENT, far())).resolves.toBeUndefined();
      expect(fetchMock).toHaveBeenCalledTimes(2);
    },
  );

  test('503 with Retry-After waits as told', async () => {
    answers(() => json(503, {}, { 'Retry-After': '1' }), commented);
    await client().addComment('OPS-1', COMMENT, far());
    expect(clock.sleeps).toEqual([1000]);
  });

  test.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT'])('network error %s is retried and reported', async (code) => {
    fetchMock.mockRejectedValue(networkError(code));
    const error = await client({ maxAttempts: 3 })
      .addComment('OPS-1', COMMENT, far())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JiraApiError);
    expect((error as JiraApiError).status).toBe(0);
    expect((error as Error).message).toMatch(
      new RegExp(`network error ${code}: connect ${code}.*gave up after 3 attempts`),
    );
    expect(fetchMock).toHaveBeenCalledTimes(3);
  });

  test('a hanging request is aborted by the per-request timeout and retried', async () => {
    fetchMock.mockImplementation(
      (_url: string, init: RequestInit) =>
        new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason))),
    );
    const started = Date.now();
    await expect(client({ timeoutMs: 100, maxAttempts: 2 }).addComment('OPS-1', COMMENT, far())).rejects.toThrow(
      /timed out after 100 ms \(gave up after 2 attempts\)/,
    );
    expect(Date.now() - started).toBeLessThan(2000);
    expect(fetchMock).toHaveBeenCalledTimes(2);
  });

  test.each([
    [
      400,
      { errorMessages: ["Field 'priority' is required"], errors: { labels: 'bad label' } },
      "HTTP 400: Field 'priority' is required; labels: bad label",
    ],
    [
      403,
      { errorMessages: ['You do not have permission to create issues in this project.'] },
      'HTTP 403: You do not have permission',
    ],
    [
      404,
      { errorMessages: ['Issue does not exist or you do not have permission to see it.'] },
      'HTTP 404: Issue does not exist',
    ],
    [
      422,
      { errorMessages: [], errors: { issuetype: 'configuration problem' } },
      'HTTP 422: issuetype: configuration problem',
    ],
  ])('%i is not retried and is reported with its message', async (status, body, message) => {
    answers(() => json(status, body));
    const error = await client()
      .createIssue({ fields: {} } as never, far())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JiraApiError);
    expect(error).toMatchObject({ status, definitelyNotApplied: true });
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain(SECRET.apiToken);
    expect((error as Error).message).not.toContain('Basic');
    expect(fetchMock).toHaveBeenCalledTimes(1);
    expect(clock.sleeps).toEqual([]);
    expect(unauthorized).not.toHaveBeenCalled();
  });

  test('a non-JSON error body is reported as text', async () => {
    answers(() => new Response('<html><body>Bad gateway\nupstream</body></html>', { status: 400 }));
    await expect(client().createIssue({ fields: {} } as never, far())).rejects.toThrow(
      'HTTP 400: non-JSON response body: <html><body>Bad gateway upstream</body></html>',
    );
  });
});

describe('401: a rotated token', () => {
  const rejected = () => json(401, { errorMessages: ['Client must be authenticated to access this resource.'] });

  test('drops the cached secret, reads it again and tries once more at once', async () => {
    const credentials = jest
      .fn()
      .mockResolvedValueOnce({ ...SECRET, apiToken: 'old-token' })
      .mockResolvedValue(SECRET);
    answers(rejected, created);

    await expect(client({ credentials }).createIssue(labelled, far())).resolves.toMatchObject({ key: 'OPS-9' });
    expect(unauthorized).toHaveBeenCalledTimes(1);
    expect(credentials).toHaveBeenCalledTimes(2);
    const auths = fetchMock.mock.calls.map(([, init]) => (init as RequestInit).headers as Record<string, string>);
    expect(auths[1].Authorization).toBe(
      `Basic ${Buffer.from(`${SECRET.email}:${SECRET.apiToken}`).toString('base64')}`,
    );
    expect(auths[0].Authorization).not.toBe(auths[1].Authorization);
    expect(clock.sleeps).toEqual([]);
  });

  test('does not use up an attempt: with JIRA_MAX_ATTEMPTS=1 the retry still happens', async () => {
    answers(rejected, commented);
    await expect(client({ maxAttempts: 1 }).addComment('OPS-1', COMMENT, far())).resolves.toBeUndefined();
    expect(fetchMock).toHaveBeenCalledTimes(2);
  });

  test('a second 401 fails clearly, naming the secret (never the token)', async () => {
    answers(rejected);
    const error = await client()
      .createIssue(labelled, far())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JiraApiError);
    expect(error).toMatchObject({ status: 401, definitelyNotApplied: true });
    expect((error as Error).message).toBe(
      'JIRA POST /rest/api/3/issue failed with HTTP 401: Client must be authenticated to access this resource.; ' +
        'token rejected after re-reading the secret arn:aws:secretsmanager:us-east-1:999999999999:secret:jira-AbC: ' +
        'put a valid apiToken in it',
    );
    expect((error as Error).message).not.toContain(SECRET.apiToken);
    expect(fetchMock).toHaveBeenCalledTimes(2);
    expect(unauthorized).toHaveBeenCalledTimes(2);
  });

  test('once per request: a later request gets its own re-read', async () => {
    answers(rejected, commented, rejected, commented);
    await client().addComment('OPS-1', COMMENT, far());
    await client().addComment('OPS-1', COMMENT, far());
    expect(unauthorized).toHaveBeenCalledTimes(2);
    expect(fetchMock).toHaveBeenCalledTimes(4);
  });
});

describe('create: a create whose outcome is unknown is never posted again', () => {
  const paths = () => fetchMock.mock.calls.map(([url, init]) => `${(init as RequestInit).method} ${url}`);

  test.each([
    ['HTTP 502', () => json(502, { errorMessages: ['Bad gateway'] })],
    ['HTTP 500', () => json(500, {})],
    ['a reset connection', () => Promise.reject(networkError('ECONNRESET'))],
  ])('%s: the label search finds the issue, which is adopted', async (_name, failure) => {
    answers(failure, found('OPS-7'));
    await expect(client().createIssue(labelled, far())).resolves.toEqual({ id: 'OPS-7', key: 'OPS-7' });
    expect(paths()).toEqual([`POST ${BASE}/rest/api/3/issue`, `POST ${BASE}/rest/api/3/search/jql`]);
  });

  test.each([
    ['HTTP 503', () => json(503, {}), /HTTP 503.*JIRA may have created the issue, so it is not posted again/],
    [
      'a reset connection',
      () => Promise.reject(networkError('ECONNRESET')),
      /ECONNRESET.*JIRA may have created the issue, so it is not posted again/,
    ],
    // Not retried at all, and not "certainly not applied": the caller holds the claim.
    ['a garbled 201', () => new Response('<html>', { status: 201 }), /returned a non-JSON 201 response/],
  ])(
    '%s and a search that does not (yet) see it: fails as unknown, without a second POST',
    async (_n, failure, message) => {
      answers(failure, found(), created);
      const error = await client()
        .createIssue(labelled, far())
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(JiraApiError);
      expect(error).toMatchObject({ definitelyNotApplied: false });
      expect((error as Error).message).toMatch(message);
      expect(paths().filter((p) => p.endsWith('/rest/api/3/issue'))).toHaveLength(1);
    },
  );

  test('a timed-out create: not posted again either', async () => {
    fetchMock.mockImplementationOnce(
      (_url: string, init: RequestInit) =>
        new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason))),
    );
    fetchMock.mockImplementation(async () => found()());
    await expect(client({ timeoutMs: 100 }).createIssue(labelled, far())).rejects.toThrow(
      /timed out after 100 ms; JIRA may have created the issue, so it is not posted again/,
    );
    expect(paths().filter((p) => p.endsWith('/rest/api/3/issue'))).toHaveLength(1);
  });

  test('a failing search keeps the outcome unknown (whatever the search answered)', async () => {
    answers(
      () => json(503, {}),
      () => json(400, { errorMessages: ['bad jql'] }),
    );
    const error = await client()
      .createIssue(labelled, far())
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 503, definitelyNotApplied: false });
    expect((error as Error).message).toMatch(/searching for it failed too: .*HTTP 400: bad jql/);
  });

  test('a create without a claim label is not posted again after a 5xx', async () => {
    answers(() => json(503, {}), created);
    await expect(client().createIssue({ fields: {} } as never, far())).rejects.toThrow(/no claim label to search/);
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });

  test.each(['ECONNREFUSED', 'ENOTFOUND'])('%s (nothing reached JIRA) is retried as a plain create', async (code) => {
    answers(() => Promise.reject(networkError(code)), created);
    await expect(client().createIssue(labelled, far())).resolves.toMatchObject({ key: 'OPS-9' });
    expect(paths()).toEqual([`POST ${BASE}/rest/api/3/issue`, `POST ${BASE}/rest/api/3/issue`]);
  });

  test('a 429 (certainly not applied) is retried as a plain create', async () => {
    answers(() => json(429, {}, { 'Retry-After': '1' }), created);
    await expect(client().createIssue(labelled, far())).resolves.toMatchObject({ key: 'OPS-9' });
    expect(paths().filter((p) => p.includes('search'))).toEqual([]);
  });
});

describe('getIssue', () => {
  test('reads the current key and project (a moved issue answers with its new key)', async () => {
    answers(() => json(200, { id: '10001', key: 'SEC-4', fields: { project: { key: 'SEC', id: '1' } } }));
    await expect(client().getIssue('OPS-1', far())).resolves.toEqual({ key: 'SEC-4', projectKey: 'SEC' });
    expect(fetchMock.mock.calls[0][0]).toBe(`${BASE}/rest/api/3/issue/OPS-1?fields=project`);
  });
});

describe('remaining invocation time', () => {
  test('no request starts with less than MIN_REQUEST_MS left', async () => {
    await expect(client().createIssue({ fields: {} } as never, clock.now() + MIN_REQUEST_MS - 1)).rejects.toThrow(
      /not attempted: only \d+ ms left/,
    );
    expect(fetchMock).not.toHaveBeenCalled();
  });

  test('a Retry-After beyond the deadline fails at once instead of sleeping', async () => {
    answers(() => json(429, {}, { 'Retry-After': '20' }));
    await expect(client().createIssue({ fields: {} } as never, clock.now() + 10_000)).rejects.toThrow(
      /HTTP 429.*not retried: waiting 20000 ms would pass the invocation deadline/,
    );
    expect(clock.sleeps).toEqual([]);
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });

  test('retries stop when backoff would pass the deadline', async () => {
    answers(() => json(500, {}));
    clock.jitter = 0.999;
    await expect(client({ maxAttempts: 10 }).addComment('OPS-1', COMMENT, clock.now() + 2000)).rejects.toThrow(
      /not retried/,
    );
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(2000 - MIN_REQUEST_MS);
  });

  test('the per-request timeout never exceeds the remaining time', async () => {
    fetchMock.mockImplementation(
      (_url: string, init: RequestInit) =>
        new Promise((_resolve, reject) => init.signal?.addEventListener('abort', () => reject(init.signal?.reason))),
    );
    const started = Date.now();
    await expect(
      client({ timeoutMs: 60_000, maxAttempts: 1 }).addComment('OPS-1', COMMENT, clock.now() + 300),
    ).rejects.toThrow(/timed out after 300 ms/);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe('helpers', () => {
  test('retryAfter parses seconds, HTTP dates and X-RateLimit-Reset, and ignores junk', () => {
    const now = Date.parse('2024-05-14T10:00:00Z');
    expect(retryAfter(new Headers({ 'Retry-After': '5' }), now)).toBe(5000);
    expect(retryAfter(new Headers({ 'Retry-After': 'Tue, 14 May 2024 10:00:07 GMT' }), now)).toBe(7000);
    expect(retryAfter(new Headers({ 'Retry-After': 'Tue, 14 May 2024 09:00:00 GMT' }), now)).toBe(0);
    expect(retryAfter(new Headers({ 'X-RateLimit-Reset': '2024-05-14T10:01Z' }), now)).toBe(60_000);
    expect(retryAfter(new Headers({ 'Retry-After': 'soon' }), now)).toBeUndefined();
    expect(retryAfter(new Headers(), now)).toBeUndefined();
  });

  test('errorDetail reads ErrorCollection, and copes with empty and non-JSON bodies', () => {
    expect(errorDetail('{"errorMessages":["a","b"],"errors":{"f":"c"}}')).toBe('a; b; f: c');
    expect(errorDetail('')).toBe('empty response body');
    expect(errorDetail('{}')).toBe('no error messages in response body {}');
    expect(errorDetail('x'.repeat(5000))).toHaveLength('non-JSON response body: '.length + 300);
  });
});
