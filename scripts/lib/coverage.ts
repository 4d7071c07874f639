/**
 * `npm run coverage`: is every member account covered? For each member account (the config's, the ones the
 * StackSet deployed to, and, where the caller may list them, the accounts of the targeted OUs) and each
 * deployment region: the StackSet instance is CURRENT, the OAM link is attached to the hub sink, the monitoring
 * role can be assumed, and with that role the metric filters and the alarms exist (and are not stuck in
 * INSUFFICIENT_DATA). One table; accounts the config does not know come first, then accounts with a FAIL.
 *
 * What each member account should hold is read from the code that builds it: lib/naming.ts (names),
 * lib/alarms.ts (MEMBER_ALARMS), lib/metrics.ts (the metric filters of lib/member/application-log-metrics.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import {
  CloudFormationClient,
  ListStackInstancesCommand,
  type StackInstanceSummary,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, DescribeMetricFiltersCommand } from '@aws-sdk/client-cloudwatch-logs';
import { ListAttachedLinksCommand, ListSinksCommand, OAMClient } from '@aws-sdk/client-oam';
import {
  DescribeOrganizationCommand,
  ListAccountsForParentCommand,
  ListOrganizationalUnitsForParentCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { alarmName, MEMBER_ALARMS } from '../../lib/alarms';
import {
  ConfigError,
  EXAMPLE_CONFIG,
  HUB_REGION,
  loadConfig,
  readConfigFile,
  type ObservabilityConfig,
} from '../../lib/config';
import { APP_METRIC_FILTERS, SHARED_TELEMETRY_TYPES } from '../../lib/metrics';
import { Naming } from '../../lib/naming';
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
import { formatTable, type Column } from './table';

export const COMMAND = 'coverage';

/** An alarm in INSUFFICIENT_DATA for longer than this is stuck (FAIL); shorter, it is still evaluating (WARN). */
export const STUCK_MINUTES = 30;
export const DEFAULT_CONCURRENCY = 8;
const MAX_CONCURRENCY = 32;

export const NOT_CONFIGURED = 'not configured (alarmed and ticketed, no dashboard row or thresholds)';

export const HELP = `Usage: npm run coverage -- --suffix <s> [--config <file.json> | --example] [options]

Is every member account covered? For each member account and each region of deployment.regions:

  stackset instance  the instance of stackset-member-observability-<s> is CURRENT (SUCCEEDED);
                     OUTDATED or INOPERABLE with the StatusReason, or missing
  oam link           (us-east-1) the account's link is attached to the hub sink sink-observability-<s>
                     (or foundation.oamSinkArn for an environment that reuses a foundation)
  monitoring role    (once per account) sts:AssumeRole of MonitoringRole-<account>-<s> with the
                     config's externalId works
  metric filters     with that role: every metric filter of /observability/app/<app>-<s> exists
  alarms             with that role: the member alarms exist (silence: alarm-silence-<s> or
                     alarm-silence-critical-<s>) and none is stuck in INSUFFICIENT_DATA for more
                     than ${STUCK_MINUTES} minutes (less: WARN, still evaluating)

The accounts: memberAccounts of the config, every account the StackSet has an instance in, and
(service-managed) every active account in the targeted OUs and their child OUs, where the caller
may list them (AccessDenied: one WARN row, the rest goes on). The hub account never gets the member
stack, and StackSets never deploys to the management account: neither is reported.

Output: one table (stdout). Accounts in a targeted OU or with a StackSet instance that are NOT in
memberAccounts come first, marked "${NOT_CONFIGURED}";
then accounts with a FAIL; then the rest. A summary line and a "Fix:" hint per kind of failure
follow. Progress on stderr.

Where the config comes from (one of):
  --config <file.json>  the config file you deploy with (-c configFile=...)
  --example             the embedded example config (example account ids; for trying it out)
  (neither)             the "observability" context key of ./cdk.json, as cdk deploy reads it

Options:
  --suffix <s>          environment suffix of the deployed hub (required)
  --region <region>     AWS region of the hub, its StackSet and its OAM sink (default us-east-1)
  --profile <name>      AWS profile of the hub account (default: the standard credential chain)
  --concurrency <N>     AWS calls in flight at once (default ${DEFAULT_CONCURRENCY}, at most ${MAX_CONCURRENCY})
  -h, --help            this help

Permissions in the hub: cloudformation:ListStackInstances (stackset-member-observability-<s>),
organizations:ListAccountsForParent, organizations:ListOrganizationalUnitsForParent,
organizations:DescribeOrganization, oam:ListSinks, oam:ListAttachedLinks (the sink) and
sts:AssumeRole on arn:aws:iam::*:role/MonitoringRole-*-<s>. In the members the monitoring role
grants logs:DescribeMetricFilters and cloudwatch:DescribeAlarms. AWS_ENDPOINT_URL is honoured.

Exit code: 0 every check passes (WARN allowed), 1 a check failed, 2 usage error (including
credentials that are not the hub account's).

Examples:
  npm run coverage -- --suffix prod --config config/prod.json
  AWS_PROFILE=hub-admin npm run coverage -- --suffix pr42 --config config/pr42.json
  npm run coverage -- --suffix prod --config config/prod.json --concurrency 4 2>/dev/null > coverage.txt`;

// ---------------------------------------------------------------------------------------------
// Permissions

export interface PolicyStatement {
  sid: string;
  actions: string[];
  resources: string[];
}

/**
 * What the operator's identity in the hub needs (resource types from the Service Authorization Reference:
 * `*` where the action has no resource-level permissions). Service-managed StackSets live in the management
 * account even when a delegated administrator created them, hence any account in the StackSet ARN.
 */
export function hubPermissions(suffix: string, hubAccountId: string): PolicyStatement[] {
  const naming = new Naming(suffix);
  return [
    {
      sid: 'ReadMemberStackSetInstances',
      actions: ['cloudformation:ListStackInstances'],
      resources: [`arn:aws:cloudformation:*:*:stackset/${naming.name('stackset', 'member-observability')}:*`],
    },
    {
      sid: 'ListTargetedOrganizationalUnits',
      actions: [
        'organizations:DescribeOrganization',
        'organizations:ListAccountsForParent',
        'organizations:ListOrganizationalUnitsForParent',
      ],
      resources: ['*'],
    },
    { sid: 'FindTheHubSink', actions: ['oam:ListSinks'], resources: ['*'] },
    {
      sid: 'ReadTheHubSinkLinks',
      actions: ['oam:ListAttachedLinks'],
      resources: [`arn:aws:oam:*:${hubAccountId}:sink/*`],
    },
    {
      sid: 'AssumeTheMonitoringRoles',
      actions: ['sts:AssumeRole'],
      resources: [`arn:aws:iam::*:role/${naming.monitoringRoleName('*')}`],
    },
  ];
}

