/**
 * `npm run coverage` with every AWS client mocked (aws-sdk-client-mock), no network: the report's order, the
 * concurrency limit, pagination of every list, each check's verdicts and hints, and the command line. The same
 * checks run against moto (STS, IAM, CloudWatch, Logs, Organizations) in test/integration/coverage.test.ts.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  CloudFormationClient,
  ListStackInstancesCommand,
  type StackInstanceSummary,
} from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DescribeAlarmsCommand, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, DescribeMetricFiltersCommand } from '@aws-sdk/client-cloudwatch-logs';
import { ListAttachedLinksCommand, ListSinksCommand, OAMClient } from '@aws-sdk/client-oam';
import {
  DescribeOrganizationCommand,
  ListAccountsForParentCommand,
  ListOrganizationalUnitsForParentCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { EXAMPLE_CONFIG, loadConfig, type ObservabilityConfigInput } from '../../lib/config';
import { MONITORING_READ_ACTIONS } from '../../lib/member/monitoring-role';
import { Naming } from '../../lib/naming';
import {
  CELL_WIDTH,
  coverage,
  expectedAlarms,
  expectedMetricFilters,
  hubPermissions,
  legacyEndpointFromEnv,
  limiter,
  MEMBER_ACTIONS,
  NOT_CONFIGURED,
  STUCK_MINUTES,
} from '../../scripts/lib/coverage';
import { ofType, render, synthesize } from '../infra/support';
import { captureOutput, runScript } from './support';
import { parseTable } from '../support/report-table';

const HUB = '111111111111';
const OU = 'ou-ab12-paym0001';
const CHILD_OU = 'ou-ab12-child001';
const SUFFIX = 'dev';
const naming = new Naming(SUFFIX);
const NOW = new Date('2026-03-01T12:00:00Z');
const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000);
const SINK_ARN = `arn:aws:oam:us-east-1:${HUB}:sink/0a1b2c3d-aaaa-bbbb-cccc-111111111111`;
const ALL_TYPES = ['AWS::CloudWatch::Metric', 'AWS::Logs::LogGroup', 'AWS::XRay::Trace'];

const cfn = mockClient(CloudFormationClient);
const org = mockClient(OrganizationsClient);
const sts = mockClient(STSClient);
const logs = mockClient(CloudWatchLogsClient);
const cw = mockClient(CloudWatchClient);
// @aws-sdk/client-oam 3.332 predates the @smithy types aws-sdk-client-mock 4 is typed against; the runtime is the
// same (the stub replaces Client#send), so only the types are widened here.
const oam = mockClient(OAMClient as never);
type GetClient = () => { config: object };
const onOam = <I>(command: abstract new (input: I) => unknown, fake: (input: I, getClient: GetClient) => unknown) =>
  oam.on(command as never).callsFake(fake as never);
const oamCalls = (command: abstract new (...args: never[]) => unknown) =>
  oam.commandCalls(command as never).map((c) => c.args[0].input as Record<string, unknown>);

// ---------------------------------------------------------------------------------------------
// A fake organization behind the mocks

interface FakeAlarm {
  state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  since: Date;
  /** StateTransitionedTimestamp (when the alarm entered its state); the fake's `since` is the updated time. */
  transitioned?: Date;
}

type FakeInstance = Pick<StackInstanceSummary, 'Status' | 'StatusReason'> & { DetailedStatus?: string };

interface FakeAccount {
  id: string;
  name: string;
  /** The OU it sits in (direct parent), if any. */
  ou?: string;
  state?: 'ACTIVE' | 'SUSPENDED';
  /** Region -> instance; absent region: no instance. */
  instances: Record<string, FakeInstance>;
  link?: string[];
  roleDenied?: boolean;
  /** Region -> log group -> filter names; a missing log group is absent. */
  filters: Record<string, Record<string, string[]>>;
  /** Region -> alarm name -> state. */
  alarms: Record<string, Record<string, FakeAlarm>>;
}

let world: Map<string, FakeAccount>;
let ouChildren: Record<string, string[]>;
let sinkExists: boolean;
let inFlight = 0;
let maxInFlight = 0;
let delayMs = 0;

function healthy(id: string, name: string, opts: { critical?: boolean; regions?: string[]; ou?: string } = {}) {
  const regions = opts.regions ?? ['us-east-1'];
  const expected = expectedAlarms(naming);
  const alarmNames = [...expected.required, opts.critical ? expected.silence.critical : expected.silence.normal];
  const account: FakeAccount = {
    id,
    name,
    ou: opts.ou ?? OU,
    instances: {},
    link: [...ALL_TYPES],
    filters: {},
    alarms: {},
  };
  for (const r of regions) {
    account.instances[r] = { Status: 'CURRENT', DetailedStatus: 'SUCCEEDED' };
    account.filters[r] = Object.fromEntries(expectedMetricFilters(naming, ['payments-api']));
    account.alarms[r] = Object.fromEntries(alarmNames.map((n) => [n, { state: 'OK', since: minutesAgo(600) }]));
  }
  return account;
}

function resetWorld(regions = ['us-east-1']) {
  world = new Map(
    [
      healthy('222222222222', 'payments-prod', { critical: true, regions }),
      healthy('333333333333', 'payments-gateway', { regions }),
      healthy('444444444444', 'ledger', { regions }),
    ].map((a) => [a.id, a]),
  );
  ouChildren = {};
  sinkExists = true;
}

const accessDenied = (message = 'User is not authorized to perform this operation') =>
  Object.assign(new Error(message), { name: 'AccessDeniedException' });

/** Pages of `size` items with a NextToken, like the real APIs (and with the token checked). */
function page<T>(items: T[], token: string | undefined, size: number) {
  const start = token ? Number(token.replace('page-', '')) : 0;
  const next = start + size < items.length ? `page-${start + size}` : undefined;
  return { items: items.slice(start, start + size), next };
}

