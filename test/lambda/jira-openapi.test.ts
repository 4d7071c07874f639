import { existsSync, readFileSync } from 'node:fs';
import { stateChangeComment } from '../../lambda/jira-incident/adf';
import { loadConfig } from '../../lambda/jira-incident/config';
import { parseEvent, type AlarmStateChange } from '../../lambda/jira-incident/events';
import { buildClaimSearchBody, buildCreateIssueBody, jqlQuote } from '../../lambda/jira-incident/jira-client';
import subset from '../support/jira-openapi-subset.json';
import { FULL_SPEC_PATH as FULL_SPEC, JiraOpenApi } from '../support/jira-openapi';
import { BASE_ENV, fixture } from './helpers/harness';

/**
 * Validated against the committed subset (a user's clone may not have the full spec in ../shared); the
 * drift check at the end proves the subset equal to the full spec for these operations (CI always has it).
 */
const spec = JiraOpenApi.subset();
const requestBodyProblems = (method: string, path: string, body: unknown) => spec.requestProblems(method, path, body);
const specExample = (method: string, template: string) => spec.requestExample(method, template);
const config = loadConfig(BASE_ENV);

function changes(): [string, AlarmStateChange][] {
  const names = [
    'eventbridge-alarm-state-change-single-metric.awsdocs.json',
    'eventbridge-alarm-state-change-metric-math.derived.json',
    'eventbridge-alarm-state-change-anomaly-detection.derived.json',
    'eventbridge-alarm-state-change-composite.derived.json',
    'eventbridge-alarm-state-change-ok.derived.json',
    'eventbridge-alarm-state-change-insufficient-data.derived.json',
    'lambda-alarm-action-metric.derived.json',
    'sns-event-cloudwatch-alarm-two-records.derived.json',
  ];
  const out: [string, AlarmStateChange][] = [];
  for (const name of names) {
    const parsed = parseEvent(fixture(name));
    if (parsed.kind === 'change') out.push([name, parsed.change]);
    if (parsed.kind === 'sns')
      for (const r of parsed.records) if ('change' in r) out.push([`${name} ${r.change.alarmName}`, r.change]);
  }
  const hostile = structuredClone(out[0][1]) as { -readonly [K in keyof AlarmStateChange]: AlarmStateChange[K] };
  hostile.alarmName = `crit "}]} {"type":"mention" \\ 🚨 ${'ü'.repeat(200)}`.slice(0, 255);
  hostile.reason = `line1\nline2\r\n{"type":"doc","content":[{"type":"rule"}]}${'x'.repeat(3900)}`;
  hostile.description = '\n\n\n';
  hostile.reasonData = '';
  hostile.region = 'US East (N. Virginia)';
  out.push(['hostile alarm text', hostile]);
  return out;
}

describe('the validator itself', () => {
  test.each([
    ['POST', '/rest/api/3/issue', '/rest/api/3/issue'],
    ['POST', '/rest/api/3/issue/{issueIdOrKey}/comment', '/rest/api/3/issue/OPS-1/comment'],
    ['POST', '/rest/api/3/issue/{issueIdOrKey}/transitions', '/rest/api/3/issue/OPS-1/transitions'],
  ])("accepts the spec's own example for %s %s (schema part)", (method, template, path) => {
    const problems = requestBodyProblems(method, path, specExample(method, template));
    expect(problems.filter((p) => p.startsWith('spec:'))).toEqual([]);
  });

  test('rejects what the spec forbids: readOnly fields, unknown search keys, non-ADF documents', () => {
    expect(requestBodyProblems('POST', '/rest/api/3/issue/OPS-1/comment', { body: doc(), id: '10' })).toEqual([
      expect.stringMatching(/^spec: \/id boolean schema is false/),
    ]);
    expect(requestBodyProblems('POST', '/rest/api/3/search/jql', { jql: 'x', startAt: 0 })).toEqual([
      expect.stringMatching(/must NOT have additional properties.*startAt/),
    ]);
    expect(requestBodyProblems('POST', '/rest/api/3/search/jql', { jql: 'x', maxResults: 'ten' })).toEqual([
      expect.stringMatching(/\/maxResults must be integer/),
    ]);
    const create = { project: { key: 'OPS' }, issuetype: { name: 'Incident' }, summary: 'x' };
    expect(
      requestBodyProblems('POST', '/rest/api/3/issue', { fields: { ...create, description: 'plain text' } }),
    ).toEqual([expect.stringMatching(/^ADF fields.description/)]);
    const emptyText = {
      type: 'doc',
      version: 1,
      content: [{ type: 'paragraph', content: [{ type: 'text', text: '' }] }],
    };
    expect(requestBodyProblems('POST', '/rest/api/3/issue/OPS-1/comment', { body: emptyText })).toEqual([
      expect.stringMatching(/^ADF body/),
    ]);
  });

  const doc = () => ({ type: 'doc', version: 1, content: [] });
});