/** What the tool calls with MonitoringRole-<account>-<suffix> in a member (lib/member/monitoring-role.ts grants them). */
export const MEMBER_ACTIONS = ['logs:DescribeMetricFilters', 'cloudwatch:DescribeAlarms'] as const;

// ---------------------------------------------------------------------------------------------
// Model

export type Status = 'PASS' | 'FAIL' | 'WARN' | 'SKIP';

/** One check in one account and region. `N/A`: the check does not apply there (printed as '-'). */
export interface Cell {
  status: Status | 'N/A';
  detail: string;
  /** What to do about a FAIL (or WARN), printed under the table. */
  fix?: string;
}

/** The table's check columns, in order. */
export const CHECKS = {
  instance: 'stackset instance',
  link: 'oam link',
  role: 'monitoring role',
  filters: 'metric filters',
  alarms: 'alarms',
} as const;
export type CheckKey = keyof typeof CHECKS;
const CHECK_KEYS = Object.keys(CHECKS) as CheckKey[];

export interface Row {
  /** An account and region, or an organizational unit that could not be listed. */
  kind: 'account' | 'ou';
  account: string;
  name: string;
  region: string;
  /** In memberAccounts. */
  configured: boolean;
  cells: Record<CheckKey, Cell>;
  note: string;
}

export interface CoverageReport {
  suffix: string;
  stackSetName: string;
  callAs: 'SELF' | 'DELEGATED_ADMIN';
  permissionModel: ObservabilityConfig['deployment']['permissionModel'];
  sink: string;
  regions: string[];
  /** In report order: OU warnings, accounts not configured, accounts with a FAIL, the rest. */
  rows: Row[];
  accounts: number;
  notConfigured: string[];
  /** Things left out on purpose (hub account, management account, inactive accounts). */
  notes: string[];
}

const NA: Cell = { status: 'N/A', detail: '' };
const pass = (detail: string): Cell => ({ status: 'PASS', detail });
const fail = (detail: string, fix: string): Cell => ({ status: 'FAIL', detail, fix });
const warn = (detail: string, fix?: string): Cell => ({ status: 'WARN', detail, fix });
const skip = (detail: string): Cell => ({ status: 'SKIP', detail });

// ---------------------------------------------------------------------------------------------
// What a member account holds (from the code that builds it)

/** `/observability/app/<app>-<suffix>` -> the metric filter names lib/member/application-log-metrics.ts creates. */
export function expectedMetricFilters(naming: Naming, applications: readonly string[]): Map<string, string[]> {
  return new Map(
    applications.map((app) => [
      naming.logGroupName('observability/app', app),
      [
        ...Object.keys(APP_METRIC_FILTERS).map((purpose) => naming.name('metric', `${app}-${purpose.toLowerCase()}`)),
        naming.name('metric', `${app}-slowpayments`),
      ],
    ]),
  );
}

export interface ExpectedAlarms {
  /** Each must exist. */
  required: string[];
  /** The silence alarm: one of the two names (`silenceIsCritical` picks which). */
  silence: { normal: string; critical: string };
}

/** The alarms lib/member/account-alarms.ts creates in every member account and region (MEMBER_ALARMS). */
export function expectedAlarms(naming: Naming): ExpectedAlarms {
  const silence = {
    normal: alarmName(naming, MEMBER_ALARMS.silence),
    critical: alarmName(naming, MEMBER_ALARMS.silenceCritical),
  };
  const required = Object.values(MEMBER_ALARMS)
    .filter((spec) => spec !== MEMBER_ALARMS.silence && spec !== MEMBER_ALARMS.silenceCritical)
    .map((spec) => alarmName(naming, spec));
  return { required, silence };
}

// ---------------------------------------------------------------------------------------------
// Clients (injected, so tests can point them at moto or at mocks)

export interface MemberCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export interface HubClients {
  cloudformation: CloudFormationClient;
  oam: OAMClient;
  organizations: OrganizationsClient;
  sts: STSClient;
}

export interface MemberClients {
  logs: CloudWatchLogsClient;
  cloudwatch: CloudWatchClient;
  /** Called when the account and region are done. */
  destroy(): void;
}

export interface Clients {
  hub: HubClients;
  /** Clients in a member account and region, with the monitoring role's credentials. */
  member(region: string, credentials: MemberCredentials): MemberClients;
  destroy(): void;
}

/**
 * @aws-sdk/client-oam 3.332 predates the SDK's own AWS_ENDPOINT_URL support (and its `profile` setting), so its
 * endpoint is read here, and it borrows the credentials of a current client (which knows --profile).
 */
export function legacyEndpointFromEnv(serviceEnvId: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if ((env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS ?? '').toLowerCase() === 'true') return undefined;
  return env[`AWS_ENDPOINT_URL_${serviceEnvId}`] || env.AWS_ENDPOINT_URL || undefined;
}

/** Hub clients from the default credential chain (or --profile); member clients with the role's credentials. */
export function defaultClients(aws: AwsSettings): Clients {
  const config = awsClientConfig(aws);
  const sts = new STSClient(config);
  const endpoint = legacyEndpointFromEnv('OAM');
  const hub: HubClients = {
    cloudformation: new CloudFormationClient(config),
    organizations: new OrganizationsClient(config),
    sts,
    oam: new OAMClient({ region: aws.region, credentials: sts.config.credentials, ...(endpoint ? { endpoint } : {}) }),
  };
  return {
    hub,
    member(region, credentials) {
      const logs = new CloudWatchLogsClient({ region, credentials });
      const cloudwatch = new CloudWatchClient({ region, credentials });
      return {
        logs,
        cloudwatch,
        destroy() {
          logs.destroy();
          cloudwatch.destroy();
        },
      };
    },
    destroy() {
      for (const c of Object.values(hub)) c.destroy();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Concurrency

/** Runs at most `max` tasks at once; a finished task hands its slot straight to the next in line. */
export function limiter(max: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active < max) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else active--;
    }
  };
}