/** Every fake goes through here: counts calls in flight across all clients, optionally slowly. */
function tracked<I>(fn: (input: I, getClient: GetClient) => unknown) {
  return async (input: I, getClient: GetClient) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      return await fn(input, getClient);
    } finally {
      inFlight--;
    }
  };
}

/** The member account and region a member client was made for (its credentials name the account). */
async function memberOf(getClient: GetClient) {
  const config = getClient().config as {
    credentials: () => Promise<{ accessKeyId: string }>;
    region: () => Promise<string>;
  };
  const { accessKeyId } = await config.credentials();
  const account = world.get(accessKeyId.replace('ASIA-', ''));
  if (!account) throw new Error(`unknown member credentials ${accessKeyId}`);
  return { account, region: await config.region() };
}

function wireMocks() {
  sts
    .on(GetCallerIdentityCommand)
    .callsFake(tracked(() => ({ Account: HUB, Arn: `arn:aws:sts::${HUB}:assumed-role/ops/me` })));
  sts.on(AssumeRoleCommand).callsFake(
    tracked((input: { RoleArn: string; ExternalId?: string }) => {
      const [, , , , id, resource] = input.RoleArn.split(':');
      const account = world.get(id);
      if (
        !account ||
        account.roleDenied ||
        resource !== `role/MonitoringRole-${id}-${SUFFIX}` ||
        input.ExternalId !== 'observability-hub'
      ) {
        throw Object.assign(
          new Error(
            `User: arn:aws:sts::${HUB}:assumed-role/ops/me is not authorized to perform: sts:AssumeRole on resource: ${input.RoleArn}`,
          ),
          { name: 'AccessDenied' },
        );
      }
      return {
        Credentials: {
          AccessKeyId: `ASIA-${id}`,
          SecretAccessKey: 'secret',
          SessionToken: 'token',
          Expiration: new Date(),
        },
      };
    }),
  );
  cfn.on(ListStackInstancesCommand).callsFake(
    tracked((input: { NextToken?: string }) => {
      const all: StackInstanceSummary[] = [...world.values()].flatMap((a) =>
        Object.entries(a.instances).map(([Region, i]) => ({
          Account: a.id,
          Region,
          Status: i.Status,
          StatusReason: i.StatusReason,
          StackInstanceStatus: i.DetailedStatus ? { DetailedStatus: i.DetailedStatus as never } : undefined,
        })),
      );
      const p = page(all, input.NextToken, 2);
      return { Summaries: p.items, NextToken: p.next };
    }),
  );
  org.on(ListAccountsForParentCommand).callsFake(
    tracked((input: { ParentId: string; NextToken?: string; MaxResults?: number }) => {
      expect(input.MaxResults).toBeLessThanOrEqual(20); // the API's limit
      const all = [...world.values()]
        .filter((a) => a.ou === input.ParentId)
        .map((a) => ({ Id: a.id, Name: a.name, State: a.state ?? 'ACTIVE' }));
      const p = page(all, input.NextToken, 2);
      return { Accounts: p.items, NextToken: p.next };
    }),
  );
  org.on(ListOrganizationalUnitsForParentCommand).callsFake(
    tracked((input: { ParentId: string; NextToken?: string; MaxResults?: number }) => {
      expect(input.MaxResults).toBeLessThanOrEqual(20);
      const p = page(
        (ouChildren[input.ParentId] ?? []).map((Id) => ({ Id })),
        input.NextToken,
        1,
      );
      return { OrganizationalUnits: p.items, NextToken: p.next };
    }),
  );
  org.on(DescribeOrganizationCommand).callsFake(tracked(() => ({ Organization: { MasterAccountId: '999999999999' } })));
  onOam(
    ListSinksCommand,
    tracked((input: { NextToken?: string }) => {
      const sinks = [
        { Name: 'sink-observability-prod', Arn: `arn:aws:oam:us-east-1:${HUB}:sink/prod` },
        ...(sinkExists ? [{ Name: `sink-observability-${SUFFIX}`, Arn: SINK_ARN }] : []),
      ];
      const p = page(sinks, input.NextToken, 1);
      return { Items: p.items, NextToken: p.next };
    }),
  );
  onOam(
    ListAttachedLinksCommand,
    tracked((input: { SinkIdentifier?: string; NextToken?: string }) => {
      const items = [...world.values()]
        .filter((a) => a.link && input.SinkIdentifier === (sinkExists ? SINK_ARN : ''))
        .map((a) => ({
          LinkArn: `arn:aws:oam:us-east-1:${a.id}:link/${a.id}-link`,
          Label: a.name,
          ResourceTypes: a.link,
        }));
      const p = page(items, input.NextToken, 2);
      return { Items: p.items, NextToken: p.next };
    }),
  );
  logs.on(DescribeMetricFiltersCommand).callsFake(
    tracked(async (input: { logGroupName: string; nextToken?: string }, getClient) => {
      const { account, region } = await memberOf(getClient);
      const names = account.filters[region]?.[input.logGroupName];
      if (!names)
        throw Object.assign(new Error('The specified log group does not exist.'), {
          name: 'ResourceNotFoundException',
        });
      const p = page(names, input.nextToken, 3);
      return {
        metricFilters: p.items.map((filterName) => ({ filterName, logGroupName: input.logGroupName })),
        nextToken: p.next,
      };
    }),
  );
  cw.on(DescribeAlarmsCommand).callsFake(
    tracked(async (input: { AlarmNames: string[]; AlarmTypes?: string[]; NextToken?: string }, getClient) => {
      const { account, region } = await memberOf(getClient);
      const types = input.AlarmTypes ?? ['MetricAlarm']; // the real API's default
      const found = Object.entries(account.alarms[region] ?? {})
        .filter(([name]) => input.AlarmNames.includes(name))
        .map(([AlarmName, a]) => ({
          AlarmName,
          StateValue: a.state,
          StateUpdatedTimestamp: a.since,
          StateTransitionedTimestamp: a.transitioned,
        }));
      const p = page(found, input.NextToken, 4);
      const composite = (n: string) => n.startsWith('composite-');
      return {
        MetricAlarms: types.includes('MetricAlarm')
          ? (p.items.filter((a) => !composite(a.AlarmName)) as MetricAlarm[])
          : [],
        CompositeAlarms: types.includes('CompositeAlarm') ? p.items.filter((a) => composite(a.AlarmName)) : [],
        NextToken: p.next,
      };
    }),
  );
}

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coverage-test-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

