/**
 * `npm run jira:check`: will the incident handler's tickets work? Reads the handler's JIRA settings
 * (config file, or the deployed function's environment) and checks each thing a create or resolve
 * needs, with the same credentials and the same requests the handler makes, as a pass/fail table.
 */
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { EXAMPLE_CONFIG, loadConfig, readConfigFile } from '../../lib/config';
import { Naming } from '../../lib/naming';
import { parseCredentials, type JiraCredentials } from '../../lambda/jira-incident/jira-credentials';
import {
  awsClientConfig,
  awsErrorText,
  checkRegion,
  checkSuffix,
  EXIT_FAILED,
  EXIT_OK,
  parseFlags,
  runCommand,
  UsageError,
  type AwsSettings,
  type Output,
} from './cli';
import { formatTable } from './table';

export const COMMAND = 'jira:check';

export const HELP = `Usage: npm run jira:check -- (--suffix <s> | --config <file.json> | --example) [options]

Checks that the JIRA incident handler can file and resolve tickets: the site answers, the API
token in the Secrets Manager secret is accepted, the project and issue type exist, every required
field of the create screen is one the handler sets (or has a default), the labels field is on the
create screen, and the resolve transition exists in the workflow. Prints a pass/fail table.

Where the JIRA settings come from (one of):
  --suffix <s>          the deployed handler lambda-jira-incident-<s> (its environment:
                        JIRA_BASE_URL, JIRA_PROJECT_KEY, JIRA_ISSUE_TYPE, JIRA_SECRET_ARN,
                        JIRA_RESOLVE_TRANSITION); needs lambda:GetFunctionConfiguration
  --config <file.json>  the config file you deploy with (its "jira" section); --suffix is then
                        only used to validate the file
  --example             the embedded example config (example.atlassian.net; for trying it out)

Options:
  --secret-arn <arn>    check this secret instead (e.g. a new token before switching to it)
  --region <region>     AWS region of the function and the secret (default us-east-1)
  --profile <name>      AWS profile (default: the standard credential chain, AWS_PROFILE, SSO...)
  -h, --help            this help

Needs secretsmanager:GetSecretValue on the secret. The token is never printed. AWS_ENDPOINT_URL
is honoured (tests run against an emulator).

Exit code: 0 all checks pass (WARN allowed), 1 a check failed, 2 usage error.

Examples:
  npm run jira:check -- --suffix prod
  npm run jira:check -- --config config/prod.json
  AWS_PROFILE=hub-admin npm run jira:check -- --suffix pr42 --region us-east-1
  npm run jira:check -- --suffix prod --secret-arn arn:aws:secretsmanager:us-east-1:111111111111:secret:observability/jira-next-AbC123`;

export type Status = 'PASS' | 'FAIL' | 'WARN' | 'SKIP';

export interface CheckRow {
  check: string;
  status: Status;
  /** What was found. */
  detail: string;
  /** What to do about it (printed under the table, so the table stays narrow). */
  fix?: string;
}

/** Messages are written as "finding. Fix: action"; the row keeps the two apart. */
function toRow(check: string, status: Status, text: string): CheckRow {
  const at = text.indexOf('. Fix: ');
  return at < 0
    ? { check, status, detail: text }
    : { check, status, detail: text.slice(0, at), fix: text.slice(at + '. Fix: '.length) };
}

/** The row names, in order (tests and the runbook refer to them). */
export const CHECKS = {
  reachable: 'base URL reachable',
  credentials: 'credentials valid',
  project: 'project exists',
  issueType: 'issue type exists',
  requiredFields: 'required fields set',
  labels: 'labels on create screen',
  transition: 'resolve transition',
} as const;

/** What the handler puts in every create (lambda/jira-incident/jira-client.ts buildCreateIssueBody). */
export const HANDLER_FIELDS = ['project', 'issuetype', 'summary', 'description', 'labels'] as const;

export interface JiraSettings {
  baseUrl: string;
  projectKey: string;
  issueType: string;
  secretArn: string;
  resolveTransition?: string;
  /** Where the settings were read, for the report header. */
  source: string;
}