/** `fn` over `items` with `workers` of them at a time; results in input order. */
async function mapPool<T, R>(items: readonly T[], workers: number, fn: (item: T, index: number) => Promise<R>) {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, items.length) }, worker));
  return results;
}

// ---------------------------------------------------------------------------------------------
// Errors

function errorName(err: unknown): string {
  return (err as { name?: string })?.name ?? '';
}
const isAccessDenied = (err: unknown) => /^AccessDenied(Exception)?$|UnauthorizedOperation/.test(errorName(err));

// ---------------------------------------------------------------------------------------------
// The hub side: StackSet instances, OU accounts, OAM links

interface InstancesResult {
  byAccount: Map<string, Map<string, StackInstanceSummary>>;
  error?: { text: string; fix: string };
}

interface OuAccount {
  id: string;
  name: string;
  ou: string;
}

interface OuResult {
  accounts: Map<string, OuAccount>;
  failed: { ou: string; reason: string }[];
  inactive: number;
}

interface LinksResult {
  sink: string;
  /** Account id -> the link's shared resource types. */
  byAccount: Map<string, string[]>;
  error?: { text: string; fix: string };
}

interface Context {
  config: ObservabilityConfig;
  naming: Naming;
  call: <T>(task: () => Promise<T>) => Promise<T>;
  clients: Clients;
  stackSetName: string;
  callAs: 'SELF' | 'DELEGATED_ADMIN';
  now: () => Date;
}

function targetedOus(config: ObservabilityConfig): string[] {
  return config.deployment.permissionModel === 'SERVICE_MANAGED' ? config.deployment.organizationalUnitIds : [];
}

function callAsFlag(ctx: Context): string {
  return ctx.callAs === 'DELEGATED_ADMIN' ? ' --call-as DELEGATED_ADMIN' : '';
}

async function listStackInstances(ctx: Context): Promise<InstancesResult> {
  const byAccount = new Map<string, Map<string, StackInstanceSummary>>();
  try {
    let token: string | undefined;
    do {
      const out = await ctx.call(() =>
        ctx.clients.hub.cloudformation.send(
          new ListStackInstancesCommand({
            StackSetName: ctx.stackSetName,
            CallAs: ctx.callAs,
            MaxResults: 100,
            NextToken: token,
          }),
        ),
      );
      for (const s of out.Summaries ?? []) {
        if (!s.Account || !s.Region) continue;
        if (!byAccount.has(s.Account)) byAccount.set(s.Account, new Map());
        byAccount.get(s.Account)!.set(s.Region, s);
      }
      token = out.NextToken;
    } while (token);
    return { byAccount };
  } catch (err) {
    const text = awsErrorText(err);
    let fix: string;
    if (errorName(err) === 'StackSetNotFoundException') {
      fix = `deploy the hub: the StackSet ${ctx.stackSetName} does not exist (or check --suffix, --region and the profile)`;
    } else if (/delegated admin/i.test(text)) {
      fix =
        'register the hub as a StackSets delegated administrator (aws organizations register-delegated-administrator --service-principal member.org.stacksets.cloudformation.amazonaws.com), or set deployment.delegatedAdmin to false when the hub is the management account';
    } else if (isAccessDenied(err)) {
      fix = `allow cloudformation:ListStackInstances on the StackSet ${ctx.stackSetName} to your identity in the hub`;
    } else {
      fix = 'run again; if it persists, see the error';
    }
    return { byAccount, error: { text: `cannot list the StackSet's instances: ${text}`, fix } };
  }
}

/** Active accounts of the targeted OUs and their child OUs (StackSets deploys to both). */
async function listOuAccounts(ctx: Context): Promise<OuResult> {
  const result: OuResult = { accounts: new Map(), failed: [], inactive: 0 };
  const deployment = ctx.config.deployment;
  if (deployment.permissionModel !== 'SERVICE_MANAGED') return result;
  const org = ctx.clients.hub.organizations;
  await Promise.all(
    deployment.organizationalUnitIds.map(async (target) => {
      const parents = [target];
      try {
        // OUs nest at most 5 deep; the bound only guards against a cycle in a broken emulator.
        for (let seen = 0; parents.length > 0 && seen < 1000; seen++) {
          const parent = parents.shift()!;
          let token: string | undefined;
          do {
            const out = await ctx.call(() =>
              org.send(new ListAccountsForParentCommand({ ParentId: parent, MaxResults: 20, NextToken: token })),
            );
            for (const a of out.Accounts ?? []) {
              if (!a.Id) continue;
              const state = a.State ?? a.Status;
              if (state !== undefined && state !== 'ACTIVE') {
                result.inactive++;
                continue;
              }
              if (!result.accounts.has(a.Id)) result.accounts.set(a.Id, { id: a.Id, name: a.Name ?? '', ou: target });
            }
            token = out.NextToken;
          } while (token);
          do {
            const out = await ctx.call(() =>
              org.send(
                new ListOrganizationalUnitsForParentCommand({ ParentId: parent, MaxResults: 20, NextToken: token }),
              ),
            );
            for (const ou of out.OrganizationalUnits ?? []) if (ou.Id) parents.push(ou.Id);
            token = out.NextToken;
          } while (token);
        }
      } catch (err) {
        result.failed.push({ ou: target, reason: awsErrorText(err) });
      }
    }),
  );
  return result;
}

/** StackSets never deploys to the management account, even when it sits in a targeted OU. */
async function managementAccount(ctx: Context): Promise<string | undefined> {
  if (ctx.config.deployment.permissionModel !== 'SERVICE_MANAGED') return undefined;
  try {
    const out = await ctx.call(() => ctx.clients.hub.organizations.send(new DescribeOrganizationCommand({})));
    return out.Organization?.MasterAccountId;
  } catch {
    return undefined;
  }
}

