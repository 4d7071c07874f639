/**
 * `npm run jira:check` against the local JIRA-compatible server (which validates every request
 * against the JIRA OpenAPI spec), with Secrets Manager and Lambda mocked: a passing run and each
 * failure, as table rows and exit codes. No AWS, no emulator.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { EXAMPLE_CONFIG } from '../../lib/config';
import { CHECKS, jiraCheck, resolveSettings, runChecks, type JiraSettings } from '../../scripts/lib/jira-check';
import { JiraOpenApi } from '../support/jira-openapi';
import { closedPortUrl, FakeJira } from '../integration/support/jira-server';
import { captureOutput, runScript } from './support';

const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:111111111111:secret:observability/jira-AbC123';
const TOKEN = 'test-token';
const aws = { region: 'us-east-1' };

const secrets = mockClient(SecretsManagerClient);
const lambda = mockClient(LambdaClient);

let jira: FakeJira;
let settings: JiraSettings;

function useSecret(secret: unknown = { email: 'ops@example.com', apiToken: TOKEN }) {
  secrets.on(GetSecretValueCommand, { SecretId: SECRET_ARN }).resolves({ SecretString: JSON.stringify(secret) });
}

const auth = () => 'Basic ' + Buffer.from(`${jira.email}:${jira.apiToken}`).toString('base64');
async function createIssue(): Promise<string> {
  const res = await fetch(`${jira.url}/rest/api/3/issue`, {
    method: 'POST',
    headers: { authorization: auth(), 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      fields: { project: { key: 'OPS' }, issuetype: { name: 'Incident' }, summary: 'x in ALARM', labels: ['a'] },
    }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { key: string }).key;
}
async function closeIssue(key: string) {
  const res = await fetch(`${jira.url}/rest/api/3/issue/${key}/transitions`, {
    method: 'POST',
    headers: { authorization: auth(), 'content-type': 'application/json' },
    body: JSON.stringify({ transition: { id: '31' } }),
  });
  expect(res.status).toBe(204);
}

/** status of each row by check name */
async function statuses(s: JiraSettings = settings) {
  const rows = await runChecks(s, { aws, timeoutMs: 2000 });
  return { rows, by: Object.fromEntries(rows.map((r) => [r.check, r])) };
}

/** runs the command with --config pointing at a config whose jira section is `jira` */
async function runWithConfig(jiraOverrides: Record<string, unknown> = {}, extra: string[] = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jira-check-'));
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      ...EXAMPLE_CONFIG,
      jira: { ...EXAMPLE_CONFIG.jira, baseUrl: jira.url, resolveTransition: 'Done', ...jiraOverrides },
    }),
  );
  const out = captureOutput();
  const code = await jiraCheck(['--config', file, ...extra], out, { timeoutMs: 2000 });
  return { code, ...out };
}

beforeEach(async () => {
  secrets.reset();
  lambda.reset();
  useSecret();
  jira = await new FakeJira({ preflight: true }).start();
  settings = {
    baseUrl: jira.url,
    projectKey: 'OPS',
    issueType: 'Incident',
    secretArn: SECRET_ARN,
    resolveTransition: 'Done',
    source: 'test',
  };
});
afterEach(async () => {
  await jira.stop();
  // Every request the check made is a valid JIRA Cloud request.
  expect(jira.violations).toEqual([]);
  expect(jira.jqlWarnings).toEqual([]);
});

