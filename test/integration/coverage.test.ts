/**
 * `npm run coverage` against moto: an organization in moto (the hub is its management account, members are
 * created with CreateAccount and moved into an OU), and in each member account what the real member template
 * creates (support/member-stack.ts: the MonitoringRole with its trust and policy in moto IAM, the log groups and
 * metric filters in moto Logs, the alarms in moto CloudWatch). The command runs with its own clients
 * (defaultClients, AWS_ENDPOINT_URL -> moto); what moto does not implement is mocked on those client instances
 * with aws-sdk-client-mock: CloudFormation StackSet instances and OAM links. Two behaviours moto lacks are
 * played by middleware on the real clients: STS evaluating a cross-account trust policy, and Organizations
 * refusing an OU the caller may not list.
 */
import { randomUUID } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ListStackInstancesCommand, type StackInstanceSummary } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient, DeleteAlarmsCommand, SetAlarmStateCommand } from '@aws-sdk/client-cloudwatch';
import { CloudWatchLogsClient, DeleteMetricFilterCommand } from '@aws-sdk/client-cloudwatch-logs';
import { ListAttachedLinksCommand, ListSinksCommand } from '@aws-sdk/client-oam';
import {
  CreateAccountCommand,
  CreateOrganizationalUnitCommand,
  CreateOrganizationCommand,
  ListRootsCommand,
  MoveAccountCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { mockClient } from 'aws-sdk-client-mock';
import { EXAMPLE_CONFIG, type ObservabilityConfigInput } from '../../lib/config';
import { coverage, defaultClients, NOT_CONFIGURED, STUCK_MINUTES } from '../../scripts/lib/coverage';
import { synthesize } from '../infra/support';
import { captureOutput } from '../tools/support';
import { describeWithMoto, startMoto, type Moto } from './support/moto';
import { adminIn, deployMemberStack, emulateStsTrust, TEST_CREDENTIALS, type Template } from './support/member-stack';
import { parseTable } from '../support/report-table';

const HUB = '123456789012'; // moto's account for the test credentials: the hub, and the organization's management account
const SUFFIX = 'itest';
const REGION = 'us-east-1';
const SINK_ARN = `arn:aws:oam:${REGION}:${HUB}:sink/5f1e2d3c-0000-4000-8000-${HUB}`;

interface Member {
  id: string;
  name: string;
  ou: string;
}

describeWithMoto('coverage against moto', () => {
  let moto: Moto;
  let org: OrganizationsClient;
  let template: Template;
  let orgId: string;
  let rootId: string;
  let tmp: string;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    moto = await startMoto();
    // The command's own clients find moto through the environment, as an operator's would find AWS.
    Object.assign(process.env, {
      AWS_ENDPOINT_URL: moto.endpoint,
      AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey,
      AWS_CONFIG_FILE: '/dev/null',
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_MAX_ATTEMPTS: '1',
    });
    delete process.env.AWS_PROFILE;
    delete process.env.AWS_SESSION_TOKEN;
    template = synthesize({}, { suffix: SUFFIX }).memberTemplate.toJSON() as Template;
    org = new OrganizationsClient({ endpoint: moto.endpoint, region: REGION, credentials: TEST_CREDENTIALS });
    orgId = (await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }))).Organization!.Id!;
    rootId = (await org.send(new ListRootsCommand({}))).Roots![0].Id!;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coverage-it-'));
  });
  afterAll(async () => {
    process.env = savedEnv;
    org?.destroy();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    await moto?.stop();
  });

  async function createOu(): Promise<string> {
    const out = await org.send(
      new CreateOrganizationalUnitCommand({ ParentId: rootId, Name: `ou-${randomUUID().slice(0, 8)}` }),
    );
    return out.OrganizationalUnit!.Id!;
  }

  /** A new account in the organization, moved into `ou`. */
  async function createAccount(name: string, ou: string): Promise<Member> {
    const status = await org.send(
      new CreateAccountCommand({ AccountName: name, Email: `${name}-${randomUUID().slice(0, 8)}@example.com` }),
    );
    const id = status.CreateAccountStatus!.AccountId!;
    await org.send(new MoveAccountCommand({ AccountId: id, SourceParentId: rootId, DestinationParentId: ou }));
    return { id, name, ou };
  }

  /** What the StackSet's instance puts into the account (the real member template), with the StackSet's parameters. */
  async function deploy(
    m: Member,
    opts: {
      externalId?: string;
      silenceIsCritical?: boolean;
      without?: Parameters<typeof deployMemberStack>[0]['without'];
    } = {},
  ) {
    await deployMemberStack({
      endpoint: moto.endpoint,
      account: m.id,
      region: REGION,
      template,
      parameters: {
        HubAccountId: HUB,
        OrganizationId: orgId,
        MonitoringExternalId: opts.externalId ?? 'observability-hub',
        SilenceIsCritical: String(opts.silenceIsCritical ?? false),
        HubEventBusArn: `arn:aws:events:${REGION}:${HUB}:event-bus/bus-alarm-events-${SUFFIX}`,
      },
      without: opts.without,
    });
  }

  /** Three configured member accounts in a fresh OU, each with its member stack; `prod` has critical silence. */
  async function organization() {
    const ou = await createOu();
    const members = [
      await createAccount('payments-prod', ou),
      await createAccount('payments-gateway', ou),
      await createAccount('ledger', ou),
    ];
    await deploy(members[0], { silenceIsCritical: true });
    await deploy(members[1]);
    await deploy(members[2]);
    return { ou, members };
  }

  function configFile(members: Member[], ous: string[], overrides: Partial<ObservabilityConfigInput> = {}) {
    const file = path.join(tmp, `config-${randomUUID()}.json`);
    const config: ObservabilityConfigInput = {
      ...EXAMPLE_CONFIG,
      hubAccountId: HUB,
      organizationId: orgId,
      memberAccounts: members.map((m, i) => ({
        id: m.id,
        name: m.name,
        organizationalUnitId: m.ou,
        ...(i === 0 ? { silenceIsCritical: true } : {}),
      })),
      deployment: { permissionModel: 'SERVICE_MANAGED', organizationalUnitIds: ous, delegatedAdmin: true },
      jira: {
        ...EXAMPLE_CONFIG.jira,
        secretArn: `arn:aws:secretsmanager:us-east-1:${HUB}:secret:observability/jira-AbC123`,
      },
      ...overrides,
    };
    fs.writeFileSync(file, JSON.stringify(config));
    return file;
  }

  interface Hub {
    /** Stack instances the StackSet reports (ListStackInstances, mocked). */
    instances: StackInstanceSummary[];
    /** Accounts whose OAM link is attached to the sink (ListAttachedLinks, mocked). */
    links: string[];
    /** OUs the caller may not list (organizations:ListAccountsForParent denied). */
    deniedOus?: string[];
  }

  const current = (m: Member): StackInstanceSummary => ({
    Account: m.id,
    Region: REGION,
    OrganizationalUnitId: m.ou,
    Status: 'CURRENT',
    StackInstanceStatus: { DetailedStatus: 'SUCCEEDED' },
  });
  const healthyHub = (members: Member[]): Hub => ({ instances: members.map(current), links: members.map((m) => m.id) });

  async function run(file: string, hub: Hub, now?: Date) {
    const out = captureOutput();
    const code = await coverage(['--suffix', SUFFIX, '--config', file], out, {
      progressIntervalMs: 0,
      now: now ? () => now : undefined,
      clients: (aws) => {
        const clients = defaultClients(aws);
        emulateStsTrust(clients.hub.sts, { endpoint: moto.endpoint, callerAccount: HUB, callerOrganizationId: orgId });
        clients.hub.organizations.middlewareStack.add(
          (next, context) => async (args) => {
            const parent = (args.input as { ParentId?: string }).ParentId;
            if (context.commandName === 'ListAccountsForParentCommand' && parent && hub.deniedOus?.includes(parent)) {
              throw Object.assign(new Error("You don't have permissions to access this resource."), {
                name: 'AccessDeniedException',
              });
            }
            return next(args);
          },
          { step: 'initialize', name: 'denyOrganizationalUnits' },
        );
        mockClient(clients.hub.cloudformation).on(ListStackInstancesCommand).resolves({ Summaries: hub.instances });
        const oam = mockClient(clients.hub.oam as never);
        oam
          .on(ListSinksCommand as never)
          .resolves({ Items: [{ Name: `sink-observability-${SUFFIX}`, Arn: SINK_ARN }] } as never);
        oam.on(ListAttachedLinksCommand as never).resolves({
          Items: hub.links.map((id) => ({
            LinkArn: `arn:aws:oam:${REGION}:${id}:link/${randomUUID()}`,
            Label: id,
            ResourceTypes: ['AWS::CloudWatch::Metric', 'AWS::Logs::LogGroup', 'AWS::XRay::Trace'],
          })),
        } as never);
        return clients;
      },
    });
    return { code, stdout: out.stdout(), stderr: out.stderr(), rows: parseTable(out.stdout()) };
  }

  async function inMember(m: Member) {
    const credentials = await adminIn(moto.endpoint, m.id);
    const cfg = { endpoint: moto.endpoint, region: REGION, credentials, maxAttempts: 1 };
    return { logs: new CloudWatchLogsClient(cfg), cw: new CloudWatchClient(cfg) };
  }

  const PASS = {
    'stackset instance': 'PASS CURRENT',
    'oam link': 'PASS attached',
    'monitoring role': 'PASS assumed',
    'metric filters': 'PASS 5/5 in 1 log group',
    alarms: 'PASS 5 present',
  };

  test('all covered: every check PASS against moto, exit 0, config order', async () => {
    const { ou, members } = await organization();
    const r = await run(configFile(members, [ou]), healthyHub(members));
    expect(r.stderr).toContain('coverage: checked 3/3 accounts');
    expect(r.code).toBe(0);
    expect(r.rows.map((x) => [x.account, x.name])).toEqual(members.map((m) => [m.id, m.name]));
    for (const row of r.rows) expect(row).toMatchObject({ ...PASS, note: '' });
  });

  test('accounts in the OU but not configured come first: one deployed (all PASS), one not yet deployed (FAIL)', async () => {
    const { ou, members } = await organization();
    const deployed = await createAccount('payments-new', ou);
    await deploy(deployed);
    const joined = await createAccount('payments-joined', ou);
    const hub = healthyHub(members);
    hub.instances.push(current(deployed));
    hub.links.push(deployed.id);
    const r = await run(configFile(members, [ou]), hub);
    expect(r.code).toBe(1);
    const unconfigured = [deployed, joined].sort((a, b) => a.id.localeCompare(b.id));
    expect(r.rows.map((x) => x.account)).toEqual([...unconfigured.map((m) => m.id), ...members.map((m) => m.id)]);
    const row = (m: Member) => r.rows.find((x) => x.account === m.id)!;
    expect(row(deployed)).toMatchObject({ name: 'payments-new', ...PASS, note: NOT_CONFIGURED });
    expect(row(joined)).toMatchObject({
      name: 'payments-joined',
      'stackset instance': 'FAIL no stack instance',
      'metric filters': 'SKIP needs the monitoring role',
      note: NOT_CONFIGURED,
    });
    expect(row(joined)['monitoring role']).toMatch(/^FAIL cannot assume: AccessDenied: /);
    expect(r.stdout).toContain(
      `- stackset instance FAIL in ${joined.id}/us-east-1: the account joined the OU but StackSets has not deployed: check the StackSet's operations`,
    );
    expect(r.stdout).toContain(`Not configured: ${unconfigured.map((m) => m.id).join(', ')}:`);
  });

  test('an instance OUTDATED with its StatusReason: FAIL, that account next after none unconfigured, exit 1', async () => {
    const { ou, members } = await organization();
    const hub = healthyHub(members);
    hub.instances[2] = {
      ...hub.instances[2],
      Status: 'OUTDATED',
      StatusReason:
        'ResourceLogicalId:MonitoringRoleD3E808C7, ResourceType:AWS::IAM::Role, ResourceStatusReason:Role already exists',
      StackInstanceStatus: { DetailedStatus: 'FAILED' },
    };
    const r = await run(configFile(members, [ou]), hub);
    expect(r.code).toBe(1);
    expect(r.rows.map((x) => x.account)).toEqual([members[2].id, members[0].id, members[1].id]);
    expect(r.rows[0]['stackset instance']).toMatch(/^FAIL OUTDATED \(FAILED\): Resource/);
    expect(r.stdout).toContain(
      `${members[2].id} us-east-1 stackset instance: FAIL OUTDATED (FAILED): ${hub.instances[2].StatusReason}`,
    );
    expect(r.stdout).toContain('the last StackSet operation did not finish in this account and region');
  });

  test('no OAM link: FAIL for that account only', async () => {
    const { ou, members } = await organization();
    const hub = healthyHub(members);
    hub.links = [members[0].id, members[2].id];
    const r = await run(configFile(members, [ou]), hub);
    expect(r.code).toBe(1);
    expect(r.rows[0]).toMatchObject({
      account: members[1].id,
      'oam link': expect.stringMatching(/^FAIL not attached to 5f1e2d3c-/),
    });
    expect(r.rows.slice(1).every((x) => x['oam link'] === 'PASS attached')).toBe(true);
  });

  test('role not assumable (its trust names another external id): FAIL "role trust or external id wrong", rest SKIP', async () => {
    const ou = await createOu();
    const members = [
      await createAccount('payments-prod', ou),
      await createAccount('payments-gateway', ou),
      await createAccount('ledger', ou),
    ];
    await deploy(members[0], { silenceIsCritical: true });
    await deploy(members[1], { externalId: 'an-older-external-id' });
    await deploy(members[2]);
    const r = await run(configFile(members, [ou]), healthyHub(members));
    expect(r.code).toBe(1);
    expect(r.rows[0]).toMatchObject({
      account: members[1].id,
      'stackset instance': 'PASS CURRENT',
      'metric filters': 'SKIP needs the monitoring role',
      alarms: 'SKIP needs the monitoring role',
    });
    expect(r.rows[0]['monitoring role']).toMatch(/^FAIL cannot assume: AccessDenied: /);
    expect(r.stdout).toContain(
      `is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::${members[1].id}:role/MonitoringRole-${members[1].id}-${SUFFIX}`,
    );
    expect(r.stdout).toContain(
      `role trust or external id wrong: MonitoringRole-${members[1].id}-${SUFFIX} must trust the hub account ${HUB}`,
    );
    expect(r.rows.slice(1).every((x) => x['monitoring role'] === 'PASS assumed')).toBe(true);
  });

  test('a missing metric filter: FAIL naming it', async () => {
    const { ou, members } = await organization();
    const { logs } = await inMember(members[0]);
    await logs.send(
      new DeleteMetricFilterCommand({
        logGroupName: `/observability/app/payments-api-${SUFFIX}`,
        filterName: `metric-payments-api-slowpayments-${SUFFIX}`,
      }),
    );
    logs.destroy();
    const r = await run(configFile(members, [ou]), healthyHub(members));
    expect(r.code).toBe(1);
    expect(r.rows[0]).toMatchObject({
      account: members[0].id,
      'metric filters': expect.stringMatching(/^FAIL missing 1\/5: /),
    });
    expect(r.stdout).toContain(
      `${members[0].id} us-east-1 metric filters: FAIL missing 1/5: metric-payments-api-slowpayments-${SUFFIX}\n`,
    );
    expect(r.stdout).toContain('deleted outside CloudFormation: check drift');
  });

  test('an alarm missing (the composite): FAIL naming it', async () => {
    const { ou, members } = await organization();
    const { cw } = await inMember(members[2]);
    await cw.send(new DeleteAlarmsCommand({ AlarmNames: [`composite-payments-degraded-${SUFFIX}`] }));
    cw.destroy();
    const r = await run(configFile(members, [ou]), healthyHub(members));
    expect(r.code).toBe(1);
    expect(r.rows[0].account).toBe(members[2].id);
    expect(r.stdout).toContain(
      `${members[2].id} us-east-1 alarms: FAIL missing: composite-payments-degraded-${SUFFIX}`,
    );
  });

  test(`an alarm in INSUFFICIENT_DATA: FAIL "stuck" after ${STUCK_MINUTES} minutes, WARN "evaluating" before (exit 0)`, async () => {
    const { ou, members } = await organization();
    const { cw } = await inMember(members[1]);
    await cw.send(
      new SetAlarmStateCommand({
        AlarmName: `alarm-latency-p99-${SUFFIX}`,
        StateValue: 'INSUFFICIENT_DATA',
        StateReason: 'no datapoints',
      }),
    );
    cw.destroy();
    const file = configFile(members, [ou]);
    let r = await run(file, healthyHub(members), new Date(Date.now() + (STUCK_MINUTES + 1) * 60_000));
    expect(r.code).toBe(1);
    expect(r.rows[0].account).toBe(members[1].id);
    expect(r.stdout).toMatch(
      new RegExp(
        `${members[1].id} us-east-1 alarms: FAIL stuck in INSUFFICIENT_DATA: alarm-latency-p99-${SUFFIX} \\(3[12] min\\)`,
      ),
    );
    r = await run(file, healthyHub(members));
    expect(r.code).toBe(0);
    expect(r.rows.find((x) => x.account === members[1].id)!.alarms).toMatch(/^WARN evaluating /);
    expect(r.stdout).toContain(
      `${members[1].id} us-east-1 alarms: WARN evaluating (INSUFFICIENT_DATA 0 min: alarm-latency-p99-${SUFFIX})`,
    );
  });

  test('an OU the caller may not list: one WARN row first, the rest goes on, exit 0', async () => {
    const { ou, members } = await organization();
    const hidden = await createOu();
    await createAccount('payments-hidden', hidden);
    const r = await run(configFile(members, [ou, hidden]), { ...healthyHub(members), deniedOus: [hidden] });
    expect(r.code).toBe(0);
    expect(r.rows.map((x) => x.account)).toEqual(['-', ...members.map((m) => m.id)]);
    expect(r.rows[0]).toMatchObject({ name: `OU ${hidden}`, note: 'accounts in it may be missing from this report' });
    expect(r.stdout).toContain(
      `OU ${hidden} stackset instance: WARN cannot list OU ${hidden}: AccessDeniedException: You don't have permissions to access this resource.`,
    );
    for (const row of r.rows.slice(1)) expect(row).toMatchObject(PASS);
    expect(r.stdout).toMatch(/; 1 OU not listed;/);
  });
});