async function listLinks(ctx: Context, hubRegion: string): Promise<LinksResult> {
  const oam = ctx.clients.hub.oam;
  const sinkName = ctx.naming.name('sink', 'observability');
  const reused = ctx.config.foundation?.oamSinkArn;
  const byAccount = new Map<string, string[]>();
  let sink = reused ?? sinkName;
  try {
    if (!reused) {
      let found: string | undefined;
      let token: string | undefined;
      do {
        const out = await ctx.call(() => oam.send(new ListSinksCommand({ MaxResults: 100, NextToken: token })));
        found = (out.Items ?? []).find((s) => s.Name === sinkName)?.Arn;
        token = found ? undefined : out.NextToken;
      } while (token);
      if (!found) {
        return {
          sink,
          byAccount,
          error: {
            text: `no OAM sink ${sinkName} in ${hubRegion}`,
            fix: `deploy the hub: it creates the sink ${sinkName} (or check --suffix, --region and the profile)`,
          },
        };
      }
      sink = found;
    }
    let token: string | undefined;
    do {
      const out = await ctx.call(() =>
        oam.send(new ListAttachedLinksCommand({ SinkIdentifier: sink, MaxResults: 100, NextToken: token })),
      );
      for (const link of out.Items ?? []) {
        const account = link.LinkArn?.split(':')[4];
        if (account) byAccount.set(account, link.ResourceTypes ?? []);
      }
      token = out.NextToken;
    } while (token);
    return { sink, byAccount };
  } catch (err) {
    const text = awsErrorText(err);
    const missing = errorName(err) === 'ResourceNotFoundException';
    const fix = missing
      ? reused
        ? "foundation.oamSinkArn names a sink that does not exist: set it to the owning environment's sink ARN (its hub stack output)"
        : `deploy the hub: it creates the sink ${sinkName}`
      : isAccessDenied(err)
        ? 'allow oam:ListSinks (on *) and oam:ListAttachedLinks (on the sink) to your identity in the hub'
        : 'run again; if it persists, see the error';
    return { sink, byAccount, error: { text: `cannot list the links of ${sink}: ${text}`, fix } };
  }
}

// ---------------------------------------------------------------------------------------------
// One account

interface AccountToCheck {
  id: string;
  name: string;
  configured: boolean;
  silenceIsCritical?: boolean;
  /** Service-managed: whether the account sits in a targeted OU ('unknown' when an OU could not be listed). */
  inTargetedOu: 'yes' | 'no' | 'unknown' | 'n/a';
}

function instanceCell(ctx: Context, account: AccountToCheck, region: string, instances: InstancesResult): Cell {
  if (instances.error) return fail(instances.error.text, instances.error.fix);
  const s = instances.byAccount.get(account.id)?.get(region);
  const operations = `aws cloudformation list-stack-set-operations --stack-set-name ${ctx.stackSetName}${callAsFlag(ctx)}`;
  if (!s) {
    const deployment = ctx.config.deployment;
    if (deployment.permissionModel === 'SELF_MANAGED') {
      return fail(
        'no stack instance',
        account.configured
          ? `deploy the hub (the self-managed StackSet targets memberAccounts), then check the StackSet's operations (${operations})`
          : 'the account is not in memberAccounts: a self-managed StackSet does not deploy to it',
      );
    }
    const ous = deployment.organizationalUnitIds.join(', ');
    if (account.inTargetedOu === 'yes') {
      return fail(
        'no stack instance',
        `the account joined the OU but StackSets has not deployed: check the StackSet's operations (${operations}) and that ${region} is in the StackSet's regions (deploy the hub after changing deployment.regions)`,
      );
    }
    if (account.inTargetedOu === 'no') {
      return fail(
        'no stack instance (not in a targeted OU)',
        `move the account into a targeted OU (${ous}) or add its OU to deployment.organizationalUnitIds and deploy the hub`,
      );
    }
    return fail(
      'no stack instance',
      `StackSets has not deployed here: check that the account is in a targeted OU (${ous}) and the StackSet's operations (${operations})`,
    );
  }
  const detailed = s.StackInstanceStatus?.DetailedStatus;
  const reason = s.StatusReason ? `: ${s.StatusReason}` : '';
  if (s.Status === 'CURRENT') return pass(detailed && detailed !== 'SUCCEEDED' ? `CURRENT (${detailed})` : 'CURRENT');
  if (s.Status === 'OUTDATED' && (detailed === 'PENDING' || detailed === 'RUNNING')) {
    return warn(
      `OUTDATED (${detailed}): an operation is in progress`,
      'wait for the StackSet operation to finish, then run again',
    );
  }
  if (detailed === 'SKIPPED_SUSPENDED_ACCOUNT') {
    return warn(`${s.Status} (SKIPPED_SUSPENDED_ACCOUNT)${reason}`, 'the account is suspended: StackSets skips it');
  }
  if (s.Status === 'INOPERABLE') {
    return fail(
      `INOPERABLE${reason}`,
      `a failed delete left the instance INOPERABLE: fix the cause, delete the instance with --retain-stacks (aws cloudformation delete-stack-instances --stack-set-name ${ctx.stackSetName}${callAsFlag(ctx)} ...), then let the StackSet re-create it`,
    );
  }
  return fail(
    `${s.Status ?? 'unknown status'}${detailed ? ` (${detailed})` : ''}${reason}`,
    `the last StackSet operation did not finish in this account and region: fix what StatusReason names, then retry it (aws cloudformation update-stack-instances --stack-set-name ${ctx.stackSetName}${callAsFlag(ctx)} --regions ${region} ...; operations: ${operations})`,
  );
}

/** A check that needs the member stack: its hint points at the stack instance when that is the cause. */
function fromInstance(what: string, instance: Cell, region: string): string | undefined {
  return instance.status === 'PASS' ? undefined : `${what} with the stack instance in ${region}: fix that first`;
}

function linkCell(ctx: Context, account: AccountToCheck, links: LinksResult, hubInstance: Cell): Cell {
  if (links.error) return fail(links.error.text, links.error.fix);
  const types = links.byAccount.get(account.id);
  const sinkShown = links.sink.split('/').pop();
  if (!types) {
    const instanceFirst = fromInstance('the link comes', hubInstance, HUB_REGION);
    let fix: string;
    if (ctx.config.foundation) {
      fix =
        "this environment reuses the foundation (foundation.oamSinkArn): the owning environment's member stack creates the link; check that environment's StackSet instance in this account";
    } else if (instanceFirst) {
      fix = instanceFirst;
    } else {
      fix = `the link was deleted, or the account links to another sink (aws oam list-links in the account): retry the stack instance (aws cloudformation update-stack-instances --stack-set-name ${ctx.stackSetName}${callAsFlag(ctx)} --regions ${HUB_REGION} ...)`;
    }
    return fail(`not attached to ${sinkShown}`, fix);
  }
  const missing = SHARED_TELEMETRY_TYPES.filter((t) => !types.includes(t));
  if (missing.length > 0) {
    return warn(
      `attached, without ${missing.join(', ')}`,
      `the link shares fewer telemetry types than the template (${SHARED_TELEMETRY_TYPES.join(', ')}): update it (aws oam update-link) or retry the stack instance`,
    );
  }
  return pass('attached');
}

