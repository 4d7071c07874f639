import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ConfigError, EXAMPLE_CONFIG, loadConfig, ObservabilityConfigInput, readConfigFile } from '../../lib/config';

const example = (): ObservabilityConfigInput => structuredClone(EXAMPLE_CONFIG);
const withMembers = (members: ObservabilityConfigInput['memberAccounts']) => ({
  ...example(),
  memberAccounts: members,
});
const [a, b, c] = EXAMPLE_CONFIG.memberAccounts;

test('the embedded example config is valid and fills defaults', () => {
  const config = loadConfig(example(), 'dev');
  expect(config.environmentSuffix).toBe('dev');
  expect(config.memberAccounts).toHaveLength(3);
  expect(config.thresholds.errorCount).toBe(10);
  expect(config.externalId).toBe('observability-hub');
});

/** Each bad value: the message names the key, shows the value and says how to fix it. */
const badConfigs: [string, () => unknown, string, RegExp][] = [
  [
    'fewer than 3 member accounts',
    () => withMembers([a, b]),
    'memberAccounts',
    /at least 3 member accounts, got 2\. Fix:/,
  ],
  [
    'an account id that is not 12 digits',
    () => withMembers([{ ...a, id: '12345' }, b, c]),
    'memberAccounts[0].id = "12345"',
    /12-digit AWS account id\. Fix:/,
  ],
  [
    'an account id with letters',
    () => withMembers([a, b, { ...c, id: '44444444444x' }]),
    'memberAccounts[2].id = "44444444444x"',
    /12-digit/,
  ],
  [
    'a duplicate account',
    () => withMembers([a, b, { ...c, id: a.id }]),
    'memberAccounts[2].id = "222222222222"',
    /duplicate of memberAccounts\[0\]\.id\. Fix: list each account once/,
  ],
  [
    'a duplicate account name',
    () => withMembers([a, b, { ...c, name: b.name }]),
    'memberAccounts[2].name = "payments-gateway"',
    /duplicate.*Fix:/,
  ],
  [
    'the hub listed as a member',
    () => withMembers([a, b, { ...c, id: EXAMPLE_CONFIG.hubAccountId }]),
    'memberAccounts[2].id = "111111111111"',
    /is the hub account\. Fix: remove/,
  ],
  [
    'a malformed email',
    () => ({ ...example(), alertEmails: ['oncall@'] }),
    'alertEmails[0] = "oncall@"',
    /email address\. Fix:/,
  ],
  ['no email at all', () => ({ ...example(), alertEmails: [] }), 'alertEmails = []', /at least one address\. Fix:/],
  [
    'a malformed org id',
    () => ({ ...example(), organizationId: 'org-123' }),
    'organizationId = "org-123"',
    /AWS Organizations id\. Fix: use e\.g\. 'o-/,
  ],
  [
    'a malformed OU id',
    () => ({ ...example(), deployment: { permissionModel: 'SERVICE_MANAGED', organizationalUnitIds: ['ou-1'] } }),
    'deployment.organizationalUnitIds[0] = "ou-1"',
    /organizational unit id\. Fix:/,
  ],
  [
    'a JIRA URL that is not https',
    () => ({ ...example(), jira: { ...example().jira, baseUrl: 'http://example.atlassian.net' } }),
    'jira.baseUrl = "http://example.atlassian.net"',
    /https URL.*Fix:/,
  ],
  [
    'a JIRA URL with a path',
    () => ({ ...example(), jira: { ...example().jira, baseUrl: 'https://example.atlassian.net/jira' } }),
    'jira.baseUrl',
    /site root.*Fix:/,
  ],
  [
    'a JIRA URL that is not a URL',
    () => ({ ...example(), jira: { ...example().jira, baseUrl: 'example' } }),
    'jira.baseUrl = "example"',
    /absolute URL/,
  ],
  [
    'a lowercase JIRA project key',
    () => ({ ...example(), jira: { ...example().jira, projectKey: 'ops' } }),
    'jira.projectKey = "ops"',
    /project key.*Fix:/,
  ],
  [
    'an invalid ticket pattern',
    () => ({ ...example(), jira: { ...example().jira, ticketAlarmPattern: '([' } }),
    'jira.ticketAlarmPattern = "(["',
    /valid regular expression/,
  ],
  [
    'a secret ARN without its suffix',
    () => ({
      ...example(),
      jira: { ...example().jira, secretArn: 'arn:aws:secretsmanager:us-east-1:111111111111:secret:jira' },
    }),
    'jira.secretArn',
    /6-character suffix/,
  ],
  [
    'a secret in another account',
    () => ({
      ...example(),
      jira: { ...example().jira, secretArn: 'arn:aws:secretsmanager:us-east-1:999999999999:secret:jira-AbC123' },
    }),
    'jira.secretArn',
    /not the hub account 111111111111\. Fix:/,
  ],
  [
    'a VPC without subnets',
    () => withMembers([{ ...a, vpc: { vpcId: 'vpc-0a1b2c3d4e5f60718', cidr: '10.0.0.0/16', subnetIds: [] } }, b, c]),
    'memberAccounts[0].vpc.subnetIds = []',
    /at least one subnet/,
  ],
  [
    'a VPC account without its OU (service-managed)',
    () => withMembers([{ ...a, organizationalUnitId: undefined }, b, c]),
    'memberAccounts[0].organizationalUnitId = missing',
    /required when the account sets vpc/,
  ],
  [
    'an account OU not deployed to',
    () => withMembers([{ ...a, organizationalUnitId: 'ou-ab12-other001' }, b, c]),
    'memberAccounts[0].organizationalUnitId = "ou-ab12-other001"',
    /not in deployment\.organizationalUnitIds/,
  ],
  [
    'an unknown key (typo), named like every other problem',
    () => ({ ...example(), alertEmail: ['x@example.com'] }),
    '- alertEmail: unknown key. Fix: remove it or correct its spelling',
    /^(?![\s\S]*\(config\))/,
  ],
  [
    'an unknown nested key',
    () => ({ ...example(), jira: { ...example().jira, projectkey: 'OPS' } }),
    '- jira.projectkey: unknown key. Fix:',
    /./,
  ],
  [
    'a renamed key',
    () => ({ ...example(), cloudTrailLogGroupName: 'org-trail' }),
    '- cloudTrailLogGroupName: was renamed. Fix: use cloudTrail.logGroupName',
    /./,
  ],
  [
    'a foundation sink that is not an OAM sink ARN',
    () => ({ ...example(), foundation: { oamSinkArn: 'sink-observability-prod' } }),
    'foundation.oamSinkArn = "sink-observability-prod"',
    /OAM sink\. Fix:/,
  ],
  [
    'a foundation sink in another account or region',
    () => ({
      ...example(),
      foundation: { oamSinkArn: 'arn:aws:oam:eu-west-1:999999999999:sink/a1b2c3d4-5678-90ab-cdef-111111111111' },
    }),
    'foundation.oamSinkArn',
    /must be the hub's \(111111111111\/us-east-1\)\. Fix:/,
  ],
  [
    'per-account thresholds without the OU (service-managed)',
    () => withMembers([a, { ...b, organizationalUnitId: undefined, thresholds: { errorCount: 5 } }, c]),
    'memberAccounts[1].organizationalUnitId = missing',
    /required when the account sets thresholds/,
  ],
  [
    'a silence window that is not whole periods',
    () => ({ ...example(), thresholds: { silenceMinutes: 12 } }),
    'thresholds.silenceMinutes = 12',
    /multiple of 5 minutes\. Fix:/,
  ],
  [
    'a maintenance window that is neither one-off nor weekly',
    () => ({ ...example(), maintenanceWindows: [{ name: 'upgrade' }] }),
    'maintenanceWindows[0]',
    /either one-off \(start and end\) or recurring \(weekly\)/,
  ],
  [
    'a maintenance window that ends before it starts',
    () => ({
      ...example(),
      maintenanceWindows: [{ name: 'upgrade', start: '2026-12-24T22:00:00Z', end: '2026-12-24T21:00:00Z' }],
    }),
    'maintenanceWindows[0].end',
    /must be after start/,
  ],
  [
    'a maintenance window for an account that is not a member',
    () => ({
      ...example(),
      maintenanceWindows: [
        { name: 'upgrade', weekly: { startTime: '02:00', durationMinutes: 60 }, accounts: ['999999999999'] },
      ],
    }),
    'maintenanceWindows[0].accounts[0] = "999999999999"',
    /not in memberAccounts/,
  ],
  [
    'a canary health URL that is not https',
    () => ({ ...example(), canary: { healthUrl: 'http://payments.example.com/health' } }),
    'canary.healthUrl',
    /https URL/,
  ],
  [
    'a JIRA concurrency below the SQS event source minimum',
    () => ({ ...example(), jira: { ...example().jira, maxConcurrency: 1 } }),
    'jira.maxConcurrency = 1',
    /./,
  ],
  [
    'an unknown permission model',
    () => ({ ...example(), deployment: { permissionModel: 'SELF' } }),
    'deployment.permissionModel = "SELF"',
    /SERVICE_MANAGED|SELF_MANAGED/,
  ],
  ['a negative threshold', () => ({ ...example(), thresholds: { errorCount: -1 } }), 'thresholds.errorCount = -1', /./],
  [
    'a bad region',
    () => ({ ...example(), deployment: { permissionModel: 'SELF_MANAGED', regions: ['useast1'] } }),
    'deployment.regions[0] = "useast1"',
    /AWS region\. Fix:/,
  ],
];