beforeEach(() => {
  for (const m of [cfn, org, sts, logs, cw, oam]) m.reset();
  resetWorld();
  wireMocks();
  inFlight = 0;
  maxInFlight = 0;
  delayMs = 0;
});

function configFile(overrides: Partial<ObservabilityConfigInput> = {}): string {
  const file = path.join(tmp, `config-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(file, JSON.stringify({ ...EXAMPLE_CONFIG, ...overrides }));
  return file;
}

async function run(args: string[] = [], overrides: Partial<ObservabilityConfigInput> = {}) {
  const out = captureOutput();
  const code = await coverage(['--suffix', SUFFIX, '--config', configFile(overrides), ...args], out, {
    now: () => NOW,
    progressIntervalMs: 0,
  });
  return { code, stdout: out.stdout(), stderr: out.stderr(), rows: parseTable(out.stdout()) };
}

/** A check cell as the table shows it: cut to CELL_WIDTH with an ellipsis. */
const shown = (text: string) =>
  [...text].length > CELL_WIDTH ? [...text].slice(0, CELL_WIDTH - 1).join('') + '…' : text;
const where = (rows: Record<string, string>[]) => rows.map((r) => `${r.account} ${r.region}`);

// ---------------------------------------------------------------------------------------------

describe('coverage: the report (mocked AWS)', () => {
  test('all covered: one row per account, every check PASS, exit 0, in config order', async () => {
    const r = await run();
    expect(r.code).toBe(0);
    expect(r.rows.map((x) => [x.account, x.name, x.region])).toEqual([
      ['222222222222', 'payments-prod', 'us-east-1'],
      ['333333333333', 'payments-gateway', 'us-east-1'],
      ['444444444444', 'ledger', 'us-east-1'],
    ]);
    for (const row of r.rows) {
      expect(row).toMatchObject({
        'stackset instance': 'PASS CURRENT',
        'oam link': 'PASS attached',
        'monitoring role': 'PASS assumed',
        'metric filters': 'PASS 5/5 in 1 log group',
        alarms: 'PASS 5 present',
        note: '',
      });
    }
    expect(r.stdout).toMatch(
      /^Summary: 3 accounts x 1 region \(0 not configured\): 3 pass, 0 with WARN, 0 with FAIL; checks: 15 PASS, 0 FAIL, 0 WARN, 0 SKIP$/m,
    );
    expect(r.stdout).not.toContain('Fix:');
    expect(r.stdout.split('\n')[0]).toBe(
      `Coverage of dev: StackSet stackset-member-observability-dev (SERVICE_MANAGED, as delegated administrator), OAM sink ${SINK_ARN}, regions us-east-1`,
    );
  });

  test('order: OU warnings, then accounts not configured (by id), then accounts with a FAIL, then the rest', async () => {
    // Two accounts joined the OU that the config does not know; one has no instance yet.
    world.set('666666666666', healthy('666666666666', 'new-b'));
    const fresh = healthy('555555555555', 'new-a');
    fresh.instances = {};
    world.set(fresh.id, fresh);
    // A configured account fails (its link is gone); a second targeted OU cannot be listed.
    world.get('333333333333')!.link = undefined;
    org.on(ListAccountsForParentCommand, { ParentId: 'ou-ab12-other001' }).rejects(accessDenied());
    const r = await run([], {
      deployment: { permissionModel: 'SERVICE_MANAGED', organizationalUnitIds: [OU, 'ou-ab12-other001'] },
    });
    expect(r.code).toBe(1);
    expect(r.rows.map((x) => [x.account, x.name])).toEqual([
      ['-', 'OU ou-ab12-other001'],
      ['555555555555', 'new-a'],
      ['666666666666', 'new-b'],
      ['333333333333', 'payments-gateway'],
      ['222222222222', 'payments-prod'],
      ['444444444444', 'ledger'],
    ]);
    expect(r.rows[0]['stackset instance']).toBe(
      shown(
        'WARN cannot list OU ou-ab12-other001: AccessDeniedException: User is not authorized to perform this operation',
      ),
    );
    expect(r.stdout).toContain(
      '  OU ou-ab12-other001 stackset instance: WARN cannot list OU ou-ab12-other001: AccessDeniedException: User is not authorized to perform this operation',
    );
    expect(r.rows[1].note).toBe(NOT_CONFIGURED);
    expect(r.rows[2].note).toBe(NOT_CONFIGURED);
    expect(r.rows[2]['stackset instance']).toBe('PASS CURRENT');
    expect(r.rows[1]['stackset instance']).toBe('FAIL no stack instance');
    expect(r.stdout).toContain(
      "  - stackset instance FAIL in 555555555555/us-east-1: the account joined the OU but StackSets has not deployed: check the StackSet's operations (aws cloudformation list-stack-set-operations --stack-set-name stackset-member-observability-dev --call-as DELEGATED_ADMIN)",
    );
    expect(r.stdout).toContain(
      'Not configured: 555555555555, 666666666666: in a targeted OU or deployed by the StackSet',
    );
    expect(r.stdout).toMatch(
      /^Summary: 5 accounts x 1 region \(2 not configured\): 3 pass, 0 with WARN, 2 with FAIL; 1 OU not listed;/m,
    );
  });

  test('an account the StackSet deployed to (but in no listed OU and not configured) is reported, not configured', async () => {
    const stray = healthy('777777777777', 'stray', { ou: 'ou-ab12-elsewhere' });
    world.set(stray.id, stray);
    const r = await run();
    expect(r.rows[0]).toMatchObject({
      account: '777777777777',
      name: '?',
      note: NOT_CONFIGURED,
      'stackset instance': 'PASS CURRENT',
    });
    expect(r.code).toBe(0);
  });

  test('nested OUs: accounts of child OUs (StackSets deploys there too) are listed; pages of every list are followed', async () => {
    ouChildren = { [OU]: [CHILD_OU, 'ou-ab12-child002'] };
    for (let i = 0; i < 5; i++)
      world.set(`80000000000${i}`, healthy(`80000000000${i}`, `child-${i}`, { ou: CHILD_OU }));
    world.set('810000000000', healthy('810000000000', 'deep', { ou: 'ou-ab12-child002' }));
    const r = await run();
    expect(r.code).toBe(0);
    expect(r.rows.filter((x) => x.note === NOT_CONFIGURED).map((x) => x.account)).toEqual([
      '800000000000',
      '800000000001',
      '800000000002',
      '800000000003',
      '800000000004',
      '810000000000',
    ]);
    // Every page was asked for with the previous page's token.
    const tokens = (calls: { args: [{ input: { NextToken?: string } }] }[]) =>
      calls.map((c) => c.args[0].input.NextToken);
    expect(tokens(cfn.commandCalls(ListStackInstancesCommand) as never)).toEqual([
      undefined,
      'page-2',
      'page-4',
      'page-6',
      'page-8',
    ]);
    expect(
      org.commandCalls(ListAccountsForParentCommand).map((c) => [c.args[0].input.ParentId, c.args[0].input.NextToken]),
    ).toEqual(
      expect.arrayContaining([
        [OU, undefined],
        [OU, 'page-2'],
        [CHILD_OU, undefined],
        [CHILD_OU, 'page-2'],
        [CHILD_OU, 'page-4'],
        ['ou-ab12-child002', undefined],
      ]),
    );
    expect(org.commandCalls(ListOrganizationalUnitsForParentCommand).map((c) => c.args[0].input.NextToken)).toContain(
      'page-1',
    );
    expect(oamCalls(ListSinksCommand).map((i) => i.NextToken)).toEqual([undefined, 'page-1']); // the dev sink is on page 2
    expect(oamCalls(ListAttachedLinksCommand).map((i) => i.NextToken)).toEqual([
      undefined,
      'page-2',
      'page-4',
      'page-6',
      'page-8',
    ]);
    // 5 filters in pages of 3, 6 alarms in pages of 4: every member list is followed too.
    expect(logs.commandCalls(DescribeMetricFiltersCommand)).toHaveLength(9 * 2);
    expect(cw.commandCalls(DescribeAlarmsCommand)).toHaveLength(9 * 2);
  });

  test('the hub, the management account and suspended accounts in the OU are not reported (StackSets never deploys there)', async () => {
    world.set(HUB, { ...healthy(HUB, 'monitoring'), instances: {} });
    world.set('999999999999', { ...healthy('999999999999', 'management'), instances: {} });
    world.set('880000000000', { ...healthy('880000000000', 'closed'), instances: {}, state: 'SUSPENDED' });
    const r = await run();
    expect(r.rows.map((x) => x.account)).toEqual(['222222222222', '333333333333', '444444444444']);
    expect(r.stdout).toContain(
      `Note: hub account ${HUB} is in ${OU}: skipped (the hub never receives the member stack)`,
    );
    expect(r.stdout).toContain(`Note: management account 999999999999 is in ${OU}: skipped`);
    expect(r.stdout).toContain('Note: 1 suspended or closed account(s) in the targeted OUs: skipped');
    expect(r.code).toBe(0);
  });
});

describe('coverage: each check', () => {
  test.each<[FakeInstance, string, number]>([
    [
      {
        Status: 'OUTDATED',
        DetailedStatus: 'FAILED',
        StatusReason: 'ResourceLogicalId:Link, ResourceStatusReason:Sink policy denies',
      },
      shown('FAIL OUTDATED (FAILED): ResourceLogicalId:Link, ResourceStatusReason:Sink policy denies'),
      1,
    ],
    [
      { Status: 'INOPERABLE', DetailedStatus: 'INOPERABLE', StatusReason: 'delete failed' },
      'FAIL INOPERABLE: delete failed',
      1,
    ],
    [
      { Status: 'OUTDATED', DetailedStatus: 'RUNNING' },
      shown('WARN OUTDATED (RUNNING): an operation is in progress'),
      0,
    ],
    [{ Status: 'CURRENT', DetailedStatus: 'SUCCEEDED' }, 'PASS CURRENT', 0],
  ])('stack instance %j -> %s', async (instance, cell, code) => {
    world.get('333333333333')!.instances['us-east-1'] = instance;
    const r = await run();
    const row = r.rows.find((x) => x.account === '333333333333')!;
    expect(row['stackset instance']).toBe(cell);
    expect(r.code).toBe(code);
    if (instance.StatusReason) expect(r.stdout).toContain(instance.StatusReason);
  });

  test('a configured account that is in no targeted OU: FAIL, and the hint says to move it (not to wait for StackSets)', async () => {
    const a = world.get('444444444444')!;
    Object.assign(a, { ou: 'ou-ab12-elsewhere', instances: {}, roleDenied: true, link: undefined });
    const r = await run();
    const row = r.rows.find((x) => x.account === '444444444444')!;
    expect(row).toMatchObject({
      'stackset instance': shown('FAIL no stack instance (not in a targeted OU)'),
      note: `not in a targeted OU (${OU})`,
    });
    expect(r.stdout).toContain(
      `move the account into a targeted OU (${OU}) or add its OU to deployment.organizationalUnitIds`,
    );
    // The member stack is missing, so role, filters and alarms point back at the instance.
    expect(r.stdout).toContain(
      'monitoring role FAIL in 444444444444/us-east-1: the role comes with the stack instance in us-east-1: fix that first',
    );
  });

  test('StackSet or sink missing: FAIL everywhere with "deploy the hub"', async () => {
    cfn.on(ListStackInstancesCommand).rejects(
      Object.assign(new Error('StackSet stackset-member-observability-dev not found'), {
        name: 'StackSetNotFoundException',
      }),
    );
    sinkExists = false;
    const r = await run();
    expect(r.code).toBe(1);
    for (const row of r.rows) {
      expect(row['stackset instance']).toBe(
        shown(
          "FAIL cannot list the StackSet's instances: StackSetNotFoundException: StackSet stackset-member-observability-dev not found",
        ),
      );
      expect(row['oam link']).toBe(shown('FAIL no OAM sink sink-observability-dev in us-east-1'));
    }
    expect(r.stdout).toMatch(
      /- stackset instance FAIL in 222222222222\/us-east-1, 333333333333\/us-east-1, 444444444444\/us-east-1: deploy the hub: the StackSet stackset-member-observability-dev does not exist/,
    );
    expect(r.stdout).toMatch(/- oam link FAIL in .*: deploy the hub: it creates the sink sink-observability-dev/);
  });

  test('OAM link: missing -> FAIL with a hint; fewer telemetry types -> WARN; a reusing environment reads foundation.oamSinkArn', async () => {
    world.get('222222222222')!.link = undefined;
    world.get('333333333333')!.link = ['AWS::CloudWatch::Metric'];
    let r = await run();
    expect(r.rows.find((x) => x.account === '222222222222')!['oam link']).toBe(
      shown('FAIL not attached to 0a1b2c3d-aaaa-bbbb-cccc-111111111111'),
    );
    expect(r.rows.find((x) => x.account === '333333333333')!['oam link']).toBe(
      shown('WARN attached, without AWS::Logs::LogGroup, AWS::XRay::Trace'),
    );
    expect(r.stdout).toContain(
      'the link was deleted, or the account links to another sink (aws oam list-links in the account)',
    );

    oam.resetHistory();
    r = await run([], { foundation: { oamSinkArn: SINK_ARN } });
    expect(oamCalls(ListSinksCommand)).toHaveLength(0);
    expect(oamCalls(ListAttachedLinksCommand)[0].SinkIdentifier).toBe(SINK_ARN);
    expect(r.stdout).toContain(
      "this environment reuses the foundation (foundation.oamSinkArn): the owning environment's member stack creates the link",
    );
  });

  test('role not assumable: FAIL "role trust or external id wrong", filters and alarms SKIP, exit 1', async () => {
    world.get('444444444444')!.roleDenied = true;
    const r = await run();
    expect(r.code).toBe(1);
    const row = r.rows.find((x) => x.account === '444444444444')!;
    expect(row).toMatchObject({
      'monitoring role': shown('FAIL cannot assume: AccessDenied: User: arn:aws:sts::x'),
      'metric filters': 'SKIP needs the monitoring role',
      alarms: 'SKIP needs the monitoring role',
    });
    expect(r.stdout).toContain(
      `role trust or external id wrong: MonitoringRole-444444444444-dev must trust the hub account ${HUB} with sts:ExternalId = the config's externalId`,
    );
    const assumed = sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input);
    expect(assumed.map((i) => i.RoleArn)).toEqual([
      'arn:aws:iam::222222222222:role/MonitoringRole-222222222222-dev',
      'arn:aws:iam::333333333333:role/MonitoringRole-333333333333-dev',
      'arn:aws:iam::444444444444:role/MonitoringRole-444444444444-dev',
    ]);
    expect(new Set(assumed.map((i) => i.ExternalId))).toEqual(new Set(['observability-hub']));
    // The external id of the config is the one presented.
    const r2 = await run([], { externalId: 'rotated-id' });
    expect(r2.rows.every((x) => x['monitoring role'].startsWith('FAIL'))).toBe(true);
  });

  test('metric filters: one missing, a log group missing, AccessDenied: each a FAIL naming it', async () => {
    const lg = '/observability/app/payments-api-dev';
    world.get('222222222222')!.filters['us-east-1'][lg] = world
      .get('222222222222')!
      .filters['us-east-1'][lg].filter((n) => n !== 'metric-payments-api-errors-dev');
    delete world.get('333333333333')!.filters['us-east-1'][lg];
    logs.on(DescribeMetricFiltersCommand).callsFake(
      tracked(async (input: { logGroupName: string; nextToken?: string }, getClient) => {
        const { account, region } = await memberOf(getClient);
        if (account.id === '444444444444') throw accessDenied('not authorized to perform: logs:DescribeMetricFilters');
        const names = account.filters[region]?.[input.logGroupName];
        if (!names)
          throw Object.assign(new Error('The specified log group does not exist.'), {
            name: 'ResourceNotFoundException',
          });
        return { metricFilters: names.map((filterName) => ({ filterName })) };
      }),
    );
    const r = await run();
    const cell = (id: string) => r.rows.find((x) => x.account === id)!['metric filters'];
    expect(cell('222222222222')).toBe(shown('FAIL missing 1/5: metric-payments-api-errors-dev'));
    expect(cell('333333333333')).toBe(shown(`FAIL log group ${lg} not found`));
    expect(cell('444444444444')).toBe(shown('FAIL logs:DescribeMetricFilters denied: AccessDeniedException'));
    expect(r.stdout).toContain(
      'deleted outside CloudFormation: check drift (aws cloudformation detect-stack-set-drift',
    );
    expect(r.stdout).toContain(
      'the monitoring role must allow logs:DescribeMetricFilters on the log groups of its account',
    );
  });

  test('alarms: missing, stuck over 30 minutes (FAIL), evaluating (WARN), in ALARM (PASS), by the state transition time', async () => {
    const expected = expectedAlarms(naming);
    const composite = 'composite-payments-degraded-dev';
    expect(expected.required).toContain(composite);
    delete world.get('222222222222')!.alarms['us-east-1'][composite];
    world.get('333333333333')!.alarms['us-east-1']['alarm-errors-dev'] = {
      state: 'INSUFFICIENT_DATA',
      since: minutesAgo(1),
      transitioned: minutesAgo(STUCK_MINUTES + 15),
    };
    world.get('444444444444')!.alarms['us-east-1']['alarm-latency-p99-dev'] = {
      state: 'INSUFFICIENT_DATA',
      since: minutesAgo(4),
    };
    world.get('444444444444')!.alarms['us-east-1']['alarm-silence-dev'] = { state: 'ALARM', since: minutesAgo(90) };
    let r = await run();
    const cell = (id: string) => r.rows.find((x) => x.account === id)!.alarms;
    expect(cell('222222222222')).toBe(shown(`FAIL missing: ${composite}`));
    expect(cell('333333333333')).toBe(shown('FAIL stuck in INSUFFICIENT_DATA: alarm-errors-dev (45 min)'));
    expect(r.stdout).toContain(
      '333333333333 us-east-1 alarms: FAIL stuck in INSUFFICIENT_DATA: alarm-errors-dev (45 min)',
    );
    expect(cell('444444444444')).toBe(shown('WARN evaluating (INSUFFICIENT_DATA 4 min: alarm-latency-p99-dev)'));
    expect(r.stdout).toContain('schedule-metric-baseline-dev');
    expect(r.code).toBe(1);

    // The composite alarm is only found with AlarmTypes (DescribeAlarms returns metric alarms only by default).
    const input = cw.commandCalls(DescribeAlarmsCommand)[0].args[0].input;
    expect(input.AlarmTypes).toEqual(['MetricAlarm', 'CompositeAlarm']);
    expect(new Set(input.AlarmNames)).toEqual(
      new Set([...expected.required, expected.silence.normal, expected.silence.critical]),
    );

    resetWorld();
    world.get('444444444444')!.alarms['us-east-1']['alarm-silence-dev'] = { state: 'ALARM', since: minutesAgo(90) };
    world.get('333333333333')!.alarms['us-east-1']['alarm-errors-dev'] = {
      state: 'INSUFFICIENT_DATA',
      since: minutesAgo(STUCK_MINUTES),
    };
    r = await run();
    expect(cell('444444444444')).toBe(shown('PASS 5 present, in ALARM: alarm-silence-dev'));
    // 30 minutes is not more than 30: still evaluating.
    expect(r.stdout).toContain(
      '333333333333 us-east-1 alarms: WARN evaluating (INSUFFICIENT_DATA 30 min: alarm-errors-dev)',
    );
    expect(r.code).toBe(0);
  });

  test('silence: either name passes; the wrong one for silenceIsCritical is a WARN (override not applied)', async () => {
    const prod = world.get('222222222222')!.alarms['us-east-1'];
    prod['alarm-silence-dev'] = prod['alarm-silence-critical-dev'];
    delete prod['alarm-silence-critical-dev'];
    const r = await run();
    expect(r.rows.find((x) => x.account === '222222222222')!.alarms).toBe(
      shown('WARN alarm-silence-dev exists, but silenceIsCritical: true wants alarm-silence-critical-dev'),
    );
    expect(r.stdout).toContain('the per-account StackSet override is not applied: deploy the hub');
    expect(r.code).toBe(0);
  });

  test('two regions: a row per region; link and role only in us-east-1; filters and alarms read in each region', async () => {
    resetWorld(['us-east-1', 'eu-west-1']);
    delete world.get('333333333333')!.instances['eu-west-1'];
    world.get('333333333333')!.alarms['eu-west-1'] = {};
    const r = await run([], {
      deployment: {
        permissionModel: 'SERVICE_MANAGED',
        organizationalUnitIds: [OU],
        regions: ['us-east-1', 'eu-west-1'],
      },
    });
    expect(where(r.rows)).toEqual([
      '333333333333 us-east-1',
      '333333333333 eu-west-1',
      '222222222222 us-east-1',
      '222222222222 eu-west-1',
      '444444444444 us-east-1',
      '444444444444 eu-west-1',
    ]);
    const eu = r.rows.find((x) => x.account === '222222222222' && x.region === 'eu-west-1')!;
    expect(eu).toMatchObject({
      'oam link': '-',
      'monitoring role': '-',
      'metric filters': 'PASS 5/5 in 1 log group',
      alarms: 'PASS 5 present',
    });
    const broken = r.rows.find((x) => x.account === '333333333333' && x.region === 'eu-west-1')!;
    expect(broken['stackset instance']).toBe('FAIL no stack instance');
    expect(broken.alarms).toMatch(/^FAIL missing: /);
    expect(r.stdout).toContain(
      'alarms FAIL in 333333333333/eu-west-1: the alarms come with the stack instance in eu-west-1: fix that first',
    );
  });

  test('self-managed: no OU listing, CallAs SELF; service-managed from the management account: CallAs SELF', async () => {
    let r = await run([], { deployment: { permissionModel: 'SELF_MANAGED' } });
    expect(r.code).toBe(0);
    expect(org.commandCalls(ListAccountsForParentCommand)).toHaveLength(0);
    expect(cfn.commandCalls(ListStackInstancesCommand)[0].args[0].input.CallAs).toBe('SELF');
    cfn.resetHistory();
    r = await run([], {
      deployment: { permissionModel: 'SERVICE_MANAGED', organizationalUnitIds: [OU], delegatedAdmin: false },
    });
    expect(cfn.commandCalls(ListStackInstancesCommand)[0].args[0].input.CallAs).toBe('SELF');
    cfn.resetHistory();
    await run();
    expect(cfn.commandCalls(ListStackInstancesCommand)[0].args[0].input).toMatchObject({
      StackSetName: 'stackset-member-observability-dev',
      CallAs: 'DELEGATED_ADMIN',
    });
  });
});

