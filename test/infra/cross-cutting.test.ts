/**
 * Every cross-cutting constraint of the SPEC, asserted over BOTH templates: the hub stack and the
 * member template the StackSet deploys.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { SNS_MANAGED_KEY_ALIAS } from '../../lib/hub/alert-topic';
import { CANARY_MEMORY_MB } from '../../lib/hub/payments-canary';
import { asArray, FULL_FEATURES, ofType, policyStatements, render, resources, SUFFIX, synthesize } from './support';

const { hubTemplate, nestedTemplates, memberTemplate } = synthesize();
const full = synthesize(FULL_FEATURES);
const reusing = synthesize({
  foundation: { oamSinkArn: 'arn:aws:oam:us-east-1:111111111111:sink/a1b2c3d4-5678-90ab-cdef-111111111111' },
});
const templates: [string, Template][] = [
  ['hub', hubTemplate],
  ...nestedTemplates.map((t, i): [string, Template] => [`hub dashboard pages ${i + 1}`, t]),
  ['member', memberTemplate],
  ['hub, every feature on', full.hubTemplate],
  ['member, every feature on', full.memberTemplate],
  ['hub, reusing the foundation', reusing.hubTemplate],
  ['member, reusing the foundation', reusing.memberTemplate],
];

/** Properties that carry a physical name, per resource type; every resource type used must be listed. */
const PHYSICAL_NAME_PROPERTIES: Record<string, string[]> = {
  'AWS::CloudFormation::StackSet': ['StackSetName'],
  'AWS::CloudWatch::Alarm': ['AlarmName'],
  'AWS::CloudWatch::CompositeAlarm': ['AlarmName'],
  'AWS::CloudWatch::Dashboard': ['DashboardName'],
  'AWS::CloudWatch::InsightRule': ['RuleName'],
  'AWS::DynamoDB::Table': ['TableName'],
  'AWS::EC2::SecurityGroup': ['GroupName'],
  'AWS::Events::Archive': ['ArchiveName'],
  'AWS::Events::EventBus': ['Name'],
  'AWS::Events::Rule': ['Name'],
  'AWS::IAM::ManagedPolicy': ['ManagedPolicyName'],
  'AWS::IAM::Role': ['RoleName'],
  'AWS::Lambda::Function': ['FunctionName'],
  'AWS::Logs::LogGroup': ['LogGroupName'],
  'AWS::Logs::MetricFilter': ['FilterName'],
  'AWS::Logs::ResourcePolicy': ['PolicyName'],
  'AWS::Oam::Sink': ['Name'],
  'AWS::SNS::Topic': ['TopicName'],
  'AWS::SQS::Queue': ['QueueName'],
  'AWS::SSM::Association': ['AssociationName'],
  'AWS::SSM::Document': ['Name'],
  'AWS::SSM::Parameter': ['Name'],
  'AWS::Scheduler::Schedule': ['Name'],
  'AWS::S3::Bucket': ['BucketName'],
  'AWS::Synthetics::Canary': ['Name'],
};
/** Resource types that have no physical name of their own. */
const UNNAMED_TYPES = new Set([
  'AWS::CDK::Metadata',
  'AWS::CloudFormation::Stack',
  'AWS::EC2::VPCEndpoint',
  'AWS::Events::EventBusPolicy',
  'AWS::Lambda::EventInvokeConfig',
  'AWS::Lambda::EventSourceMapping',
  'AWS::S3::BucketPolicy',
  'AWS::Lambda::Permission',
  'AWS::Oam::Link',
  'AWS::SNS::Subscription',
  'AWS::SNS::TopicPolicy',
  'AWS::SQS::QueuePolicy',
]);