interface RoleResult {
  cell: Cell;
  credentials?: MemberCredentials;
}

async function assumeRole(ctx: Context, account: AccountToCheck, hubInstance: Cell): Promise<RoleResult> {
  const roleName = ctx.naming.monitoringRoleName(account.id);
  const roleArn = `arn:aws:iam::${account.id}:role/${roleName}`;
  try {
    const out = await ctx.call(() =>
      ctx.clients.hub.sts.send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: `coverage-${ctx.naming.suffix}`,
          ExternalId: ctx.config.externalId,
          DurationSeconds: 900,
        }),
      ),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error('AssumeRole returned no credentials');
    return {
      cell: pass('assumed'),
      credentials: {
        accessKeyId: c.AccessKeyId,
        secretAccessKey: c.SecretAccessKey,
        sessionToken: c.SessionToken,
        expiration: c.Expiration,
      },
    };
  } catch (err) {
    const text = awsErrorText(err);
    const instanceFirst = fromInstance('the role comes', hubInstance, HUB_REGION);
    const fix = instanceFirst
      ? instanceFirst
      : isAccessDenied(err)
        ? `role trust or external id wrong: ${roleName} must trust the hub account ${ctx.config.hubAccountId} with sts:ExternalId = the config's externalId (StackSet parameter MonitoringExternalId; deploy the hub after changing it), and your identity needs sts:AssumeRole on ${roleArn}`
        : 'run again; if it persists, see the error';
    return { cell: fail(`cannot assume: ${text}`, fix) };
  }
}

async function filtersCell(ctx: Context, member: MemberClients, region: string, instance: Cell): Promise<Cell> {
  const expected = expectedMetricFilters(ctx.naming, ctx.config.applicationLogGroups);
  const missing: string[] = [];
  const missingGroups: string[] = [];
  let total = 0;
  for (const [logGroupName, names] of expected) {
    total += names.length;
    const found = new Set<string>();
    try {
      let token: string | undefined;
      do {
        const out = await ctx.call(() =>
          member.logs.send(new DescribeMetricFiltersCommand({ logGroupName, nextToken: token })),
        );
        for (const f of out.metricFilters ?? []) if (f.filterName) found.add(f.filterName);
        token = out.nextToken;
      } while (token);
    } catch (err) {
      if (errorName(err) === 'ResourceNotFoundException') {
        missingGroups.push(logGroupName);
        continue;
      }
      if (isAccessDenied(err)) {
        return fail(
          `logs:DescribeMetricFilters denied: ${awsErrorText(err)}`,
          'the monitoring role must allow logs:DescribeMetricFilters on the log groups of its account (lib/member/monitoring-role.ts): retry the stack instance in us-east-1 so the role gets the current policy',
        );
      }
      return fail(`${logGroupName}: ${awsErrorText(err)}`, 'run again; if it persists, see the error');
    }
    missing.push(...names.filter((n) => !found.has(n)));
  }
  if (missingGroups.length > 0 || missing.length > 0) {
    const what = [
      ...missingGroups.map((g) => `log group ${g} not found`),
      ...(missing.length > 0 ? [`missing ${missing.length}/${total}: ${missing.join(', ')}`] : []),
    ].join('; ');
    return fail(
      what,
      fromInstance('the metric filters come', instance, region) ??
        `deleted outside CloudFormation: check drift (aws cloudformation detect-stack-set-drift --stack-set-name ${ctx.stackSetName}${callAsFlag(ctx)}) and retry the stack instance (update-stack-instances) to re-create them`,
    );
  }
  return pass(`${total}/${total} in ${expected.size} log group${expected.size === 1 ? '' : 's'}`);
}

interface AlarmState {
  name: string;
  state?: string;
  since?: Date;
}

async function alarmsCell(
  ctx: Context,
  member: MemberClients,
  account: AccountToCheck,
  region: string,
  instance: Cell,
): Promise<Cell> {
  const expected = expectedAlarms(ctx.naming);
  const names = [...expected.required, expected.silence.normal, expected.silence.critical];
  const found = new Map<string, AlarmState>();
  try {
    let token: string | undefined;
    do {
      const out = await ctx.call(() =>
        member.cloudwatch.send(
          new DescribeAlarmsCommand({
            AlarmNames: names,
            // Without AlarmTypes, DescribeAlarms returns metric alarms only.
            AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
            MaxRecords: 100,
            NextToken: token,
          }),
        ),
      );
      for (const a of [...(out.MetricAlarms ?? []), ...(out.CompositeAlarms ?? [])]) {
        if (!a.AlarmName) continue;
        found.set(a.AlarmName, {
          name: a.AlarmName,
          state: a.StateValue,
          // When the alarm entered its state; StateUpdatedTimestamp also moves on a reason-only update.
          since: a.StateTransitionedTimestamp ?? a.StateUpdatedTimestamp,
        });
      }
      token = out.NextToken;
    } while (token);
  } catch (err) {
    if (isAccessDenied(err)) {
      return fail(
        `cloudwatch:DescribeAlarms denied: ${awsErrorText(err)}`,
        'the monitoring role must allow cloudwatch:DescribeAlarms on the alarms of its account (lib/member/monitoring-role.ts): retry the stack instance in us-east-1 so the role gets the current policy',
      );
    }
    return fail(awsErrorText(err), 'run again; if it persists, see the error');
  }

  const missing = expected.required.filter((n) => !found.has(n));
  const silence = found.get(expected.silence.critical) ?? found.get(expected.silence.normal);
  if (!silence) missing.push(`${expected.silence.normal} (or ${expected.silence.critical})`);
  const present = [...found.values()];
  const now = ctx.now().getTime();
  const waiting = present
    .filter((a) => a.state === 'INSUFFICIENT_DATA')
    .map((a) => ({ ...a, minutes: a.since ? Math.floor((now - a.since.getTime()) / 60_000) : Infinity }));
  const stuck = waiting.filter((a) => a.minutes > STUCK_MINUTES);
  const evaluating = waiting.filter((a) => a.minutes <= STUCK_MINUTES);
  const age = (m: number) => (Number.isFinite(m) ? `${m} min` : 'since an unknown time');

  const problems: string[] = [];
  if (missing.length > 0) problems.push(`missing: ${missing.join(', ')}`);
  if (stuck.length > 0) {
    problems.push(`stuck in INSUFFICIENT_DATA: ${stuck.map((a) => `${a.name} (${age(a.minutes)})`).join(', ')}`);
  }
  if (problems.length > 0) {
    const fixes: string[] = [];
    if (missing.length > 0) {
      fixes.push(
        fromInstance('the alarms come', instance, region) ??
          `an alarm was deleted outside CloudFormation: check drift (aws cloudformation detect-stack-set-drift --stack-set-name ${ctx.stackSetName}${callAsFlag(ctx)}) and retry the stack instance to re-create it`,
      );
    }
    if (stuck.length > 0) {
      fixes.push(
        `stuck alarms have no data for their metrics: check the schedule ${ctx.naming.name('schedule', 'metric-baseline')} in ${region} (a 0 every minute into the counts) and its role, and that the application log groups exist; alarms that are evaluated get data within minutes`,
      );
    }
    return fail(problems.join('; '), fixes.join('; '));
  }
  const evaluatingText = evaluating.length
    ? `evaluating (INSUFFICIENT_DATA ${evaluating.map((a) => `${age(a.minutes)}: ${a.name}`).join(', ')})`
    : '';
  if (account.configured && account.silenceIsCritical !== undefined) {
    const want = account.silenceIsCritical ? expected.silence.critical : expected.silence.normal;
    if (!found.has(want)) {
      return warn(
        [`${silence!.name} exists, but silenceIsCritical: ${account.silenceIsCritical} wants ${want}`, evaluatingText]
          .filter(Boolean)
          .join('; '),
        'the per-account StackSet override is not applied: deploy the hub (memberAccounts[].silenceIsCritical needs organizationalUnitId in service-managed mode)',
      );
    }
  }
  if (evaluating.length > 0) {
    return warn(evaluatingText, `new alarms wait for data; run again after ${STUCK_MINUTES} minutes`);
  }
  const inAlarm = present.filter((a) => a.state === 'ALARM').map((a) => a.name);
  return pass(`${present.length} present${inAlarm.length ? `, in ALARM: ${inAlarm.join(', ')}` : ''}`);
}