export interface CheckOptions {
  aws: AwsSettings;
  /** Per JIRA request. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;
/** The config schema wants a suffix; the JIRA section does not depend on it. */
const PLACEHOLDER_SUFFIX = 'jira-check';

// ---------------------------------------------------------------------------------------------
// Settings

/** The handler's JIRA settings from the flags: a config file, the example, or the deployed function. */
export async function resolveSettings(
  flags: { config?: string; example?: boolean; suffix?: string; secretArn?: string },
  aws: AwsSettings,
): Promise<JiraSettings> {
  if (flags.config && flags.example) {
    throw new UsageError('--config and --example both name a config. Fix: pass only one of them');
  }
  let settings: JiraSettings;
  if (flags.config || flags.example) {
    const raw = flags.config ? readConfigFile(flags.config) : EXAMPLE_CONFIG;
    const config = loadConfig(raw, flags.suffix ?? PLACEHOLDER_SUFFIX);
    settings = {
      baseUrl: config.jira.baseUrl,
      projectKey: config.jira.projectKey,
      issueType: config.jira.issueType,
      secretArn: config.jira.secretArn,
      resolveTransition: config.jira.resolveTransition,
      source: flags.config ? `config file ${flags.config}` : 'the embedded example config (--example)',
    };
  } else if (flags.suffix) {
    settings = await settingsFromFunction(checkSuffix(flags.suffix), aws);
  } else {
    throw new UsageError(
      'no JIRA settings to check. Fix: pass --suffix <s> (the deployed handler), --config <file.json> (your config file) or --example (the embedded example)',
    );
  }
  if (flags.secretArn !== undefined) {
    if (!/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/.test(flags.secretArn)) {
      throw new UsageError(
        `--secret-arn '${flags.secretArn}' is not a Secrets Manager secret ARN. Fix: pass the full ARN, e.g. arn:aws:secretsmanager:us-east-1:111111111111:secret:observability/jira-AbC123`,
      );
    }
    settings = { ...settings, secretArn: flags.secretArn, source: `${settings.source}, secret from --secret-arn` };
  }
  return { ...settings, baseUrl: settings.baseUrl.trim().replace(/\/+$/, '') };
}

async function settingsFromFunction(suffix: string, aws: AwsSettings): Promise<JiraSettings> {
  const functionName = new Naming(suffix).name('lambda', 'jira-incident');
  const client = new LambdaClient(awsClientConfig(aws));
  let env: Record<string, string>;
  try {
    const out = await client.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
    if (out.Environment?.Error) {
      throw new Error(
        `${functionName}: its environment cannot be read (${out.Environment.Error.ErrorCode}: ${out.Environment.Error.Message})`,
      );
    }
    env = out.Environment?.Variables ?? {};
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') {
      throw new UsageError(
        `function ${functionName} not found in ${aws.region}. Fix: check --suffix and --region (and the AWS profile: it must be the hub account), or use --config <file.json>`,
      );
    }
    throw err;
  } finally {
    client.destroy();
  }
  const read = (name: string) => {
    const value = env[name]?.trim();
    if (!value) {
      throw new UsageError(
        `${functionName} has no ${name} in its environment. Fix: redeploy the hub stack, or check its config with --config <file.json>`,
      );
    }
    return value;
  };
  return {
    baseUrl: read('JIRA_BASE_URL'),
    projectKey: read('JIRA_PROJECT_KEY'),
    issueType: read('JIRA_ISSUE_TYPE'),
    secretArn: read('JIRA_SECRET_ARN'),
    resolveTransition: env.JIRA_RESOLVE_TRANSITION?.trim() || undefined,
    source: `deployed handler ${functionName} (${aws.region})`,
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP

type HttpResult =
  { ok: true; status: number; json: unknown; text: string; location?: string } | { ok: false; reason: string };

class Jira {
  credentials?: JiraCredentials;
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs: number,
  ) {}

  async call(method: 'GET' | 'POST', path: string, body?: unknown, anonymous = false): Promise<HttpResult> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (!anonymous && this.credentials) {
      const { email, apiToken } = this.credentials;
      headers.Authorization = `Basic ${Buffer.from(`${email}:${apiToken}`).toString('base64')}`;
    }
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    try {
      const res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
        // The handler refuses redirects (redirect: 'error'); so must the check, or it would pass a URL the handler cannot use.
        redirect: 'manual',
      });
      const text = await res.text();
      let json: unknown;
      try {
        json = text ? JSON.parse(text) : undefined;
      } catch {
        json = undefined;
      }
      return { ok: true, status: res.status, json, text, location: res.headers.get('location') ?? undefined };
    } catch (err) {
      return { ok: false, reason: networkReason(err, this.timeoutMs) };
    }
  }
}