describe('coverage: concurrency and progress', () => {
  function manyAccounts(n: number) {
    for (let i = 0; i < n; i++) {
      const id = String(500000000000 + i);
      world.set(id, healthy(id, `acct-${i}`));
    }
  }

  test('at most 8 AWS calls in flight (across all clients), and it does use 8', async () => {
    manyAccounts(40);
    delayMs = 5;
    const r = await run();
    expect(r.code).toBe(0);
    expect(r.rows).toHaveLength(43);
    expect(maxInFlight).toBe(8);
  });

  test('--concurrency 3 limits it to 3', async () => {
    manyAccounts(10);
    delayMs = 3;
    await run(['--concurrency', '3']);
    expect(maxInFlight).toBe(3);
  });

  test('the limiter hands a freed slot to the next waiting task, so a caller arriving in that moment waits', async () => {
    const run1 = limiter(1);
    let active = 0;
    let most = 0;
    const counted = () => async () => {
      active++;
      most = Math.max(most, active);
      await new Promise((r) => setTimeout(r, 5));
      active--;
    };
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    const first = run1(() => gate); // holds the slot until the gate opens
    const second = run1(counted()); // waits for the slot
    let third: Promise<void> | undefined;
    // Runs right after the first task's slot is released and before the waiting task has resumed: a limiter that
    // only counts down and wakes the waiter lets this caller in as well (two tasks at once).
    void gate.then(() => {
      third = run1(counted());
    });
    open();
    await first;
    await second;
    await third;
    expect(third).toBeDefined();
    expect(most).toBe(1);
  });

  test('progress on stderr: what is read, "checking n/N", the total; stdout holds only the report', async () => {
    manyAccounts(2);
    const r = await run();
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toBe(`coverage: reading stackset-member-observability-dev, OUs ${OU}, and the OAM links`);
    expect(lines[1]).toBe(
      'coverage: checking 5 accounts x 1 region (3 configured, 2 not configured), up to 8 AWS calls at a time',
    );
    expect(lines).toContain('coverage: checking 1/5 (222222222222 payments-prod) ...');
    expect(lines).toContain('coverage: checking 5/5 (500000000001 acct-1) ...');
    expect(lines[lines.length - 1]).toMatch(/^coverage: checked 5\/5 accounts in \d+\.\d s$/);
    expect(r.stdout).not.toContain('checking');
  });
});