async function checkAccount(
  ctx: Context,
  account: AccountToCheck,
  regions: readonly string[],
  instances: InstancesResult,
  links: LinksResult,
): Promise<Row[]> {
  const instanceCells = new Map(regions.map((r) => [r, instanceCell(ctx, account, r, instances)]));
  const hubInstance = instanceCells.get(HUB_REGION) ?? skip('not deployed to us-east-1');
  const role = await assumeRole(ctx, account, hubInstance);
  const rows: Row[] = [];
  for (const region of regions) {
    const instance = instanceCells.get(region)!;
    let filters: Cell;
    let alarms: Cell;
    if (!role.credentials) {
      filters = skip('needs the monitoring role');
      alarms = skip('needs the monitoring role');
    } else {
      const member = ctx.clients.member(region, role.credentials);
      try {
        filters = await filtersCell(ctx, member, region, instance);
        alarms = await alarmsCell(ctx, member, account, region, instance);
      } finally {
        member.destroy();
      }
    }
    const note = !account.configured
      ? NOT_CONFIGURED
      : account.inTargetedOu === 'no'
        ? `not in a targeted OU (${targetedOus(ctx.config).join(', ')})`
        : '';
    rows.push({
      kind: 'account',
      account: account.id,
      name: account.name,
      region,
      configured: account.configured,
      cells: {
        instance,
        link: region === HUB_REGION ? linkCell(ctx, account, links, hubInstance) : NA,
        role: region === HUB_REGION ? role.cell : NA,
        filters,
        alarms,
      },
      note,
    });
  }
  return rows;
}

// ---------------------------------------------------------------------------------------------
// The whole check

export interface CoverageOptions {
  clients: Clients;
  /** Region of the hub clients (StackSet, sink, STS). */
  hubRegion: string;
  concurrency?: number;
  now?: () => Date;
  progress?: (line: string) => void;
  /** Least time between two progress lines (the last one always prints). */
  progressIntervalMs?: number;
}