test.each(badConfigs)('rejects %s, naming key, value and fix', (_case, make, key, message) => {
  let error: unknown;
  try {
    loadConfig(make(), 'dev');
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  expect((error as Error).message).toContain(key);
  expect((error as Error).message).toMatch(message);
});

test.each([
  ['', /environmentSuffix = "": must be 1-20 lowercase/],
  ['Dev', /environmentSuffix = "Dev"/],
  ['pr_42', /environmentSuffix = "pr_42"/],
  ['-dev', /environmentSuffix = "-dev"/],
  ['a'.repeat(21), /environmentSuffix = "a{21}"/],
  [undefined, /environmentSuffix = missing: .*Fix: pass e\.g\. -c environmentSuffix=dev/],
])('rejects the environment suffix %p', (suffix, message) => {
  expect(() => loadConfig(example(), suffix)).toThrow(message);
});

test('reports every problem at once', () => {
  const bad = { ...withMembers([a, b]), organizationId: 'x', alertEmails: ['nope'] };
  const message = (() => {
    try {
      loadConfig(bad, 'dev');
    } catch (e) {
      return (e as Error).message;
    }
    return '';
  })();
  expect(message.split('\n').filter((line) => line.startsWith('- '))).toHaveLength(3);
});

test('accepts the longest suffix, loopback http JIRA URLs (local tests) and self-managed deployment', () => {
  expect(loadConfig(example(), 'a'.repeat(20)).environmentSuffix).toHaveLength(20);
  const local = { ...example(), jira: { ...example().jira, baseUrl: 'http://127.0.0.1:8080' } };
  expect(loadConfig(local, 'dev').jira.baseUrl).toBe('http://127.0.0.1:8080');
  const selfManaged = { ...example(), deployment: { permissionModel: 'SELF_MANAGED' as const } };
  const full = loadConfig(example(), 'dev');
  expect(full).toMatchObject({
    tracing: true,
    heartbeat: { enabled: true, intervalMinutes: 360 },
    opsCenter: { enabled: false },
    notifications: { digestWindowSeconds: 60 },
    jira: { maxConcurrency: 3, storm: { maxNewIssues: 5, windowMinutes: 15 } },
    cloudTrail: { logGroupName: 'aws-controltower/CloudTrailLogs' },
    maintenanceWindows: [],
  });
  expect(full.memberAccounts[0].vpc).toMatchObject({ region: 'us-east-1', privateDns: true });
  expect(loadConfig(selfManaged, 'dev').deployment).toEqual({
    permissionModel: 'SELF_MANAGED',
    executionRoleName: 'AWSCloudFormationStackSetExecutionRole',
    regions: ['us-east-1'],
  });
});

describe('config files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'observability-config-'));

  test('reads a JSON file', () => {
    fs.writeFileSync(path.join(dir, 'ok.json'), JSON.stringify(EXAMPLE_CONFIG));
    expect(readConfigFile('ok.json', dir)).toEqual(EXAMPLE_CONFIG);
  });

  test('a missing file or invalid JSON names the file and the fix', () => {
    expect(() => readConfigFile('missing.json', dir)).toThrow(/configFile = "missing.json": cannot be read.*Fix:/);
    fs.writeFileSync(path.join(dir, 'bad.json'), '{ nope');
    expect(() => readConfigFile('bad.json', dir)).toThrow(/configFile = "bad.json": is not valid JSON.*Fix:/);
  });
});
