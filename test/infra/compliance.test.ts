/**
 * cdk-nag (v3, Validations plugins) with the AwsSolutions and PCI DSS 3.2.1 packs over both stacks:
 * zero unacknowledged findings, and every acknowledgement scoped to one resource with a real reason.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { IConstruct } from 'constructs';
import { addObservabilityHub } from '../../lib/app';
import { EXAMPLE_CONFIG, loadConfig, ObservabilityConfigInput } from '../../lib/config';
import { FULL_FEATURES, TEST_APP_PROPS } from './support';

interface Report {
  pluginReports: {
    pluginName: string;
    conclusion: string;
    violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[];
  }[];
}

const cached = new Map<string, ReturnType<typeof synthUncached>>();
/** Synth with every validation plugin; cached per config when nothing is planted (synth with nag is slow). */
function synthWithNag(overrides: Partial<ObservabilityConfigInput> = {}, mutate?: (app: App, hub: Stack) => void) {
  if (mutate) return synthUncached(overrides, mutate);
  const key = JSON.stringify(overrides);
  if (!cached.has(key)) cached.set(key, synthUncached(overrides));
  return cached.get(key)!;
}

function synthUncached(overrides: Partial<ObservabilityConfigInput> = {}, mutate?: (app: App, hub: Stack) => void) {
  const app = new App(TEST_APP_PROPS);
  const hub = addObservabilityHub(app, { config: loadConfig({ ...EXAMPLE_CONFIG, ...overrides }, 'dev'), nag: true });
  mutate?.(app, hub);
  let error: Error | undefined;
  try {
    app.synth();
  } catch (e) {
    error = e as Error;
  }
  const report = JSON.parse(fs.readFileSync(path.join(app.outdir, 'validation-report.json'), 'utf8')) as Report;
  return { app, hub, error, report };
}

const violations = (report: Report) =>
  report.pluginReports.flatMap((r) =>
    r.violations.flatMap((v) => v.violatingConstructs.map((c) => `${v.ruleName} ${c.constructPath}`)),
  );

test.each([
  ['service-managed (example config)', {}],
  ['self-managed', { deployment: { permissionModel: 'SELF_MANAGED' as const } }],
  ['every optional feature on', FULL_FEATURES],
  [
    'every optional feature off',
    { tracing: false, heartbeat: { enabled: false }, opsCenter: { enabled: false }, maintenanceWindows: [] },
  ],
  [
    'reusing the foundation',
    { foundation: { oamSinkArn: 'arn:aws:oam:us-east-1:111111111111:sink/a1b2c3d4-5678-90ab-cdef-111111111111' } },
  ],
])('%s: synth passes AwsSolutions and PCI DSS 3.2.1 with no unacknowledged finding', (_name, overrides) => {
  const { error, report } = synthWithNag(overrides);
  expect(violations(report)).toEqual([]);
  expect(error).toBeUndefined();
  expect(report.pluginReports.filter((r) => r.conclusion !== 'success')).toEqual([]);
});

test('a new unacknowledged finding fails synth (in the hub or in the member template)', () => {
  const { error, report } = synthWithNag({}, (_app, hub) => {
    new sqs.Queue(hub, 'PlainQueue');
    new sqs.Queue((hub as unknown as { memberStack: Stack }).memberStack, 'PlainMemberQueue');
  });
  expect(error?.message).toMatch(/Acknowledge with 'AwsSolutions::AwsSolutions-SQS4'/);
  expect(violations(report)).toEqual(
    expect.arrayContaining([
      'AwsSolutions-SQS4 MonitoringHub-dev/PlainQueue/Resource',
      'AwsSolutions-SQS4 MonitoringHub-dev/MemberAccount/PlainMemberQueue/Resource',
    ]),
  );
});