export async function checkCoverage(config: ObservabilityConfig, options: CoverageOptions): Promise<CoverageReport> {
  const naming = new Naming(config.environmentSuffix);
  const deployment = config.deployment;
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  const progress = options.progress ?? (() => undefined);
  const interval = options.progressIntervalMs ?? 2000;
  const ctx: Context = {
    config,
    naming,
    call: limiter(concurrency),
    clients: options.clients,
    stackSetName: naming.name('stackset', 'member-observability'),
    callAs: deployment.permissionModel === 'SERVICE_MANAGED' && deployment.delegatedAdmin ? 'DELEGATED_ADMIN' : 'SELF',
    now: options.now ?? (() => new Date()),
  };

  // The monitoring roles trust only the hub account: any other caller would see every role fail.
  const identity = await ctx.call(() => ctx.clients.hub.sts.send(new GetCallerIdentityCommand({})));
  if (identity.Account !== config.hubAccountId) {
    throw new UsageError(
      `the AWS credentials are for account ${identity.Account ?? '?'} (${identity.Arn ?? '?'}), not the hub ${config.hubAccountId} of this config. Fix: use the hub account's credentials (--profile <name> or AWS_PROFILE), or the config of that environment`,
    );
  }

  progress(
    `${COMMAND}: reading ${ctx.stackSetName}, ${deployment.permissionModel === 'SERVICE_MANAGED' ? `OUs ${deployment.organizationalUnitIds.join(', ')}, ` : ''}and the OAM links`,
  );
  const [instances, ous, links, management] = await Promise.all([
    listStackInstances(ctx),
    listOuAccounts(ctx),
    listLinks(ctx, options.hubRegion),
    managementAccount(ctx),
  ]);

  // The accounts: the config's, the StackSet's, the OUs'. The hub never gets the member stack.
  const notes: string[] = [];
  const configured = new Map(config.memberAccounts.map((a) => [a.id, a]));
  const ouComplete = ous.failed.length === 0;
  const accounts: AccountToCheck[] = config.memberAccounts.map((a) => ({
    id: a.id,
    name: a.name,
    configured: true,
    silenceIsCritical: a.silenceIsCritical,
    inTargetedOu:
      deployment.permissionModel !== 'SERVICE_MANAGED'
        ? 'n/a'
        : ous.accounts.has(a.id)
          ? 'yes'
          : ouComplete
            ? 'no'
            : 'unknown',
  }));
  const extra = new Map<string, AccountToCheck>();
  for (const id of instances.byAccount.keys()) {
    if (configured.has(id) || id === config.hubAccountId) continue;
    const inOu = ous.accounts.get(id);
    extra.set(id, {
      id,
      name: inOu?.name ?? '',
      configured: false,
      inTargetedOu: deployment.permissionModel !== 'SERVICE_MANAGED' ? 'n/a' : inOu ? 'yes' : 'unknown',
    });
  }
  for (const a of ous.accounts.values()) {
    if (configured.has(a.id) || extra.has(a.id)) continue;
    if (a.id === config.hubAccountId) {
      notes.push(`hub account ${a.id} is in ${a.ou}: skipped (the hub never receives the member stack)`);
      continue;
    }
    if (a.id === management) {
      notes.push(
        `management account ${a.id} is in ${a.ou}: skipped (StackSets never deploys to the management account)`,
      );
      continue;
    }
    extra.set(a.id, { id: a.id, name: a.name, configured: false, inTargetedOu: 'yes' });
  }
  if (ous.inactive > 0) notes.push(`${ous.inactive} suspended or closed account(s) in the targeted OUs: skipped`);
  const unconfigured = [...extra.values()].sort((a, b) => a.id.localeCompare(b.id));
  const all = [...accounts, ...unconfigured];
  const regions = deployment.regions;

  progress(
    `${COMMAND}: checking ${all.length} accounts x ${regions.length} region${regions.length === 1 ? '' : 's'} (${accounts.length} configured, ${unconfigured.length} not configured), up to ${concurrency} AWS calls at a time`,
  );
  let started = 0;
  let last = 0;
  const t0 = Date.now();
  const perAccount = await mapPool(all, concurrency, async (account) => {
    started++;
    if (Date.now() - last >= interval) {
      last = Date.now();
      progress(
        `${COMMAND}: checking ${started}/${all.length} (${account.id}${account.name ? ` ${account.name}` : ''}) ...`,
      );
    }
    return checkAccount(ctx, account, regions, instances, links);
  });
  progress(`${COMMAND}: checked ${all.length}/${all.length} accounts in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  // Order: OU warnings, accounts not configured, accounts with a FAIL, the rest (config order within).
  const ouRows: Row[] = ous.failed.map(({ ou, reason }) => ({
    kind: 'ou',
    account: '-',
    name: `OU ${ou}`,
    region: '-',
    configured: false,
    cells: {
      instance: warn(`cannot list OU ${ou}: ${reason}`, ouFix(ctx)),
      link: NA,
      role: NA,
      filters: NA,
      alarms: NA,
    },
    note: 'accounts in it may be missing from this report',
  }));
  const hasFail = (rows: Row[]) => rows.some((r) => CHECK_KEYS.some((k) => r.cells[k].status === 'FAIL'));
  const group = (rows: Row[]) => (!rows[0].configured ? 0 : hasFail(rows) ? 1 : 2);
  const ordered = perAccount
    .map((rows, index) => ({ rows, index, group: group(rows) }))
    .sort((a, b) => a.group - b.group || a.index - b.index)
    .flatMap((x) => x.rows);

  return {
    suffix: naming.suffix,
    stackSetName: ctx.stackSetName,
    callAs: ctx.callAs,
    permissionModel: deployment.permissionModel,
    sink: links.sink,
    regions: [...regions],
    rows: [...ouRows, ...ordered],
    accounts: all.length,
    notConfigured: unconfigured.map((a) => a.id),
    notes,
  };
}

function ouFix(ctx: Context): string {
  return `accounts that joined the OU but are not in memberAccounts may be missing from this report: allow organizations:ListAccountsForParent and organizations:ListOrganizationalUnitsForParent to your identity${ctx.callAs === 'DELEGATED_ADMIN' ? ' (a delegated administrator needs an Organizations delegation policy that grants them, set in the management account)' : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Rendering

/** Longest check cell in the table; failures and warnings are printed in full under it. */
export const CELL_WIDTH = 40;

function cellText(c: Cell): string {
  return c.status === 'N/A' ? '-' : `${c.status} ${c.detail}`.trim();
}

export function renderReport(r: CoverageReport): string {
  const columns: Column[] = [
    { header: 'account' },
    { header: 'name', maxWidth: 32 },
    { header: 'region' },
    ...CHECK_KEYS.map((k) => ({ header: CHECKS[k], maxWidth: CELL_WIDTH })),
    { header: 'note' },
  ];
  const table = formatTable(
    columns,
    r.rows.map((row) => [
      row.account,
      row.name || '?',
      row.region,
      ...CHECK_KEYS.map((k) => cellText(row.cells[k])),
      row.note,
    ]),
  );

  const head = `Coverage of ${r.suffix}: StackSet ${r.stackSetName} (${r.permissionModel}${r.callAs === 'DELEGATED_ADMIN' ? ', as delegated administrator' : ''}), OAM sink ${r.sink}, regions ${r.regions.join(', ')}`;

  const accountRows = r.rows.filter((row) => row.kind === 'account');
  const byAccount = new Map<string, Row[]>();
  for (const row of accountRows) byAccount.set(row.account, [...(byAccount.get(row.account) ?? []), row]);
  const statusOf = (rows: Row[]) => {
    const all = rows.flatMap((row) => CHECK_KEYS.map((k) => row.cells[k].status));
    return all.includes('FAIL') ? 'FAIL' : all.includes('WARN') ? 'WARN' : 'PASS';
  };
  const accountStatus = [...byAccount.values()].map(statusOf);
  const count = (s: string) => accountStatus.filter((x) => x === s).length;
  const cells = r.rows.flatMap((row) => CHECK_KEYS.map((k) => row.cells[k].status)).filter((s) => s !== 'N/A');
  const cellCount = (s: Status) => cells.filter((x) => x === s).length;
  const ouWarnings = r.rows.length - accountRows.length;
  const summary =
    `Summary: ${r.accounts} accounts x ${r.regions.length} region${r.regions.length === 1 ? '' : 's'}` +
    ` (${r.notConfigured.length} not configured): ${count('PASS')} pass, ${count('WARN')} with WARN, ${count('FAIL')} with FAIL` +
    `${ouWarnings ? `; ${ouWarnings} OU${ouWarnings === 1 ? '' : 's'} not listed` : ''}` +
    `; checks: ${cellCount('PASS')} PASS, ${cellCount('FAIL')} FAIL, ${cellCount('WARN')} WARN, ${cellCount('SKIP')} SKIP`;

  // The table cuts long details; failures and warnings get theirs in full.
  const full = r.rows.flatMap((row) =>
    CHECK_KEYS.filter((k) => {
      const c = row.cells[k];
      return (c.status === 'FAIL' || c.status === 'WARN') && [...cellText(c)].length > CELL_WIDTH;
    }).map(
      (k) =>
        `  ${row.kind === 'ou' ? row.name : `${row.account} ${row.region}`} ${CHECKS[k]}: ${cellText(row.cells[k])}`,
    ),
  );

  // One hint per kind of failure (same check, same fix), naming where.
  const hints = new Map<string, { check: string; status: string; where: string[] }>();
  for (const row of r.rows) {
    for (const k of CHECK_KEYS) {
      const c = row.cells[k];
      if ((c.status !== 'FAIL' && c.status !== 'WARN') || !c.fix) continue;
      const key = `${c.status}\u0000${CHECKS[k]}\u0000${c.fix}`;
      const where = row.kind === 'ou' ? row.name : `${row.account}/${row.region}`;
      const h = hints.get(key) ?? { check: CHECKS[k], status: c.status, where: [] };
      h.where.push(where);
      hints.set(key, h);
    }
  }
  const fixes = [...hints.entries()]
    .sort(([a], [b]) => (a.startsWith('FAIL') === b.startsWith('FAIL') ? 0 : a.startsWith('FAIL') ? -1 : 1))
    .map(([key, h]) => {
      const where =
        h.where.length > 6 ? `${h.where.slice(0, 5).join(', ')} and ${h.where.length - 5} more` : h.where.join(', ');
      return `  - ${h.check} ${h.status} in ${where}: ${key.split('\u0000')[2]}`;
    });

  const notConfigured = r.notConfigured.length
    ? [
        '',
        `Not configured: ${r.notConfigured.join(', ')}: in a targeted OU or deployed by the StackSet, but not in memberAccounts, so alarmed and ticketed, with no dashboard row or thresholds of their own. Fix: add them to memberAccounts (id, name, organizationalUnitId) and deploy the hub.`,
      ]
    : [];
  return [
    head,
    '',
    table,
    ...(full.length ? ['', 'In full:', ...full] : []),
    ...notConfigured,
    ...(r.notes.length ? ['', ...r.notes.map((n) => `Note: ${n}`)] : []),
    '',
    summary,
    ...(fixes.length ? ['', 'Fix:', ...fixes] : []),
  ].join('\n');
}

export function exitCode(r: CoverageReport): number {
  return r.rows.some((row) => CHECK_KEYS.some((k) => row.cells[k].status === 'FAIL')) ? EXIT_FAILED : EXIT_OK;
}

// ---------------------------------------------------------------------------------------------
// Command line

/** The config: --config, --example, or the `observability` context key of ./cdk.json (as `cdk deploy` reads it). */
export function resolveConfig(
  flags: { config?: string; example?: boolean; suffix: string },
  cwd = process.cwd(),
): ObservabilityConfig {
  if (flags.config && flags.example) {
    throw new UsageError('--config and --example both name a config. Fix: pass only one of them');
  }
  if (flags.config) return loadConfig(readConfigFile(flags.config, cwd), flags.suffix);
  if (flags.example) return loadConfig(EXAMPLE_CONFIG, flags.suffix);
  const cdkJson = path.join(cwd, 'cdk.json');
  let context: unknown;
  try {
    context = (JSON.parse(fs.readFileSync(cdkJson, 'utf8')) as { context?: Record<string, unknown> }).context
      ?.observability;
  } catch {
    context = undefined;
  }
  if (context === undefined) {
    throw new UsageError(
      'no config: ./cdk.json has no "observability" context. Fix: pass --config <file.json> (the file you deploy with) or --example (the embedded example)',
    );
  }
  if (typeof context === 'string') {
    try {
      context = JSON.parse(context);
    } catch (e) {
      throw new ConfigError(
        `observability (cdk.json context) is not valid JSON (${(e as Error).message}). Fix: make it a JSON object`,
      );
    }
  }
  return loadConfig(context, flags.suffix);
}

export interface CoverageCommandOptions {
  /** Builds the AWS clients (tests: moto or mocks). @default defaultClients */
  clients?: (aws: AwsSettings) => Clients;
  now?: () => Date;
  cwd?: string;
  progressIntervalMs?: number;
}

export async function coverage(
  argv: readonly string[],
  out: Output,
  options: CoverageCommandOptions = {},
): Promise<number> {
  return runCommand(COMMAND, out, async () => {
    const flags = parseFlags(COMMAND, argv, {
      suffix: { type: 'string' },
      config: { type: 'string' },
      example: { type: 'boolean' },
      region: { type: 'string' },
      profile: { type: 'string' },
      concurrency: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (flags.help) {
      out.stdout(HELP);
      return EXIT_OK;
    }
    if (!flags.suffix) {
      throw new UsageError('--suffix is required. Fix: pass the suffix the hub was deployed with, e.g. --suffix dev');
    }
    const suffix = checkSuffix(flags.suffix);
    let concurrency = DEFAULT_CONCURRENCY;
    if (flags.concurrency !== undefined) {
      if (!/^[1-9]\d*$/.test(flags.concurrency) || Number(flags.concurrency) > MAX_CONCURRENCY) {
        throw new UsageError(
          `--concurrency '${flags.concurrency}' is not a whole number from 1 to ${MAX_CONCURRENCY}. Fix: e.g. --concurrency ${DEFAULT_CONCURRENCY}`,
        );
      }
      concurrency = Number(flags.concurrency);
    }
    const aws: AwsSettings = { region: checkRegion(flags.region), profile: flags.profile };
    const config = resolveConfig({ config: flags.config, example: flags.example, suffix }, options.cwd);
    const clients = (options.clients ?? defaultClients)(aws);
    try {
      const report = await checkCoverage(config, {
        clients,
        hubRegion: aws.region,
        concurrency,
        now: options.now,
        progress: (line) => out.stderr(line),
        progressIntervalMs: options.progressIntervalMs,
      });
      out.stdout(renderReport(report));
      return exitCode(report);
    } finally {
      clients.destroy();
    }
  });
}