function networkReason(err: unknown, timeoutMs: number): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  return e?.cause?.message ?? e?.cause?.code ?? e?.message ?? String(err);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** JIRA's ErrorCollection as one line, else the start of the body. */
function errorText(r: Extract<HttpResult, { ok: true }>): string {
  if (isRecord(r.json)) {
    const messages = Array.isArray(r.json.errorMessages) ? r.json.errorMessages.map(String) : [];
    const errors = isRecord(r.json.errors) ? Object.entries(r.json.errors).map(([k, v]) => `${k}: ${String(v)}`) : [];
    const all = [...messages, ...errors];
    if (all.length > 0) return `HTTP ${r.status}: ${all.join('; ')}`;
  }
  const snippet = r.text.replace(/\s+/g, ' ').trim().slice(0, 120);
  return `HTTP ${r.status}${snippet ? `: ${snippet}` : ''}`;
}

function failure(r: HttpResult): string {
  return r.ok ? errorText(r) : `request failed: ${r.reason}`;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** lambda/jira-incident/config.ts: https, or http on a loopback host (local tests). */
function handlerAcceptsUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
  } catch {
    return false;
  }
}

/** A JQL string literal (as the handler quotes them). */
function jqlQuote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Reads every page of a createmeta list (`issueTypes` or `fields`); JIRA pages them at 50 by default. */
async function allPages(
  jira: Jira,
  path: string,
  key: 'issueTypes' | 'fields',
): Promise<{ items: Record<string, unknown>[] } | { error: string }> {
  const items: Record<string, unknown>[] = [];
  const pageSize = 200;
  for (let startAt = 0, page = 0; page < 50; page++) {
    const r = await jira.call('GET', `${path}?startAt=${startAt}&maxResults=${pageSize}`);
    if (!r.ok || r.status !== 200 || !isRecord(r.json)) return { error: failure(r) };
    const got = Array.isArray(r.json[key]) ? (r.json[key] as unknown[]).filter(isRecord) : [];
    items.push(...got);
    startAt += got.length;
    const total = typeof r.json.total === 'number' ? r.json.total : undefined;
    if (got.length === 0 || (total !== undefined ? startAt >= total : got.length < pageSize)) break;
  }
  return { items };
}

// ---------------------------------------------------------------------------------------------
// Checks