describe.each(templates)('%s template', (_name, template) => {
  test('every log group keeps logs exactly 30 days', () => {
    const groups = ofType(template, 'AWS::Logs::LogGroup');
    for (const [id, props] of groups) expect([id, props.RetentionInDays]).toEqual([id, 30]);
  });

  test('every Lambda function has 128 MB (a Synthetics canary is not one: Synthetics requires at least 960 MB)', () => {
    for (const [id, props] of ofType(template, 'AWS::Lambda::Function'))
      expect([id, props.MemorySize]).toEqual([id, 128]);
    // The one documented exception, stated rather than hidden: the canary runs on Synthetics' own function.
    for (const [id, props] of ofType(template, 'AWS::Synthetics::Canary')) {
      expect([id, (props.RunConfig as { MemoryInMB: number }).MemoryInMB]).toEqual([id, CANARY_MEMORY_MB]);
    }
  });

  test('every metric alarm treats missing data as breaching', () => {
    for (const [id, props] of ofType(template, 'AWS::CloudWatch::Alarm')) {
      expect([id, props.TreatMissingData]).toEqual([id, 'breaching']);
    }
  });

  test('every SNS topic uses alias/aws/sns and there is no KMS key', () => {
    for (const [id, props] of ofType(template, 'AWS::SNS::Topic')) {
      expect([id, props.KmsMasterKeyId]).toEqual([id, SNS_MANAGED_KEY_ALIAS]);
    }
    expect(ofType(template, 'AWS::KMS::Key')).toEqual([]);
  });

  test('every metric filter matches exactly (JSON equality or numeric terms, no wildcards); counts default to 0, values have no default', () => {
    const exactTerm = /^\(?\$\.[A-Za-z0-9_.]+ (= "[^"*?%]+"|>= (\d+|\$\{[A-Za-z]+\}))\)?$/;
    for (const [id, props] of ofType(template, 'AWS::Logs::MetricFilter')) {
      const pattern = render(props.FilterPattern);
      expect(pattern).not.toMatch(/\*|%/);
      expect(pattern).toMatch(/^\{ .+ \}$/);
      const terms = pattern.slice(2, -2).split(/ \|\| | && /);
      for (const term of terms) expect([id, term]).toEqual([id, expect.stringMatching(exactTerm)]);
      for (const t of props.MetricTransformations as { DefaultValue?: number; MetricValue: string }[]) {
        // A default value would publish zeros into a value distribution and falsify its percentiles.
        expect([id, t.MetricValue, t.DefaultValue]).toEqual([id, t.MetricValue, t.MetricValue === '1' ? 0 : undefined]);
      }
    }
  });

  test('no resource is retained or snapshotted on delete', () => {
    for (const [id, r] of Object.entries(resources(template))) {
      expect([id, r.DeletionPolicy ?? 'Delete']).toEqual([
        id,
        expect.not.stringMatching(/Retain|Snapshot|RetainExceptOnCreate/),
      ]);
      expect([id, r.UpdateReplacePolicy ?? 'Delete']).toEqual([id, expect.not.stringMatching(/Retain|Snapshot/)]);
    }
  });

  test('every physical name includes the environment suffix', () => {
    for (const [id, r] of Object.entries(resources(template))) {
      if (UNNAMED_TYPES.has(r.Type)) continue;
      const nameProps = PHYSICAL_NAME_PROPERTIES[r.Type];
      expect([id, r.Type, nameProps !== undefined]).toEqual([id, r.Type, true]);
      for (const prop of nameProps) {
        const value = r.Properties?.[prop] as { 'Fn::If'?: [string, unknown, unknown] } | undefined;
        // A name chosen by a condition (the silence alarm's critical name): each alternative carries the suffix.
        const names = value?.['Fn::If'] ? value['Fn::If'].slice(1).map(render) : [render(value)];
        for (const name of names) {
          expect([id, name]).toEqual([id, expect.stringMatching(new RegExp(`(^|[-/])${SUFFIX}($|-)`))]);
        }
      }
    }
  });

  test('no IAM statement allows "*" or "service:*" actions', () => {
    const statements = policyStatements(template).filter(({ statement }) => statement.Effect === 'Allow');
    for (const { where, statement } of statements) {
      for (const action of asArray(statement.Action as string | string[])) {
        expect([where, action]).toEqual([where, expect.not.stringMatching(/^\*$|:\*$/)]);
      }
      expect(statement.NotAction).toBeUndefined();
    }
  });

  test('every trust policy is conditioned (source account, organization or external id)', () => {
    const trusts = policyStatements(template).filter(({ where }) => where.endsWith('AssumeRolePolicyDocument'));
    for (const { where, statement } of trusts) {
      expect([where, statement.Condition]).toEqual([where, expect.anything()]);
    }
  });
});

test('the hub is in us-east-1 and the member template is environment-agnostic', () => {
  const { hub } = synthesize();
  expect(hub.region).toBe('us-east-1');
  expect(JSON.stringify(memberTemplate.toJSON())).not.toMatch(
    /us-east-1:111111111111|arn:aws:[a-z]+:[a-z0-9-]+:\d{12}/,
  );
});

test('the checks above are exercised: the templates hold what they check', () => {
  expect(ofType(hubTemplate, 'AWS::Lambda::Function')).toHaveLength(2);
  expect(nestedTemplates).toHaveLength(1);
  expect(ofType(memberTemplate, 'AWS::CloudWatch::Alarm').length).toBeGreaterThanOrEqual(4);
  expect(ofType(full.hubTemplate, 'AWS::Synthetics::Canary')).toHaveLength(1);
  expect(ofType(full.hubTemplate, 'AWS::Scheduler::Schedule').length).toBeGreaterThanOrEqual(5);
  expect(ofType(hubTemplate, 'AWS::Logs::LogGroup').length).toBeGreaterThanOrEqual(2);
  expect(ofType(memberTemplate, 'AWS::Logs::LogGroup').length).toBeGreaterThanOrEqual(1);
  expect(ofType(memberTemplate, 'AWS::Logs::MetricFilter').length).toBeGreaterThanOrEqual(4);
  for (const t of [hubTemplate, memberTemplate]) {
    expect(policyStatements(t).some(({ where }) => where.endsWith('AssumeRolePolicyDocument'))).toBe(true);
  }
});

test('the cross-account role is named MonitoringRole-<AccountId>-<suffix>', () => {
  const roles = ofType(memberTemplate, 'AWS::IAM::Role').map(([, props]) => render(props.RoleName));
  expect(roles).toContain(`MonitoringRole-\${AWS::AccountId}-${SUFFIX}`);
});

test('the dashboard shows metrics from at least 3 member accounts', () => {
  const [[, page]] = ofType(nestedTemplates[0], 'AWS::CloudWatch::Dashboard');
  const body = JSON.parse(render(page.DashboardBody));
  const accountIds = new Set<string>();
  for (const widget of body.widgets) {
    for (const metric of widget.properties?.metrics ?? []) {
      const options = metric[metric.length - 1];
      if (options && typeof options === 'object' && options.accountId) accountIds.add(options.accountId);
    }
  }
  expect(accountIds.size).toBeGreaterThanOrEqual(3);
});
