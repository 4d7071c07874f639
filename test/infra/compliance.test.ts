/**
 * cdk-nag (v3, Validations plugins) with the AwsSolutions and PCI DSS 3.2.1 packs over both stacks:
 * zero unacknowledged findings, and every acknowledgement scoped to one resource with a real reason.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { IConstruct } from 'constructs';
import { addObservabilityHub } from '../../lib/app';
import { EXAMPLE_CONFIG, loadConfig, ObservabilityConfigInput } from '../../lib/config';
import { FULL_FEATURES } from './support';

interface Report {
  pluginReports: {
    pluginName: string;
    conclusion: string;
    violations: { ruleName: string; violatingConstructs: { constructPath: string }[] }[];
  }[];
}

function synthWithNag(overrides: Partial<ObservabilityConfigInput> = {}, mutate?: (app: App, hub: Stack) => void) {
  const app = new App({ builtinCloudFormationValidation: false });
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
    expect(id).toMatch(/^(AwsSolutions|PCI\.DSS\.321)-[A-Za-z0-9]+(\[.+\])?$/);
    expect([id, reason.length >= 60]).toEqual([id, true]);
  }
  // IAM5 (wildcard) acknowledgements name the exact resource pattern they accept.
  for (const { id } of acknowledged.filter((a) => a.id.startsWith('AwsSolutions-IAM5'))) {
    expect(id).toMatch(/^AwsSolutions-IAM5\[Resource::.+\]$/);
  }
});