/** Runs every check in order; a check whose prerequisite failed is SKIP, naming what it needs. */
export async function runChecks(settings: JiraSettings, options: CheckOptions): Promise<CheckRow[]> {
  const rows: CheckRow[] = [];
  const add = (check: string, status: Status, detail: string) => rows.push(toRow(check, status, detail));
  const skipRest = (from: number, reason: string) => {
    for (const check of Object.values(CHECKS).slice(from)) add(check, 'SKIP', reason);
    return rows;
  };
  const jira = new Jira(settings.baseUrl, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const project = encodeURIComponent(settings.projectKey);

  // 1. The handler's own URL rule first (https; http only on loopback), then anonymous serverInfo
  // (JIRA answers it without login), so a URL problem is told apart from a token problem.
  if (!handlerAcceptsUrl(settings.baseUrl)) {
    add(
      CHECKS.reachable,
      'FAIL',
      `${settings.baseUrl} is not an https URL, so the handler refuses it. Fix: use the https site root, e.g. https://your-site.atlassian.net`,
    );
    return skipRest(1, 'needs a reachable base URL');
  }
  const info = await jira.call('GET', '/rest/api/3/serverInfo', undefined, true);
  if (!info.ok) {
    add(CHECKS.reachable, 'FAIL', `cannot reach ${settings.baseUrl}: ${info.reason}`);
    return skipRest(1, 'needs a reachable base URL');
  }
  if (info.status >= 300 && info.status < 400) {
    add(
      CHECKS.reachable,
      'FAIL',
      `${settings.baseUrl} redirects (HTTP ${info.status}) to ${info.location ?? '?'}; the handler does not follow redirects. Fix: set the base URL to the site root it redirects to`,
    );
    return skipRest(1, 'needs a reachable base URL');
  }
  if (info.status === 200 && isRecord(info.json) && (info.json.version || info.json.baseUrl)) {
    const j = info.json;
    const title = j.serverTitle ? ` "${String(j.serverTitle)}"` : '';
    add(
      CHECKS.reachable,
      'PASS',
      `${settings.baseUrl}: JIRA ${String(j.version ?? '?')} (${String(j.deploymentType ?? 'unknown deployment')})${title}`,
    );
  } else if ((info.status === 401 || info.status === 403) && isRecord(info.json)) {
    add(CHECKS.reachable, 'PASS', `${settings.baseUrl}: JIRA answers (HTTP ${info.status} to anonymous serverInfo)`);
  } else {
    add(
      CHECKS.reachable,
      'FAIL',
      `${settings.baseUrl} answered GET /rest/api/3/serverInfo with ${errorText(info)}, not JIRA server info. Fix: set the base URL to the JIRA Cloud site root, e.g. https://your-site.atlassian.net`,
    );
    return skipRest(1, 'needs a reachable base URL');
  }

  // 2. The secret the handler reads, then who JIRA says we are.
  const secrets = new SecretsManagerClient(awsClientConfig(options.aws));
  try {
    const out = await secrets.send(new GetSecretValueCommand({ SecretId: settings.secretArn }));
    jira.credentials = parseCredentials(out.SecretString, settings.secretArn);
  } catch (err) {
    const text = (err as Error).name === 'SecretError' ? (err as Error).message : awsErrorText(err);
    add(CHECKS.credentials, 'FAIL', `cannot read the secret ${settings.secretArn}: ${text}`);
    return skipRest(2, 'needs valid credentials');
  } finally {
    secrets.destroy();
  }
  const email = jira.credentials.email;
  const me = await jira.call('GET', '/rest/api/3/myself');
  if (me.ok && me.status === 200 && isRecord(me.json)) {
    const name = String(me.json.displayName ?? me.json.accountId ?? 'unknown user');
    add(CHECKS.credentials, 'PASS', `authenticated as ${name} (${email})`);
  } else if (me.ok && me.status === 401) {
    add(
      CHECKS.credentials,
      'FAIL',
      `token rejected (HTTP 401) for ${email}. Fix: create an API token for ${email} (id.atlassian.com > Security > API tokens), put it in the secret as {"email","apiToken"} and run this check again`,
    );
    return skipRest(2, 'needs valid credentials');
  } else {
    add(CHECKS.credentials, 'FAIL', `GET /rest/api/3/myself as ${email}: ${failure(me)}`);
    return skipRest(2, 'needs valid credentials');
  }

  // 3. The project (404 also when the account may not browse it).
  const proj = await jira.call('GET', `/rest/api/3/project/${project}`);
  if (proj.ok && proj.status === 200 && isRecord(proj.json)) {
    add(
      CHECKS.project,
      'PASS',
      `${settings.projectKey} "${String(proj.json.name ?? '')}" (id ${String(proj.json.id)})`,
    );
  } else {
    const detail =
      proj.ok && proj.status === 404
        ? `project ${settings.projectKey} not found, or ${email} may not browse it. Fix: correct the project key or grant the account Browse projects`
        : `GET /rest/api/3/project/${settings.projectKey}: ${failure(proj)}`;
    add(CHECKS.project, 'FAIL', detail);
    return skipRest(3, 'needs the project');
  }

  // 4. Issue types the account can create in the project (createmeta; the old /issue/createmeta is deprecated).
  const types = await allPages(jira, `/rest/api/3/issue/createmeta/${project}/issuetypes`, 'issueTypes');
  if ('error' in types) {
    add(CHECKS.issueType, 'FAIL', `GET /rest/api/3/issue/createmeta/${settings.projectKey}/issuetypes: ${types.error}`);
    return skipRest(4, 'needs the issue type');
  }
  const names = types.items.map((t) => String(t.name));
  const exact = types.items.find((t) => t.name === settings.issueType);
  const loose = exact ?? types.items.find((t) => String(t.name).toLowerCase() === settings.issueType.toLowerCase());
  if (!loose) {
    add(
      CHECKS.issueType,
      'FAIL',
      types.items.length === 0
        ? `${email} can create no issues in ${settings.projectKey}. Fix: grant it the Create issues permission`
        : `no issue type "${settings.issueType}" in ${settings.projectKey} (available: ${names.join(', ')}). Fix: set the issue type to one of them`,
    );
    return skipRest(4, 'needs the issue type');
  }
  const typeId = String(loose.id);
  if (loose.subtask === true) {
    add(
      CHECKS.issueType,
      'FAIL',
      `"${String(loose.name)}" is a sub-task type; the handler creates top-level issues. Fix: choose another type`,
    );
    return skipRest(4, 'needs the issue type');
  }
  add(
    CHECKS.issueType,
    exact ? 'PASS' : 'WARN',
    exact
      ? `${settings.issueType} (id ${typeId}) in ${settings.projectKey}`
      : `"${settings.issueType}" matches "${String(loose.name)}" only ignoring case. Fix: use the exact name`,
  );

  // 5 + 6. The create screen of that project and type.
  const fields = await allPages(
    jira,
    `/rest/api/3/issue/createmeta/${project}/issuetypes/${encodeURIComponent(typeId)}`,
    'fields',
  );
  if ('error' in fields) {
    const detail = `GET /rest/api/3/issue/createmeta/${settings.projectKey}/issuetypes/${typeId}: ${fields.error}`;
    add(CHECKS.requiredFields, 'FAIL', detail);
    add(CHECKS.labels, 'FAIL', detail);
  } else {
    const label = (f: Record<string, unknown>) => `${String(f.name ?? f.fieldId)} (${String(f.fieldId ?? f.key)})`;
    const id = (f: Record<string, unknown>) => String(f.fieldId ?? f.key);
    const handlerSets = new Set<string>(HANDLER_FIELDS);
    const required = fields.items.filter((f) => f.required === true);
    const unset = required.filter((f) => !handlerSets.has(id(f)) && f.hasDefaultValue !== true);
    const onScreen = new Set(fields.items.map(id));
    const missingFromScreen = ['summary', 'description'].filter((f) => !onScreen.has(f));
    if (unset.length > 0) {
      add(
        CHECKS.requiredFields,
        'FAIL',
        `required, without a default, not set by the handler: ${unset.map(label).join(', ')}. Fix: give ${unset.length > 1 ? 'them' : 'it'} a default value, make ${unset.length > 1 ? 'them' : 'it'} optional, or use another issue type`,
      );
    } else if (missingFromScreen.length > 0) {
      add(
        CHECKS.requiredFields,
        'FAIL',
        `${missingFromScreen.join(', ')} not on the create screen, but the handler sets ${missingFromScreen.length > 1 ? 'them' : 'it'} (JIRA rejects the create). Fix: add ${missingFromScreen.length > 1 ? 'them' : 'it'} to the screen`,
      );
    } else {
      const defaults = required.filter((f) => !handlerSets.has(id(f)));
      add(
        CHECKS.requiredFields,
        'PASS',
        `required: ${required.map(id).join(', ') || 'none'}` +
          (defaults.length > 0 ? ` (${defaults.map(id).join(', ')} by default value)` : ''),
      );
    }
    add(
      CHECKS.labels,
      onScreen.has('labels') ? 'PASS' : 'FAIL',
      onScreen.has('labels')
        ? `labels is on the ${settings.projectKey}/${String(loose.name)} create screen`
        : `labels is not on the ${settings.projectKey}/${String(loose.name)} create screen; the handler labels every issue (alarm, account, claim) and finds issues by label. Fix: add the Labels field to the create screen`,
    );
  }

  // 7. Transitions depend on the issue's status, so ask JIRA on a real issue, as the handler does on OK.
  rows.push(await checkTransition(jira, settings));
  return rows;
}

async function checkTransition(jira: Jira, settings: JiraSettings): Promise<CheckRow> {
  const row = (status: Status, detail: string): CheckRow => toRow(CHECKS.transition, status, detail);
  const wanted = settings.resolveTransition;
  if (!wanted) {
    return row('SKIP', 'none configured (jira.resolveTransition / JIRA_RESOLVE_TRANSITION): issues stay open on OK');
  }
  const search = await jira.call('POST', '/rest/api/3/search/jql', {
    jql: `project = ${jqlQuote(settings.projectKey)} AND issuetype = ${jqlQuote(settings.issueType)} ORDER BY created DESC`,
    maxResults: 20,
    fields: ['status', 'created'],
  });
  if (!search.ok || search.status !== 200 || !isRecord(search.json)) {
    return row('FAIL', `POST /rest/api/3/search/jql: ${failure(search)}`);
  }
  const issues = (Array.isArray(search.json.issues) ? search.json.issues : []).filter(isRecord).map((i) => {
    const fields = isRecord(i.fields) ? i.fields : {};
    const status = isRecord(fields.status) ? fields.status : {};
    const category = isRecord(status.statusCategory) ? status.statusCategory.key : undefined;
    return {
      key: String(i.key),
      status: String(status.name ?? '?'),
      done: category === 'done',
      created: Date.parse(String(fields.created ?? '')) || 0,
    };
  });
  if (issues.length === 0) {
    return row(
      'WARN',
      `cannot verify until the first issue exists (no ${settings.projectKey} ${settings.issueType} issue yet); rerun after the first ticket`,
    );
  }
  // Newest first whatever order the search used; an open issue is in the state the handler resolves from.
  issues.sort((a, b) => b.created - a.created);
  const issue = issues.find((i) => !i.done) ?? issues[0];
  const tr = await jira.call('GET', `/rest/api/3/issue/${encodeURIComponent(issue.key)}/transitions`);
  if (!tr.ok || tr.status !== 200 || !isRecord(tr.json)) {
    return row('FAIL', `GET /rest/api/3/issue/${issue.key}/transitions: ${failure(tr)}`);
  }
  const transitions = (Array.isArray(tr.json.transitions) ? tr.json.transitions : [])
    .filter(isRecord)
    .map((t) => ({ id: String(t.id), name: String(t.name ?? '') }));
  // The handler's rule: the id, else the name ignoring case (lambda/jira-incident/processor.ts).
  const match =
    transitions.find((t) => t.id === wanted) ?? transitions.find((t) => t.name.toLowerCase() === wanted.toLowerCase());
  const available = transitions.map((t) => `${t.name} (${t.id})`).join(', ') || 'none';
  if (match) return row('PASS', `"${match.name}" (id ${match.id}) from "${issue.status}" on ${issue.key}`);
  if (issue.done) {
    return row(
      'WARN',
      `cannot verify: the newest issue ${issue.key} is already "${issue.status}" (from there: ${available}); rerun while an incident is open`,
    );
  }
  if (transitions.length === 0) {
    return row('FAIL', `no transitions offered on ${issue.key}: the account may lack the Transition issues permission`);
  }
  return row(
    'FAIL',
    `no transition "${wanted}" from "${issue.status}" on ${issue.key} (available: ${available}). Fix: set the resolve transition to one of them (name or id)`,
  );
}

// ---------------------------------------------------------------------------------------------
// Report and command

export function renderReport(settings: JiraSettings, rows: readonly CheckRow[]): string {
  const count = (s: Status) => rows.filter((r) => r.status === s).length;
  const header = formatTable(
    ['setting', 'value'],
    [
      ['source', settings.source],
      ['base URL', settings.baseUrl],
      ['project', settings.projectKey],
      ['issue type', settings.issueType],
      ['secret', settings.secretArn],
      ['resolve transition', settings.resolveTransition ?? '(none)'],
    ],
  );
  const table = formatTable(
    ['check', 'result', { header: 'detail', maxWidth: 160 }],
    rows.map((r) => [r.check, r.status, r.detail]),
  );
  const fixes = rows.filter((r) => r.fix && r.status !== 'PASS');
  const howTo = fixes.length ? `\n\nTo fix:\n${fixes.map((r) => `  ${r.check}: ${r.fix}`).join('\n')}` : '';
  const verdict = count('FAIL') > 0 ? 'FAIL' : 'PASS';
  const summary = `${verdict}: ${rows.length} checks, ${count('PASS')} passed, ${count('FAIL')} failed, ${count('WARN')} ${count('WARN') === 1 ? 'warning' : 'warnings'}, ${count('SKIP')} skipped`;
  return `${header}\n\n${table}${howTo}\n\n${summary}`;
}

export async function jiraCheck(argv: readonly string[], out: Output, options: { timeoutMs?: number } = {}) {
  return runCommand(COMMAND, out, async () => {
    const flags = parseFlags(COMMAND, argv, {
      config: { type: 'string' },
      example: { type: 'boolean' },
      suffix: { type: 'string' },
      'secret-arn': { type: 'string' },
      region: { type: 'string' },
      profile: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (flags.help) {
      out.stdout(HELP);
      return EXIT_OK;
    }
    const aws: AwsSettings = { region: checkRegion(flags.region), profile: flags.profile };
    const settings = await resolveSettings(
      { config: flags.config, example: flags.example, suffix: flags.suffix, secretArn: flags['secret-arn'] },
      aws,
    );
    const rows = await runChecks(settings, { aws, timeoutMs: options.timeoutMs });
    out.stdout(renderReport(settings, rows));
    return rows.some((r) => r.status === 'FAIL') ? EXIT_FAILED : EXIT_OK;
  });
}
