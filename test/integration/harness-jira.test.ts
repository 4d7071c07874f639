/**
 * Self-tests of the fake JIRA server: it must behave like JIRA Cloud where the handler depends on
 * it, or the handler's integration tests prove nothing. Needs no AWS emulator.
 */
import { JiraOpenApi } from '../support/jira-openapi';
import { closedPortUrl, FakeJira, faults } from './support/jira-server';

const componentValidator = (name: string) => JiraOpenApi.full().componentValidator(name);
const auth = 'Basic ' + Buffer.from('ops@example.com:test-token').toString('base64');
const adf = (text: string) => ({
  type: 'doc',
  version: 1,
  content: [{ type: 'paragraph', content: [{ type: 'text', text }] }],
});
const createBody = (summary = 'critical-x in ALARM', labels = ['cloudwatch-alarm', 'alarm-critical-x']) => ({
  fields: {
    project: { key: 'OPS' },
    issuetype: { name: 'Incident' },
    summary,
    labels,
    description: adf('details'),
  },
});

describe('fake JIRA server', () => {
  let jira: FakeJira;
  beforeEach(async () => {
    jira = await new FakeJira().start();
  });
  afterEach(async () => {
    await jira.stop();
  });

  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(jira.url + path, {
      method,
      headers: { authorization: auth, 'content-type': 'application/json', accept: 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  test('create, comment, transition and search follow the spec and update the store', async () => {
    const created = await call('POST', '/rest/api/3/issue', createBody());
    expect(created.status).toBe(201);
    const issue = (await created.json()) as { id: string; key: string; self: string };
    expect(componentValidator('CreatedIssue')(issue)).toBe(true);
    expect(issue.key).toBe('OPS-1');

    expect((await call('POST', `/rest/api/3/issue/${issue.key}/comment`, { body: adf('again') })).status).toBe(201);

    const tr = await call('GET', `/rest/api/3/issue/${issue.key}/transitions`);
    const transitions = (await tr.json()) as { transitions: { id: string; name: string }[] };
    expect(componentValidator('Transitions')(transitions)).toBe(true);
    expect(transitions.transitions).toContainEqual(expect.objectContaining({ id: '31', name: 'Done' }));

    const search = async () => {
      const r = await call('POST', '/rest/api/3/search/jql', {
        jql: 'project = OPS AND labels = "alarm-critical-x" AND statusCategory != Done ORDER BY created DESC',
        fields: ['summary', 'status'],
        maxResults: 5,
      });
      expect(r.status).toBe(200);
      const body = (await r.json()) as { issues: { key: string }[] };
      expect(componentValidator('SearchAndReconcileResults')(body)).toBe(true);
      return body.issues.map((i) => i.key);
    };
    expect(await search()).toEqual(['OPS-1']);
    const get = await call(
      'GET',
      `/rest/api/3/search/jql?jql=${encodeURIComponent('labels = alarm-critical-x')}&fields=summary`,
    );
    expect(((await get.json()) as { issues: unknown[] }).issues).toHaveLength(1);

    expect(
      (await call('POST', `/rest/api/3/issue/${issue.key}/transitions`, { transition: { id: '31' } })).status,
    ).toBe(204);
    expect(jira.issues[0].status.name).toBe('Done');
    expect(jira.issues[0].comments).toHaveLength(1);
    expect(await search()).toEqual([]);
    expect(jira.violations).toEqual([]);
    expect(jira.jqlWarnings).toEqual([]);
    expect(jira.requests.every((r) => !('authorization' in r.headers))).toBe(true);
  });

  test('wrong or missing Basic auth gets 401', async () => {
    const bad = 'Basic ' + Buffer.from('ops@example.com:wrong').toString('base64');
    expect((await call('POST', '/rest/api/3/issue', createBody(), { authorization: bad })).status).toBe(401);
    expect((await fetch(jira.url + '/rest/api/3/issue/OPS-1/transitions')).status).toBe(401);
    expect(jira.authFailures).toHaveLength(2);
    expect(jira.issues).toHaveLength(0);
  });

  test('requests that do not match the OpenAPI spec (or JIRA rules) get 400 and are recorded', async () => {
    const r1 = await call('POST', '/rest/api/3/issue', { fields: 'nope' });
    expect(r1.status).toBe(400);
    expect(componentValidator('ErrorCollection')(await r1.json())).toBe(true);
    expect((await call('POST', '/rest/api/3/issue', createBody('two\nlines', ['has space']))).status).toBe(400);
    expect((await call('POST', '/rest/api/3/issue/OPS-1/comment', { body: 'plain text, not ADF' })).status).toBe(400);
    expect(
      (await call('POST', '/rest/api/3/search/jql', { jql: 'project = OPS', maxResults: 'ten', startAt: 0 })).status,
    ).toBe(400);
    expect(jira.violations.map((v) => v.problems.join(' | '))).toEqual([
      expect.stringMatching(/spec: \/fields must be object/),
      expect.stringMatching(/one line.*whitespace/),
      expect.stringMatching(/must be an ADF document/),
      expect.stringMatching(/additional properties.*maxResults must be integer|maxResults must be integer/),
    ]);
    expect(jira.issues).toHaveLength(0);
  });

  test('the deprecated /rest/api/3/search and unknown routes are violations', async () => {
    expect((await call('POST', '/rest/api/3/search', { jql: 'project = OPS' })).status).toBe(410);
    expect((await call('GET', '/rest/api/3/search?jql=project%3DOPS')).status).toBe(410);
    expect((await call('GET', '/rest/api/3/nonsense')).status).toBe(404);
    // A real operation the handler does not use (only the preflight's fake serves it).
    expect((await call('GET', '/rest/api/3/serverInfo')).status).toBe(404);
    expect(jira.violations.map((v) => v.problems[0])).toEqual([
      expect.stringMatching(/deprecated search/),
      expect.stringMatching(/deprecated search/),
      expect.stringMatching(/not an operation/),
      expect.stringMatching(/does not implement/),
    ]);
  });

  test('scripted faults are served in order, per route, then normal behaviour resumes', async () => {
    jira.inject('createIssue', faults.rateLimited(1), faults.rateLimited(), faults.status(503), faults.badRequest());
    jira.inject('*', faults.nonJson(201));
    const r1 = await call('POST', '/rest/api/3/issue', createBody());
    expect([r1.status, r1.headers.get('retry-after')]).toEqual([429, '1']);
    const r2 = await call('POST', '/rest/api/3/issue', createBody());
    expect([r2.status, r2.headers.get('retry-after')]).toEqual([429, null]);
    expect((await call('POST', '/rest/api/3/issue', createBody())).status).toBe(503);
    const r4 = await call('POST', '/rest/api/3/issue', createBody());
    expect(await r4.json()).toEqual({ errorMessages: ["Field 'x' is required"], errors: {} });
    const r5 = await call('POST', '/rest/api/3/issue', createBody());
    expect(r5.status).toBe(201);
    await expect(r5.clone().json()).rejects.toThrow();
    expect(await r5.text()).toMatch(/<html>/);
    expect((await call('POST', '/rest/api/3/issue', createBody())).status).toBe(201);
    expect(jira.issues).toHaveLength(1); // faults never touch the store
    expect(jira.appliedFaults.map((f) => f.label)).toEqual([
      '429 Retry-After=1',
      '429 Retry-After=none',
      'HTTP 503',
      '400 ErrorCollection',
      'non-JSON 201',
    ]);
  });

  test('network faults: a response that never arrives, a reset connection, connection refused, slow', async () => {
    jira.inject('createIssue', faults.hang(), faults.reset(), faults.slow(300));
    const started = Date.now();
    await expect(
      fetch(jira.url + '/rest/api/3/issue', {
        method: 'POST',
        headers: { authorization: auth, 'content-type': 'application/json' },
        body: JSON.stringify(createBody()),
        signal: AbortSignal.timeout(200),
      }),
    ).rejects.toThrow(/timeout|abort/i);
    expect(Date.now() - started).toBeLessThan(1000);
    await expect(call('POST', '/rest/api/3/issue', createBody())).rejects.toThrow(/fetch failed/);
    const t0 = Date.now();
    expect((await call('POST', '/rest/api/3/issue', createBody())).status).toBe(201);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(280);
    await expect(fetch((await closedPortUrl()) + '/rest/api/3/issue')).rejects.toThrow(/fetch failed/);
    const url = jira.url;
    await jira.stop();
    await expect(fetch(url + '/rest/api/3/issue')).rejects.toThrow(/fetch failed/);
  });

  test('a lost response: JIRA applies the request, the client gets the fault', async () => {
    jira.inject('createIssue', faults.lostResponse('502'), faults.lostResponse('reset'));
    expect((await call('POST', '/rest/api/3/issue', createBody())).status).toBe(502);
    await expect(call('POST', '/rest/api/3/issue', createBody())).rejects.toThrow(/fetch failed/);
    expect(jira.issues.map((i) => i.key)).toEqual(['OPS-1', 'OPS-2']);
  });

  describe('people editing JIRA', () => {
    const comment = (key: string) => call('POST', `/rest/api/3/issue/${key}/comment`, { body: adf('x') });
    const get = (key: string) => call('GET', `/rest/api/3/issue/${key}?fields=project`);

    test('a deleted issue answers 404 to get, comment and transitions', async () => {
      await call('POST', '/rest/api/3/issue', createBody());
      jira.deleteIssue('OPS-1');
      expect((await get('OPS-1')).status).toBe(404);
      expect((await comment('OPS-1')).status).toBe(404);
      expect((await call('GET', '/rest/api/3/issue/OPS-1/transitions')).status).toBe(404);
      expect(jira.issues).toEqual([]);
      expect(jira.deletedIssues.map((i) => i.key)).toEqual(['OPS-1']);
    });

    test('a moved issue the bot can see: get answers with the new key and project, comment 403', async () => {
      await call('POST', '/rest/api/3/issue', createBody());
      const moved = jira.moveIssue('OPS-1', 'SEC');
      const r = await get('OPS-1');
      expect(r.status).toBe(200);
      expect(await r.json()).toMatchObject({ key: moved.key, fields: { project: { key: 'SEC' } } });
      expect(moved.key).toMatch(/^SEC-\d+$/);
      expect((await comment('OPS-1')).status).toBe(403);
      expect((await call('POST', '/rest/api/3/issue/OPS-1/transitions', { transition: { id: '31' } })).status).toBe(
        403,
      );
      // Search sees it in its new project only.
      const search = await call('POST', '/rest/api/3/search/jql', { jql: 'project = OPS', fields: ['summary'] });
      expect(((await search.json()) as { issues: unknown[] }).issues).toEqual([]);
    });

    test('a moved issue the bot cannot see answers 404 to everything', async () => {
      await call('POST', '/rest/api/3/issue', createBody());
      jira.moveIssue('OPS-1', 'SEC', { visible: false });
      expect((await get('OPS-1')).status).toBe(404);
      expect((await comment('OPS-1')).status).toBe(404);
    });

    test('a rotated token: only the new one is accepted', async () => {
      jira.rotateToken('new-token');
      expect((await call('POST', '/rest/api/3/issue', createBody())).status).toBe(401);
      const fresh = 'Basic ' + Buffer.from('ops@example.com:new-token').toString('base64');
      expect((await call('POST', '/rest/api/3/issue', createBody(), { authorization: fresh })).status).toBe(201);
    });
  });

  test('search is eventually consistent when searchLagMs is set', async () => {
    jira.searchLagMs = 60_000;
    await call('POST', '/rest/api/3/issue', createBody());
    const r = await call('POST', '/rest/api/3/search/jql', { jql: 'project = OPS' });
    expect(((await r.json()) as { issues: unknown[] }).issues).toEqual([]);
  });

  test('editIssue rewrites the summary (the umbrella issue of an alarm storm)', async () => {
    await call('POST', '/rest/api/3/issue', createBody());
    const r = await call('PUT', '/rest/api/3/issue/OPS-1', {
      fields: { summary: 'Alarm storm: 7 alarms in 3 accounts' },
    });
    expect(r.status).toBe(204);
    expect(jira.issues[0].fields.summary).toBe('Alarm storm: 7 alarms in 3 accounts');
    expect((await call('PUT', '/rest/api/3/issue/OPS-1', { fields: { summary: 'two\nlines' } })).status).toBe(400);
    jira.violations.length = 0;
  });

  test('rate limit: beyond N requests per second, 429 with Retry-After; in-flight requests are counted', async () => {
    jira.rateLimit = { requestsPerSecond: 5, retryAfterSeconds: 1 };
    jira.latencyMs = 50;
    const answers = await Promise.all(Array.from({ length: 8 }, () => call('POST', '/rest/api/3/issue', createBody())));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 201, 201, 201, 201, 429, 429, 429]);
    const limited = answers.find((a) => a.status === 429)!;
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(jira.rateLimited).toBe(3);
    // The five admitted ones wait out the latency together.
    expect(jira.maxInFlight).toBeGreaterThanOrEqual(5);
    await new Promise((r) => setTimeout(r, 50));
    expect(jira.inFlight).toBe(0);
    expect(jira.issues).toHaveLength(5);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await call('POST', '/rest/api/3/issue', createBody())).status).toBe(201);
  });
});