describe('jira:check against the local JIRA server', () => {
  test('a passing run: every row PASS, exit 0, the token never printed', async () => {
    await createIssue();
    const r = await runWithConfig();
    expect(r.stderr()).toBe('');
    expect(r.code).toBe(0);
    const out = r.stdout();
    for (const check of Object.values(CHECKS)) expect(out).toMatch(new RegExp(`^${check} +PASS +\\S`, 'm'));
    expect(out).toMatch(/^base URL reachable +PASS +http:\/\/127\.0\.0\.1:\d+: JIRA 1001\.0\.0-SNAPSHOT \(Cloud\)/m);
    expect(out).toMatch(/^credentials valid +PASS +authenticated as Incident Bot \(ops@example\.com\)/m);
    expect(out).toMatch(/^issue type exists +PASS +Incident \(id 10004\) in OPS/m);
    expect(out).toMatch(
      /^required fields set +PASS +required: project, issuetype, summary, reporter \(reporter by default value\)/m,
    );
    expect(out).toMatch(/^resolve transition +PASS +"Done" \(id 31\) from "To Do" on OPS-1/m);
    expect(out).toMatch(/^PASS: 7 checks, 7 passed, 0 failed, 0 warnings, 0 skipped$/m);
    expect(out).not.toContain('To fix:');
    expect(out).toContain(`config file `);
    expect(out).not.toContain(TOKEN);
    // The endpoints the checks use, in order (after the test's own createIssue).
    expect(jira.requests.slice(1).map((q) => q.operationId)).toEqual([
      'getServerInfo',
      'getCurrentUser',
      'getProject',
      'getCreateIssueMetaIssueTypes',
      'getCreateIssueMetaIssueTypeId',
      'searchAndReconsileIssuesUsingJqlPost',
      'getTransitions',
    ]);
    expect(jira.authFailures).toEqual([]);
  });

  test('the table lines up: one row per check, columns aligned', async () => {
    const r = await runWithConfig();
    const lines = r.stdout().split('\n');
    const head = lines.findIndex((l) => /^check +result +detail$/.test(l));
    expect(head).toBeGreaterThan(0);
    const table = lines.slice(head, head + 2 + 7);
    expect(table[1]).toMatch(/^-+ +-+ +-+$/);
    const resultColumn = table[0].indexOf('result');
    for (const line of table.slice(2))
      expect(line.slice(resultColumn, resultColumn + 4)).toMatch(/PASS|WARN|FAIL|SKIP/);
  });

  test('unreachable base URL: FAIL, every later check SKIP, exit 1', async () => {
    const url = await closedPortUrl();
    const { rows } = await statuses({ ...settings, baseUrl: url });
    expect(rows.map((r) => [r.check, r.status])).toEqual([
      [CHECKS.reachable, 'FAIL'],
      [CHECKS.credentials, 'SKIP'],
      [CHECKS.project, 'SKIP'],
      [CHECKS.issueType, 'SKIP'],
      [CHECKS.requiredFields, 'SKIP'],
      [CHECKS.labels, 'SKIP'],
      [CHECKS.transition, 'SKIP'],
    ]);
    expect(rows[0].detail).toMatch(/cannot reach http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
    const r = await runWithConfig({ baseUrl: url });
    expect(r.code).toBe(1);
    expect(r.stdout()).toMatch(/^base URL reachable +FAIL +cannot reach/m);
    expect(r.stdout()).toMatch(/^FAIL: 7 checks, 0 passed, 1 failed, 0 warnings, 6 skipped$/m);
  });

  test('a base URL the handler refuses (plain http) fails without a request', async () => {
    const { rows } = await statuses({ ...settings, baseUrl: 'http://jira.example.com' });
    expect(rows[0]).toMatchObject({
      status: 'FAIL',
      detail: 'http://jira.example.com is not an https URL, so the handler refuses it',
      fix: 'use the https site root, e.g. https://your-site.atlassian.net',
    });
    expect(jira.requests).toEqual([]);
  });

  test('a base URL that answers slowly, redirects or is not JIRA fails the reachability row', async () => {
    jira.inject('serverInfo', { hang: true });
    expect((await runChecks(settings, { aws, timeoutMs: 300 }))[0]).toMatchObject({
      status: 'FAIL',
      detail: expect.stringContaining('no answer within 300 ms'),
    });
    jira.inject('serverInfo', { status: 302, headers: { Location: 'https://other.atlassian.net/' } });
    expect((await statuses()).rows[0]).toMatchObject({
      status: 'FAIL',
      detail: expect.stringMatching(
        /redirects \(HTTP 302\) to https:\/\/other\.atlassian\.net\/; the handler does not follow/,
      ),
    });
    jira.inject('serverInfo', { status: 200, rawBody: '<html>Welcome</html>', contentType: 'text/html' });
    expect((await statuses()).rows[0]).toMatchObject({
      status: 'FAIL',
      detail: expect.stringContaining('not JIRA server info'),
    });
  });

  test('401: the token in the secret is rejected -> FAIL "token rejected", exit 1, neither token printed', async () => {
    secrets.reset();
    useSecret({ email: 'ops@example.com', apiToken: 'old-token' });
    const r = await runWithConfig();
    expect(r.code).toBe(1);
    expect(r.stdout()).toMatch(/^credentials valid +FAIL +token rejected \(HTTP 401\) for ops@example\.com$/m);
    expect(r.stdout()).toMatch(
      /^To fix:\n {2}credentials valid: create an API token for ops@example\.com \(id\.atlassian\.com > Security > API tokens\), put it in the secret/m,
    );
    expect(r.stdout()).toMatch(/^project exists +SKIP +needs valid credentials/m);
    expect(r.stdout()).not.toContain('old-token');
    expect(r.stdout()).not.toContain(TOKEN);
    expect(jira.authFailures).toHaveLength(1);
  });

  test('a secret that cannot be read or is not {"email","apiToken"} fails the credentials row', async () => {
    secrets.reset();
    secrets.on(GetSecretValueCommand).rejects(
      Object.assign(new Error("Secrets Manager can't find the specified secret."), {
        name: 'ResourceNotFoundException',
      }),
    );
    let { by } = await statuses();
    expect(by[CHECKS.credentials]).toMatchObject({
      status: 'FAIL',
      detail: `cannot read the secret ${SECRET_ARN}: ResourceNotFoundException: Secrets Manager can't find the specified secret.`,
    });
    secrets.reset();
    useSecret({ email: 'ops@example.com', token: 'wrong-key' });
    ({ by } = await statuses());
    expect(by[CHECKS.credentials].status).toBe('FAIL');
    expect(by[CHECKS.credentials].detail).toContain('no non-empty string field "apiToken"');
    expect(by[CHECKS.credentials].detail).not.toContain('wrong-key');
  });

  test('unknown project -> FAIL naming it, exit 1', async () => {
    const r = await runWithConfig({ projectKey: 'NOPE' });
    expect(r.code).toBe(1);
    expect(r.stdout()).toMatch(/^project exists +FAIL +project NOPE not found, or ops@example\.com may not browse it/m);
    expect(r.stdout()).toMatch(/^issue type exists +SKIP +needs the project/m);
  });

  test('unknown issue type -> FAIL listing the available ones, exit 1', async () => {
    const r = await runWithConfig({ issueType: 'Incidnet' });
    expect(r.code).toBe(1);
    expect(r.stdout()).toMatch(
      /^issue type exists +FAIL +no issue type "Incidnet" in OPS \(available: Incident, Task\)/m,
    );
  });

  test('issue types are read across createmeta pages; a case-only match is WARN; a sub-task type FAILs', async () => {
    const ops = jira.projects[0];
    for (let i = 0; i < 230; i++) ops.issueTypes.unshift({ id: String(20000 + i), name: `Type ${i}`, fields: [] });
    let { by } = await statuses();
    expect(by[CHECKS.issueType].status).toBe('PASS');
    expect(jira.requestsTo('createMetaIssueTypes').map((q) => q.query.startAt)).toEqual([['0'], ['200']]);

    ({ by } = await statuses({ ...settings, issueType: 'incident' }));
    expect(by[CHECKS.issueType]).toMatchObject({
      status: 'WARN',
      detail: expect.stringContaining('only ignoring case'),
    });

    ops.issueTypes.push({ id: '10009', name: 'Sub-incident', subtask: true, fields: [] });
    ({ by } = await statuses({ ...settings, issueType: 'Sub-incident' }));
    expect(by[CHECKS.issueType]).toMatchObject({ status: 'FAIL', detail: expect.stringContaining('sub-task type') });
  });

  test('a required field the handler does not set (and without a default) -> FAIL naming the field', async () => {
    const incident = jira.projects[0].issueTypes[0];
    incident.fields.push(
      { fieldId: 'customfield_10050', name: 'Customer', required: true, schema: { type: 'string' } },
      { fieldId: 'customfield_10051', name: 'Team', required: true, hasDefaultValue: true, schema: { type: 'string' } },
    );
    const r = await runWithConfig();
    expect(r.code).toBe(1);
    expect(r.stdout()).toMatch(
      /^required fields set +FAIL +required, without a default, not set by the handler: Customer \(customfield_10050\)$/m,
    );
    expect(r.stdout()).not.toMatch(/Team \(customfield_10051\)/);
    expect(r.stdout()).toMatch(
      /^ {2}required fields set: give it a default value, make it optional, or use another issue type$/m,
    );
    expect(r.stdout()).toMatch(/^labels on create screen +PASS/m);
  });

  test('description missing from the create screen -> FAIL (the handler always sends it)', async () => {
    const incident = jira.projects[0].issueTypes[0];
    incident.fields = incident.fields.filter((f) => f.fieldId !== 'description');
    const { by } = await statuses();
    expect(by[CHECKS.requiredFields]).toMatchObject({
      status: 'FAIL',
      detail: expect.stringContaining('description not on the create screen'),
    });
  });

  test('labels missing from the create screen -> FAIL, exit 1', async () => {
    const incident = jira.projects[0].issueTypes[0];
    incident.fields = incident.fields.filter((f) => f.fieldId !== 'labels');
    const r = await runWithConfig();
    expect(r.code).toBe(1);
    expect(r.stdout()).toMatch(/^labels on create screen +FAIL +labels is not on the OPS\/Incident create screen/m);
    expect(r.stdout()).toMatch(/^required fields set +PASS/m);
  });

  test('unknown resolve transition on an open issue -> FAIL listing the available ones, exit 1', async () => {
    await createIssue();
    const r = await runWithConfig({ resolveTransition: 'Close' });
    expect(r.code).toBe(1);
    expect(r.stdout()).toMatch(
      /^resolve transition +FAIL +no transition "Close" from "To Do" on OPS-1 \(available: In Progress \(21\), Done \(31\)\)/m,
    );
  });

  test('the transition is matched like the handler does: by id, or by name ignoring case', async () => {
    await createIssue();
    expect((await statuses({ ...settings, resolveTransition: '31' })).by[CHECKS.transition].status).toBe('PASS');
    expect((await statuses({ ...settings, resolveTransition: 'done' })).by[CHECKS.transition].status).toBe('PASS');
  });

  test('no issue yet -> WARN "cannot verify until the first issue exists", exit 0', async () => {
    const r = await runWithConfig();
    expect(r.code).toBe(0);
    expect(r.stdout()).toMatch(/^resolve transition +WARN +cannot verify until the first issue exists/m);
    expect(r.stdout()).toMatch(/^PASS: 7 checks, 6 passed, 0 failed, 1 warning, 0 skipped$/m);
  });

  test('the newest open issue is used; only closed issues -> WARN, not a false FAIL', async () => {
    const first = await createIssue();
    await createIssue();
    await closeIssue('OPS-2');
    let { by } = await statuses();
    expect(by[CHECKS.transition]).toMatchObject({ status: 'PASS', detail: expect.stringContaining(`on ${first}`) });
    await closeIssue(first);
    ({ by } = await statuses());
    expect(by[CHECKS.transition]).toMatchObject({
      status: 'WARN',
      detail: expect.stringMatching(/^cannot verify: the newest issue OPS-\d is already "Done"/),
    });
  });

  test('no resolve transition configured -> SKIP, exit 0', async () => {
    const { by } = await statuses({ ...settings, resolveTransition: undefined });
    expect(by[CHECKS.transition]).toMatchObject({ status: 'SKIP', detail: expect.stringContaining('none configured') });
    expect(jira.requestsTo('searchJql')).toEqual([]);
  });

  test("the fake's preflight routes answer in the OpenAPI response shapes", async () => {
    const spec = JiraOpenApi.full();
    const get = async (p: string, authorized = true) => {
      const res = await fetch(jira.url + p, { headers: authorized ? { authorization: auth() } : {} });
      expect(res.status).toBe(200);
      return res.json();
    };
    const shapes: [string, string, boolean?][] = [
      ['/rest/api/3/serverInfo', 'ServerInformation', false],
      ['/rest/api/3/myself', 'User'],
      ['/rest/api/3/project/OPS', 'Project'],
      ['/rest/api/3/issue/createmeta/OPS/issuetypes', 'PageOfCreateMetaIssueTypes'],
      ['/rest/api/3/issue/createmeta/OPS/issuetypes/10004', 'PageOfCreateMetaIssueTypeWithField'],
    ];
    for (const [p, schema, authorized] of shapes) {
      const validate = spec.componentValidator(schema);
      const body = await get(p, authorized);
      expect([p, validate(body), validate.errors ?? null]).toEqual([p, true, null]);
    }
    // The items inside the pages, whose page schemas are open (additionalProperties: true).
    const types = (await get('/rest/api/3/issue/createmeta/OPS/issuetypes')) as { issueTypes: unknown[] };
    const fields = (await get('/rest/api/3/issue/createmeta/OPS/issuetypes/10004')) as { fields: unknown[] };
    const typeOk = spec.componentValidator('IssueTypeIssueCreateMetadata');
    const fieldOk = spec.componentValidator('FieldCreateMetadata');
    expect(types.issueTypes.every((t) => typeOk(t))).toBe(true);
    expect(fields.fields.every((f) => fieldOk(f))).toBe(true);
    expect(fields.fields).toHaveLength(7);
  });
});

describe('jira:check settings', () => {
  test('--suffix reads the deployed handler environment (lambda-jira-incident-<suffix>)', async () => {
    lambda.on(GetFunctionConfigurationCommand, { FunctionName: 'lambda-jira-incident-dev' }).resolves({
      Environment: {
        Variables: {
          JIRA_BASE_URL: `${jira.url}/`,
          JIRA_PROJECT_KEY: 'OPS',
          JIRA_ISSUE_TYPE: 'Incident',
          JIRA_SECRET_ARN: SECRET_ARN,
          JIRA_RESOLVE_TRANSITION: 'Done',
          ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:111111111111:sns-alerts-dev',
        },
      },
    });
    await createIssue();
    const out = captureOutput();
    const code = await jiraCheck(['--suffix', 'dev'], out, { timeoutMs: 2000 });
    expect(out.stderr()).toBe('');
    expect(code).toBe(0);
    expect(out.stdout()).toMatch(/^source +deployed handler lambda-jira-incident-dev \(us-east-1\)$/m);
    expect(out.stdout()).toMatch(new RegExp(`^base URL +${jira.url.replace(/\./g, '\\.')}$`, 'm'));
    expect(lambda.commandCalls(GetFunctionConfigurationCommand)).toHaveLength(1);
  });

  test('--suffix: a function that does not exist or lacks a variable is a usage error (exit 2) naming the fix', async () => {
    lambda
      .on(GetFunctionConfigurationCommand)
      .rejects(Object.assign(new Error('Function not found'), { name: 'ResourceNotFoundException' }));
    let out = captureOutput();
    expect(await jiraCheck(['--suffix', 'nope', '--region', 'eu-west-1'], out)).toBe(2);
    expect(out.stderr()).toContain(
      'function lambda-jira-incident-nope not found in eu-west-1. Fix: check --suffix and --region',
    );
    lambda.reset();
    lambda.on(GetFunctionConfigurationCommand).resolves({ Environment: { Variables: { JIRA_BASE_URL: jira.url } } });
    out = captureOutput();
    expect(await jiraCheck(['--suffix', 'dev'], out)).toBe(2);
    expect(out.stderr()).toContain('lambda-jira-incident-dev has no JIRA_PROJECT_KEY in its environment');
  });

  test('--region and --profile reach the AWS clients (the default chain otherwise)', async () => {
    const seen: unknown[] = [];
    lambda.on(GetFunctionConfigurationCommand).callsFake(async (_input, getClient) => {
      const config = getClient().config;
      seen.push([await config.region(), config.profile]);
      throw Object.assign(new Error('Function not found'), { name: 'ResourceNotFoundException' });
    });
    await jiraCheck(['--suffix', 'dev', '--region', 'eu-central-1', '--profile', 'hub-admin'], captureOutput());
    await jiraCheck(['--suffix', 'dev'], captureOutput());
    expect(seen).toEqual([
      ['eu-central-1', 'hub-admin'],
      ['us-east-1', undefined],
    ]);
  });

  test('--secret-arn overrides the secret (check a new token before switching)', async () => {
    const next = 'arn:aws:secretsmanager:us-east-1:111111111111:secret:observability/jira-next-XyZ789';
    secrets.on(GetSecretValueCommand, { SecretId: next }).resolves({
      SecretString: JSON.stringify({ email: 'ops@example.com', apiToken: 'next-token' }),
    });
    const r = await runWithConfig({}, ['--secret-arn', next]);
    expect(r.stdout()).toMatch(new RegExp(`^secret +${next}$`, 'm'));
    expect(r.stdout()).toMatch(/^credentials valid +FAIL +token rejected/m);
    expect(secrets.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId)).toEqual([next]);
    expect(r.stdout()).not.toContain('next-token');
  });

  test('the embedded example is used only with --example; nothing at all is a usage error naming the flags', async () => {
    await expect(resolveSettings({ example: true }, aws)).resolves.toMatchObject({
      baseUrl: 'https://example.atlassian.net',
      projectKey: EXAMPLE_CONFIG.jira.projectKey,
      source: 'the embedded example config (--example)',
    });
    const out = captureOutput();
    expect(await jiraCheck([], out)).toBe(2);
    expect(out.stderr()).toBe(
      'jira:check: no JIRA settings to check. Fix: pass --suffix <s> (the deployed handler), --config <file.json> (your config file) or --example (the embedded example)\n',
    );
    expect(out.stdout()).toBe('');
  });

  test.each([
    [['--bogus'], 'unknown flag --bogus. Fix: use one of --config, --example, --suffix'],
    [['--suffix'], '--suffix needs a value. Fix: write --suffix <value>'],
    [['--suffix', 'Prod_1'], "--suffix 'Prod_1' is not an environment suffix"],
    [['--example', '--region', 'mars'], "--region 'mars' is not an AWS region code"],
    [['--example', '--secret-arn', 'nope'], "--secret-arn 'nope' is not a Secrets Manager secret ARN"],
    [['--example', '--config', 'x.json'], '--config and --example both name a config'],
    [['--config', '/does/not/exist.json'], 'configFile = "/does/not/exist.json": cannot be read'],
    [['--example', 'extra'], 'unexpected argument "extra"'],
  ])('usage error %j -> exit 2 with the fix', async (argv, message) => {
    const out = captureOutput();
    expect(await jiraCheck(argv, out)).toBe(2);
    expect(out.stderr()).toContain(message);
    expect(jira.requests).toEqual([]);
  });

  test('an invalid config file is a usage error naming the key', async () => {
    const r = await runWithConfig({ baseUrl: 'http://jira.example.com' });
    expect(r.code).toBe(2);
    expect(r.stderr()).toContain('jira.baseUrl = "http://jira.example.com"');
  });

  test('--help prints usage, description and examples and exits 0', async () => {
    const out = captureOutput();
    expect(await jiraCheck(['--help'], out)).toBe(0);
    expect(out.stdout()).toMatch(/^Usage: npm run jira:check -- /);
    expect(out.stdout()).toContain('Examples:');
    expect(out.stdout()).toContain('Exit code: 0 all checks pass (WARN allowed), 1 a check failed, 2 usage error.');
  });

  test('the entry point sets the exit code (tsx scripts/jira-check.ts)', () => {
    expect(runScript('scripts/jira-check.ts', ['--help'])).toMatchObject({ status: 0 });
    const r = runScript('scripts/jira-check.ts', []);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('Fix: pass --suffix <s>');
  });
});