describe('every request body the client builds validates against the JIRA OpenAPI spec', () => {
  test.each(changes())('create issue: %s', (_name, change) => {
    const body = buildCreateIssueBody(config, change, '0b8f3c1e-4a5d-4e6f-8a9b-1c2d3e4f5a6b');
    expect(requestBodyProblems('POST', '/rest/api/3/issue', body)).toEqual([]);
    const { summary, labels } = body.fields;
    expect(summary.length).toBeLessThanOrEqual(255);
    expect(summary).not.toMatch(/[\r\n\t]/);
    for (const label of labels) {
      expect(label).not.toMatch(/\s/);
      expect(label.length).toBeLessThanOrEqual(255);
    }
  });

  test.each(changes())('comments: %s', (_name, change) => {
    for (const note of [
      undefined,
      'The alarm recovered; applying transition "Done". The next ALARM opens a new issue.',
    ]) {
      expect(
        requestBodyProblems('POST', '/rest/api/3/issue/OPS-1/comment', { body: stateChangeComment(change, note) }),
      ).toEqual([]);
    }
  });

  test('transition and search bodies', () => {
    expect(requestBodyProblems('POST', '/rest/api/3/issue/OPS-1/transitions', { transition: { id: '31' } })).toEqual(
      [],
    );
    const search = buildClaimSearchBody('OPS', ['a', 'b"c']);
    expect(requestBodyProblems('POST', '/rest/api/3/search/jql', search)).toEqual([]);
  });
});

describe("the alert-path heartbeat's reads are real, current operations (no body, no required query)", () => {
  test.each([
    ['/rest/api/3/myself', 'getCurrentUser'],
    ['/rest/api/3/project/OPS', 'getProject'],
  ])('GET %s (%s)', (path, operationId) => {
    const op = spec.resolveOperation('GET', path);
    expect(op).toMatchObject({ operationId, deprecated: false });
    expect(spec.requestProblems('GET', path, undefined)).toEqual([]);
    expect(spec.requestProblems('GET', path, { unexpected: true })).toEqual([
      `spec: ${operationId} takes no request body`,
    ]);
  });
});

describe('JQL quoting', () => {
  test.each([
    ['plain', '"plain"'],
    ['with "quotes"', '"with \\"quotes\\""'],
    ['back\\slash', '"back\\\\slash"'],
    ['x" OR project = SECRET OR labels = "y', '"x\\" OR project = SECRET OR labels = \\"y"'],
    ['new\nline', '"new line"'],
  ])('%s', (value, quoted) => {
    expect(jqlQuote(value)).toBe(quoted);
  });

  test('search JQL only ever contains quoted values', () => {
    expect(buildClaimSearchBody('OPS', ['t1', 't2']).jql).toBe(
      'project = "OPS" AND labels in ("cw-incident-claim-t1", "cw-incident-claim-t2") ORDER BY created ASC',
    );
  });
});

if (process.env.CI && !existsSync(FULL_SPEC)) {
  throw new Error(`CI needs the JIRA OpenAPI spec at ${FULL_SPEC} (../shared/reference) for the drift check`);
}
const fullSpecTest = existsSync(FULL_SPEC) ? test : test.skip;
fullSpecTest('the extracted subset matches the full JIRA OpenAPI spec (drift check)', () => {
  const full = JSON.parse(readFileSync(FULL_SPEC, 'utf8')) as {
    info: { version: string };
    paths: Record<string, Record<string, unknown>>;
    components: { schemas: Record<string, unknown> };
  };
  expect(subset.info.version).toBe(full.info.version);
  for (const [name, schema] of Object.entries(subset.components.schemas))
    expect(schema).toEqual(full.components.schemas[name]);
  for (const [path, ops] of Object.entries(subset.paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const { operationId, deprecated, parameters, requestBody } = full.paths[path][method] as Record<string, unknown>;
      expect(op).toEqual({ operationId, deprecated, parameters, requestBody });
    }
  }
});

fullSpecTest('the shared validator answers the same on the full spec as on the subset', () => {
  const full = JiraOpenApi.full(FULL_SPEC);
  const [, change] = changes()[0];
  const requests: [string, string, unknown][] = [
    ['POST', '/rest/api/3/issue', buildCreateIssueBody(config, change, '0b8f3c1e-4a5d-4e6f-8a9b-1c2d3e4f5a6b')],
    ['POST', '/rest/api/3/issue', { fields: { summary: 'two\nlines', labels: ['a b'], description: 'text' } }],
    ['POST', '/rest/api/3/issue/OPS-1/comment', { body: stateChangeComment(change), id: '10' }],
    ['POST', '/rest/api/3/issue/OPS-1/comment', { body: 'plain text' }],
    ['POST', '/rest/api/3/issue/OPS-1/transitions', { transition: { id: '31' } }],
    ['POST', '/rest/api/3/issue/OPS-1/transitions', { transition: {} }],
    ['POST', '/rest/api/3/search/jql', buildClaimSearchBody('OPS', ['a'])],
    ['POST', '/rest/api/3/search/jql', { jql: '', maxResults: 'ten', startAt: 0 }],
  ];
  for (const [method, path, body] of requests) {
    const query = new URLSearchParams('updateHistory=maybe');
    expect(full.requestProblems(method, path, body, query)).toEqual(spec.requestProblems(method, path, body, query));
  }
  expect(spec.requestProblems('POST', '/rest/api/3/issue', {}, new URLSearchParams('updateHistory=maybe'))).toContain(
    "spec: createIssue query 'updateHistory' must be a boolean",
  );
});