test('every acknowledgement is scoped to one resource and one finding, with a specific reason', () => {
  const { app } = synthWithNag();
  const acknowledged: { path: string; id: string; reason: string }[] = [];
  for (const construct of app.node.findAll() as IConstruct[]) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      // Stored as { 'Annotation::<rule id>': reason }.
      for (const [key, reason] of Object.entries(entry.data as Record<string, string>)) {
        acknowledged.push({ path: construct.node.path, id: key.replace(/^Annotation::/, ''), reason });
      }
    }
  }
  expect(acknowledged.length).toBeGreaterThan(0);
  for (const { path: where, id, reason } of acknowledged) {
    const construct = app.node.findAll().find((c) => c.node.path === where) as IConstruct;
    expect([where, Stack.isStack(construct)]).toEqual([where, false]);
    expect(id).toMatch(/^((AwsSolutions|PCI\.DSS\.321)-[A-Za-z0-9]+(\[.+\])?|cdk-validator-cfnguard::[a-z0-9_]+)$/);
    expect([id, reason.length >= 60]).toEqual([id, true]);
  }
  // IAM5 (wildcard) acknowledgements name the exact resource pattern they accept.
  for (const { id } of acknowledged.filter((a) => a.id.startsWith('AwsSolutions-IAM5'))) {
    expect(id).toMatch(/^AwsSolutions-IAM5\[Resource::.+\]$/);
  }
});

describe('AWS Control Tower proactive controls (CloudFormation Guard rules) on every template', () => {
  const controlTower = (report: Report) => report.pluginReports.find((r) => r.pluginName === 'cdk-validator-cfnguard')!;

  test('run on synth, beside cdk-nag, with no unacknowledged violation', () => {
    const { error, report } = synthWithNag(FULL_FEATURES);
    expect(error).toBeUndefined();
    expect(controlTower(report)).toMatchObject({ conclusion: 'success', violations: [] });
  });

  test('a planted violation fails synth in the hub, in a nested stack and in the member template', () => {
    const { error, report } = synthWithNag({}, (_app, hub) => {
      const stacks = hub.node.findAll().filter((c): c is Stack => Stack.isStack(c) && c !== hub);
      const nested = stacks.find((s) => s.nested)!;
      const member = (hub as unknown as { memberStack: Stack }).memberStack;
      new logs.CfnLogGroup(hub, 'PlantedHubLogGroup', { retentionInDays: 30 });
      new logs.CfnLogGroup(nested, 'PlantedNestedLogGroup', { retentionInDays: 30 });
      new cloudwatch.CfnAlarm(member, 'PlantedMemberAlarm', {
        comparisonOperator: 'GreaterThanThreshold',
        evaluationPeriods: 1,
        threshold: 1,
        metricName: 'x',
        namespace: 'x',
        period: 60,
        statistic: 'Sum',
        treatMissingData: 'breaching',
      });
    });
    expect(error).toBeDefined();
    const violations = controlTower(report).violations.flatMap((v) =>
      v.violatingConstructs.map((c) => `${v.ruleName} ${c.constructPath}`),
    );
    expect(violations).toEqual(
      expect.arrayContaining([
        'cloudwatch_log_group_retention_period_check MonitoringHub-dev/PlantedHubLogGroup',
        expect.stringMatching(
          /^cloudwatch_log_group_encrypted_check MonitoringHub-dev\/Dashboard\/AccountPages1\/PlantedNestedLogGroup$/,
        ),
        'cloudwatch_alarm_action_check MonitoringHub-dev/MemberAccount/PlantedMemberAlarm',
      ]),
    );
  });

  test('every acknowledged control names the control id and the customer constraint it conflicts with', () => {
    const { app } = synthWithNag(FULL_FEATURES);
    const acks = app.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.entries(m.data as Record<string, string>))
      .filter(([key]) => key.includes('cdk-validator-cfnguard::'));
    expect(acks.length).toBeGreaterThan(5);
    for (const [key, reason] of acks) {
      expect([key, reason]).toEqual([key, expect.stringMatching(/^CT\.[A-Z0-9]+\.PR\.\d+: .{60,}/)]);
    }
  });
});