describe('coverage: what members hold, and the permissions', () => {
  // In a hook, so a broken app elsewhere fails these tests only, not the whole file.
  let template: ReturnType<typeof synthesize>['memberTemplate'];
  beforeAll(() => {
    template = synthesize({ applicationLogGroups: ['payments-api', 'ledger-worker'] }).memberTemplate;
  });

  test('expected metric filters and alarms are exactly what the member template creates', () => {
    const filters = ofType(template, 'AWS::Logs::MetricFilter').map(([, p]) => p.FilterName as string);
    const expected = expectedMetricFilters(naming, ['payments-api', 'ledger-worker']);
    expect([...expected.values()].flat().sort()).toEqual([...filters].sort());
    const groups = ofType(template, 'AWS::Logs::LogGroup').map(([, p]) => p.LogGroupName as string);
    expect([...expected.keys()].every((g) => groups.includes(g))).toBe(true);

    const alarms = expectedAlarms(naming);
    const names = [
      ...ofType(template, 'AWS::CloudWatch::Alarm').map(([, p]) => render(p.AlarmName)),
      ...ofType(template, 'AWS::CloudWatch::CompositeAlarm').map(([, p]) => render(p.AlarmName)),
    ];
    const silence = `\${If IsSilenceCritical ${alarms.silence.critical} | ${alarms.silence.normal}}`;
    expect(names.filter((n) => n !== silence).sort()).toEqual([...alarms.required].sort());
    expect(names).toContain(silence);
  });

  test('the monitoring role grants what the tool calls in a member, on resources that match', () => {
    const granted = [...MONITORING_READ_ACTIONS.alarms, ...MONITORING_READ_ACTIONS.logGroups];
    for (const action of MEMBER_ACTIONS) expect(granted).toContain(action);
    const [, policy] = ofType(template, 'AWS::IAM::ManagedPolicy').find(([id]) => id.startsWith('MonitoringPolicy'))!;
    const statements = (policy.PolicyDocument as { Statement: { Action: string[]; Resource: unknown }[] }).Statement;
    const resourceOf = (action: string) =>
      render(statements.find((s) => [s.Action].flat().includes(action))!.Resource)
        .replace('${AWS::Partition}', 'aws')
        .replace('${AWS::AccountId}', '222222222222');
    const matches = (pattern: string, arn: string) =>
      new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`).test(arn);
    expect(
      matches(
        resourceOf('logs:DescribeMetricFilters'),
        'arn:aws:logs:eu-west-1:222222222222:log-group:/observability/app/payments-api-dev',
      ),
    ).toBe(true);
    expect(
      matches(
        resourceOf('cloudwatch:DescribeAlarms'),
        'arn:aws:cloudwatch:us-east-1:222222222222:alarm:alarm-errors-dev',
      ),
    ).toBe(true);
  });

  test('the hub permissions list every action the tool sends with the hub credentials, on matching resources', async () => {
    world.get('333333333333')!.ou = CHILD_OU;
    ouChildren = { [OU]: [CHILD_OU] };
    await run();
    const sent = [
      ...[cfn, org, sts].flatMap((m) => m.calls().map((c) => `${serviceOf(m)}:${commandName(c.args[0])}`)),
      ...oam.calls().map((c) => `oam:${commandName(c.args[0])}`),
    ];
    const permissions = hubPermissions(SUFFIX, HUB);
    const allowed = permissions.flatMap((p) => p.actions);
    expect([...new Set(sent)].filter((a) => a !== 'sts:GetCallerIdentity' && !allowed.includes(a))).toEqual([]);
    expect(permissions.find((p) => p.actions.includes('sts:AssumeRole'))!.resources).toEqual([
      'arn:aws:iam::*:role/MonitoringRole-*-dev',
    ]);
    expect(permissions.find((p) => p.actions.includes('cloudformation:ListStackInstances'))!.resources).toEqual([
      'arn:aws:cloudformation:*:*:stackset/stackset-member-observability-dev:*',
    ]);
  });

  function serviceOf(m: unknown): string {
    return m === cfn ? 'cloudformation' : m === org ? 'organizations' : 'sts';
  }
  function commandName(command: unknown): string {
    return (command as object).constructor.name.replace(/Command$/, '');
  }
});

describe('coverage: the command line', () => {
  test.each([
    [['--bogus'], 'unknown flag --bogus. Fix: use one of --suffix, --config, --example'],
    [['--config', 'x.json'], '--suffix is required'],
    [['--suffix', 'Prod_1', '--example'], "--suffix 'Prod_1' is not an environment suffix"],
    [['--suffix', 'dev', '--example', '--region', 'mars'], "--region 'mars' is not an AWS region code"],
    [['--suffix', 'dev', '--example', '--concurrency', '0'], "--concurrency '0' is not a whole number from 1 to 32"],
    [['--suffix', 'dev', '--example', '--concurrency', '33'], "--concurrency '33' is not a whole number from 1 to 32"],
    [['--suffix', 'dev', '--example', '--concurrency', 'many'], "--concurrency 'many' is not a whole number"],
    [['--suffix', 'dev', '--example', '--config', 'x.json'], '--config and --example both name a config'],
    [['--suffix', 'dev', '--config', '/does/not/exist.json'], 'configFile = "/does/not/exist.json": cannot be read'],
    [['--suffix', 'dev', '--example', 'extra'], 'unexpected argument "extra"'],
    [['--suffix', 'dev', '--example', '--profile'], '--profile needs a value'],
  ])('usage error %j -> exit 2 naming the fix, no AWS call', async (argv, message) => {
    const out = captureOutput();
    expect(await coverage(argv, out, { cwd: tmp })).toBe(2);
    expect(out.stderr()).toContain(message);
    expect(out.stdout()).toBe('');
    expect(sts.calls()).toHaveLength(0);
  });

  test('an invalid config is a usage error naming the key', async () => {
    const out = captureOutput();
    const file = configFile({ externalId: 'x' });
    expect(await coverage(['--suffix', 'dev', '--config', file], out)).toBe(2);
    expect(out.stderr()).toContain('externalId = "x"');
  });

  test('no --config/--example: the observability context of ./cdk.json, else a usage error naming the flags', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'cwd-'));
    let out = captureOutput();
    expect(await coverage(['--suffix', 'dev'], out, { cwd: dir })).toBe(2);
    expect(out.stderr()).toBe(
      'coverage: no config: ./cdk.json has no "observability" context. Fix: pass --config <file.json> (the file you deploy with) or --example (the embedded example)\n',
    );
    fs.writeFileSync(
      path.join(dir, 'cdk.json'),
      JSON.stringify({ app: 'x', context: { observability: JSON.stringify(EXAMPLE_CONFIG) } }),
    );
    out = captureOutput();
    expect(await coverage(['--suffix', 'dev'], out, { cwd: dir, now: () => NOW })).toBe(0);
    expect(parseTable(out.stdout())).toHaveLength(3);
  });

  test('credentials of another account than the hub: usage error (every role trusts only the hub), nothing checked', async () => {
    sts.on(GetCallerIdentityCommand).resolves({ Account: '123456789012', Arn: 'arn:aws:iam::123456789012:user/me' });
    const out = captureOutput();
    expect(await coverage(['--suffix', 'dev', '--example'], out)).toBe(2);
    expect(out.stderr()).toContain(
      `the AWS credentials are for account 123456789012 (arn:aws:iam::123456789012:user/me), not the hub ${HUB} of this config. Fix: use the hub account's credentials`,
    );
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
  });

  test('--region and --profile reach the hub clients; member clients get the role credentials and their region', async () => {
    const seen: unknown[] = [];
    cfn.on(ListStackInstancesCommand).callsFake(async (_input, getClient) => {
      const config = getClient().config;
      seen.push([await config.region(), config.profile]);
      return { Summaries: [] };
    });
    const out = captureOutput();
    await coverage(['--suffix', 'dev', '--example', '--region', 'us-east-2', '--profile', 'hub-admin'], out, {
      now: () => NOW,
    });
    expect(seen).toEqual([['us-east-2', 'hub-admin']]);
  });

  test('the old OAM client gets its endpoint from AWS_ENDPOINT_URL[_OAM] (newer clients read it themselves)', () => {
    expect(legacyEndpointFromEnv('OAM', { AWS_ENDPOINT_URL: 'http://127.0.0.1:5000' })).toBe('http://127.0.0.1:5000');
    expect(legacyEndpointFromEnv('OAM', { AWS_ENDPOINT_URL: 'http://a', AWS_ENDPOINT_URL_OAM: 'http://b' })).toBe(
      'http://b',
    );
    expect(
      legacyEndpointFromEnv('OAM', { AWS_ENDPOINT_URL: 'http://a', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }),
    ).toBeUndefined();
    expect(legacyEndpointFromEnv('OAM', {})).toBeUndefined();
  });

  test('--help prints usage, the checks, permissions and exit codes; exit 0', async () => {
    const out = captureOutput();
    expect(await coverage(['--help'], out)).toBe(0);
    expect(out.stdout()).toMatch(/^Usage: npm run coverage -- --suffix <s> \[--config <file.json> \| --example\]/);
    expect(out.stdout()).toContain('Exit code: 0 every check passes (WARN allowed), 1 a check failed, 2 usage error');
    expect(out.stdout()).toContain('sts:AssumeRole on arn:aws:iam::*:role/MonitoringRole-*-<s>');
    expect(out.stdout()).toContain('Examples:');
  });

  test('the entry point sets the exit code (tsx scripts/coverage.ts)', () => {
    expect(runScript('scripts/coverage.ts', ['--help'])).toMatchObject({ status: 0 });
    const r = runScript('scripts/coverage.ts', ['--example']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--suffix is required');
  });

  test('loadConfig of the example is what --example checks', async () => {
    const config = loadConfig(EXAMPLE_CONFIG, 'dev');
    const out = captureOutput();
    await coverage(['--suffix', 'dev', '--example'], out, { now: () => NOW });
    expect(parseTable(out.stdout()).map((x) => x.account)).toEqual(config.memberAccounts.map((a) => a.id));
  });
});
