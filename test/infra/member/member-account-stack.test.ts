import { MONITORING_READ_ACTIONS } from '../../../lib/member/monitoring-role';
import { APP_METRIC_FILTERS, APP_METRIC_NAMESPACE, SLOW_PAYMENT_FILTER } from '../../../lib/metrics';
import { asArray, ofType, policyStatements, render, resources, synthesize } from '../support';

const { memberTemplate: template } = synthesize();
const json = template.toJSON();

test('has no file assets (StackSet assets need extra buckets)', () => {
  expect(JSON.stringify(json)).not.toMatch(/AssetParameters|cdk-hnb659fds-assets|S3Bucket|aws:asset/);
  expect(ofType(template, 'AWS::Lambda::Function')).toEqual([]);
});

test('every per-account difference is a parameter; the hub-set ones have no usable defaults', () => {
  expect(Object.keys(json.Parameters)).toEqual(
    expect.arrayContaining([
      'HubAccountId',
      'OrganizationId',
      'MonitoringExternalId',
      'OamSinkArn',
      'HubEventBusArn',
      'VpcId',
      'VpcCidr',
      'SubnetIds',
      'VpcRegion',
      'VpcPrivateDns',
      'ErrorThreshold',
      'LatencyThresholdMs',
      'ThrottledCallsThreshold',
      'SilencePeriods',
      'SilenceIsCritical',
    ]),
  );
  expect(json.Parameters.OamSinkArn.Default).toBeUndefined();
  expect(json.Parameters.HubEventBusArn.Default).toBeUndefined();
  expect(json.Parameters.VpcId.Default).toBe('');
  expect(json.Parameters.SilenceIsCritical).toMatchObject({ Default: 'false', AllowedValues: ['true', 'false'] });
  expect(json.Parameters.SilencePeriods).toMatchObject({ Type: 'Number', Default: 12 });
});

describe('monitoring role', () => {
  const [[roleId, role]] = ofType(template, 'AWS::IAM::Role').filter(([, p]) =>
    render(p.RoleName).startsWith('MonitoringRole-'),
  );

  test('is assumable only by the hub account with the external id, as a member of the organization', () => {
    expect(render(role.RoleName)).toBe('MonitoringRole-${AWS::AccountId}-dev');
    const [trust] = (role.AssumeRolePolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
    expect(trust).toMatchObject({
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Condition: {
        StringEquals: {
          'sts:ExternalId': { Ref: 'MonitoringExternalId' },
          'aws:PrincipalOrgID': { Ref: 'OrganizationId' },
        },
      },
    });
    expect(render((trust.Principal as { AWS: unknown }).AWS)).toBe('arn:${AWS::Partition}:iam::${HubAccountId}:root');
  });

  test('can read metrics, alarms and logs but never write; DescribeAlarmsForMetric (no resource type) on *', () => {
    const [[, policy]] = ofType(template, 'AWS::IAM::ManagedPolicy').filter(
      ([, p]) => p.ManagedPolicyName === 'policy-monitoring-read-dev',
    );
    const statements = (policy.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] })
      .Statement;
    const actions = statements.flatMap((s) => asArray(s.Action));
    expect(actions.sort()).toEqual(Object.values(MONITORING_READ_ACTIONS).flat().sort());
    for (const action of actions) {
      expect(action).toMatch(/^(cloudwatch|logs):(Get|List|Describe|Filter|StartQuery$|StopQuery$)/);
    }
    const onAnything = statements.filter((s) => s.Resource === '*').flatMap((s) => asArray(s.Action));
    expect(onAnything).toContain('cloudwatch:DescribeAlarmsForMetric');
    const onAlarms = statements.find((s) => render(s.Resource).includes(':alarm:'))!;
    expect(asArray(onAlarms.Action).sort()).toEqual(['cloudwatch:DescribeAlarmHistory', 'cloudwatch:DescribeAlarms']);
  });

  test('is created once per account, in the hub region (IAM names are global)', () => {
    expect(resources(template)[roleId].Condition).toBe('IsHubRegion');
    expect(json.Conditions.IsHubRegion).toEqual({ 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] });
  });
});

test('links to the hub sink for metrics, log groups and traces, only in the sink region (OAM is regional)', () => {
  const [[id, link]] = ofType(template, 'AWS::Oam::Link');
  expect(link).toMatchObject({
    SinkIdentifier: { Ref: 'OamSinkArn' },
    ResourceTypes: ['AWS::CloudWatch::Metric', 'AWS::Logs::LogGroup', 'AWS::XRay::Trace'],
  });
  expect(resources(template)[id].Condition).toBe('IsHubRegion');
});

test('application log groups with exact-match metric filters: counts default to 0, latency has no default', () => {
  template.hasResourceProperties('AWS::Logs::LogGroup', {
    LogGroupName: '/observability/app/payments-api-dev',
    RetentionInDays: 30,
  });
  const filters = ofType(template, 'AWS::Logs::MetricFilter');
  const byMetric = Object.fromEntries(
    filters.map(([, p]) => [(p.MetricTransformations as { MetricName: string }[])[0].MetricName, p]),
  );
  for (const filter of Object.values(APP_METRIC_FILTERS)) {
    expect(byMetric[filter.metricName].FilterPattern).toBe(filter.filterPattern);
  }
  const transformation = (metric: string) => (byMetric[metric].MetricTransformations as Record<string, unknown>[])[0];
  expect(transformation('PaymentLatency')).toEqual({
    MetricNamespace: APP_METRIC_NAMESPACE,
    MetricName: 'PaymentLatency',
    MetricValue: '$.latencyMs',
    Unit: 'Milliseconds',
  });
  for (const count of ['ErrorCount', 'PaymentCount', 'ThrottledCalls', 'SlowPaymentCount']) {
    expect(transformation(count)).toMatchObject({ MetricValue: '1', DefaultValue: 0 });
  }
  expect(render(byMetric[SLOW_PAYMENT_FILTER.metricName].FilterPattern)).toBe(
    '{ ($.event = "payment_processed") && ($.latencyMs >= ${LatencyThresholdMs}) }',
  );
});

describe('alarms in the account (zero-touch: an account the StackSet adds by itself is alarmed)', () => {
  const alarms = Object.fromEntries(
    ofType(template, 'AWS::CloudWatch::Alarm').map(([, p]) => [render(p.AlarmName), p]),
  );

  test('errors, latency (share of slow payments), silence and app throttling, on this account only', () => {
    expect(Object.keys(alarms).sort()).toEqual([
      '${If IsSilenceCritical alarm-silence-critical-dev | alarm-silence-dev}',
      'alarm-app-throttling-dev',
      'alarm-errors-dev',
      'alarm-latency-p99-dev',
    ]);
    for (const [name, alarm] of Object.entries(alarms)) {
      expect([name, JSON.stringify(alarm.Metrics)]).toEqual([name, expect.not.stringContaining('AccountId')]);
    }
    expect(alarms['alarm-errors-dev']).toMatchObject({
      Threshold: { Ref: 'ErrorThreshold' },
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
    });
    const latency = alarms['alarm-latency-p99-dev'];
    expect(latency).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanThreshold' });
    expect((latency.Metrics as { Expression?: string }[])[0].Expression).toBe(
      'IF(FILL(payments, 0) > 0, 100 * FILL(slow, 0) / FILL(payments, 0), 0)',
    );
  });

  test('silence is missing log events on purpose, over SilencePeriods five-minute periods', () => {
    const silence = alarms['${If IsSilenceCritical alarm-silence-critical-dev | alarm-silence-dev}'];
    expect(silence).toMatchObject({
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      EvaluationPeriods: { Ref: 'SilencePeriods' },
      DatapointsToAlarm: { Ref: 'SilencePeriods' },
      TreatMissingData: 'breaching',
    });
    expect(JSON.stringify(silence.Metrics)).toContain('IncomingLogEvents');
  });

  test('the degraded composite is errors AND latency of this same account', () => {
    const [[, degraded]] = ofType(template, 'AWS::CloudWatch::CompositeAlarm');
    expect(degraded.AlarmName).toBe('composite-payments-degraded-dev');
    expect(render(degraded.AlarmRule)).toMatch(
      /^\(ALARM\("\$\{Errors[0-9A-F]+\.Arn\}"\) AND ALARM\("\$\{LatencyP99[0-9A-F]+\.Arn\}"\)\)$/,
    );
  });

  test('a zero baseline every minute keeps the counts defined when no log events arrive', () => {
    const [[, schedule]] = ofType(template, 'AWS::Scheduler::Schedule');
    expect(schedule).toMatchObject({ ScheduleExpression: 'rate(1 minute)', FlexibleTimeWindow: { Mode: 'OFF' } });
    const target = schedule.Target as { Arn: string; Input: string };
    expect(target.Arn).toBe('arn:aws:scheduler:::aws-sdk:cloudwatch:putMetricData');
    expect(JSON.parse(target.Input)).toEqual({
      Namespace: APP_METRIC_NAMESPACE,
      MetricData: ['ErrorCount', 'PaymentCount', 'ThrottledCalls', 'SlowPaymentCount'].map((MetricName) => ({
        MetricName,
        Value: 0,
        Unit: 'Count',
      })),
    });
    const baseline = policyStatements(template).filter(
      ({ where }) =>
        where.startsWith('AccountAlarmsZeroBaselineRolePolicy') || where.startsWith('ZeroBaselineRolePolicy'),
    );
    expect(baseline.map(({ statement }) => [statement.Action, statement.Condition])).toEqual([
      ['cloudwatch:PutMetricData', { StringEquals: { 'cloudwatch:namespace': APP_METRIC_NAMESPACE } }],
    ]);
  });

  test('who is throttled: Contributor Insights over the application logs, by service and operation', () => {
    const rules = ofType(template, 'AWS::CloudWatch::InsightRule').map(([, p]) => JSON.parse(render(p.RuleBody)));
    expect(rules).toHaveLength(2);
    for (const body of rules) {
      expect(body.Contribution.Keys).toEqual(['$.service', '$.operation']);
      expect(body.LogGroupNames).toEqual([expect.stringMatching(/^\$\{AppLogGrouppaymentsapi/)]);
    }
  });
});

test('forwards its alarm state changes to the hub bus with a role limited to events:PutEvents on it', () => {
  const [[, rule]] = ofType(template, 'AWS::Events::Rule');
  expect(rule.EventPattern).toEqual({ source: ['aws.cloudwatch'], 'detail-type': ['CloudWatch Alarm State Change'] });
  expect((rule.Targets as { Arn: unknown }[])[0].Arn).toEqual({ Ref: 'HubEventBusArn' });
  const forwarder = policyStatements(template).filter(({ where }) => where.startsWith('AlarmForwarderPolicy'));
  expect(forwarder.map(({ statement }) => [statement.Action, statement.Resource])).toEqual([
    ['events:PutEvents', { Ref: 'HubEventBusArn' }],
  ]);
});

test('interface endpoints for monitoring, logs and sns only with a VPC, only in its region, private DNS by parameter', () => {
  const endpoints = ofType(template, 'AWS::EC2::VPCEndpoint');
  expect(endpoints.map(([, p]) => render(p.ServiceName)).sort()).toEqual(
    ['logs', 'monitoring', 'sns'].map((s) => `com.amazonaws.\${AWS::Region}.${s}`),
  );
  for (const [id, p] of endpoints) {
    expect(resources(template)[id].Condition).toBe('HasVpc');
    expect(p.PrivateDnsEnabled).toEqual({ 'Fn::If': ['PrivateDns', true, false] });
  }
  expect(json.Conditions.HasVpc).toEqual({
    'Fn::And': [
      { 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'VpcId' }, ''] }] },
      { 'Fn::Equals': [{ Ref: 'AWS::Region' }, { Ref: 'VpcRegion' }] },
    ],
  });
  const [[, sg]] = ofType(template, 'AWS::EC2::SecurityGroup');
  expect(sg.SecurityGroupIngress).toEqual([
    expect.objectContaining({ FromPort: 443, ToPort: 443, CidrIp: { Ref: 'VpcCidr' } }),
  ]);
});

test('an SSM association installs the CloudWatch agent and configures it from an AmazonCloudWatch- parameter', () => {
  const [[, parameter]] = ofType(template, 'AWS::SSM::Parameter');
  expect(parameter.Name).toBe('AmazonCloudWatch-observability-dev');
  expect(JSON.parse(parameter.Value as string).metrics.metrics_collected).toHaveProperty('mem');
  const [[docId, document]] = ofType(template, 'AWS::SSM::Document');
  const steps = (
    document.Content as {
      mainSteps: { inputs: { documentPath: string; documentParameters: Record<string, unknown> } }[];
    }
  ).mainSteps;
  expect(steps.map((s) => s.inputs.documentPath)).toEqual(['AWS-ConfigureAWSPackage', 'AmazonCloudWatch-ManageAgent']);
  expect(steps[1].inputs.documentParameters).toMatchObject({
    action: 'configure',
    optionalConfigurationSource: 'ssm',
    optionalConfigurationLocation: { Ref: 'CloudWatchAgentConfig' },
  });
  template.hasResourceProperties('AWS::SSM::Association', {
    AssociationName: 'ssm-cloudwatch-agent-dev',
    Name: { Ref: docId },
  });
});

test('resources that 0.1 deployed keep their logical ids (all are named or account-wide singletons)', () => {
  // From the 0.1 member template: a new logical id would make CloudFormation create a second resource with the
  // same name (or a second OAM link / private-DNS endpoint) before deleting the first, which fails.
  const ids010 = [
    'MonitoringPolicy8A6AE6F2',
    'MonitoringRoleD3E808C7',
    'OamLink',
    'AppLogGrouppaymentsapiEB119179',
    'paymentsapiErrorCountE7773070',
    'paymentsapiPaymentLatency281BA693',
    'paymentsapiPaymentCount76E2BD12',
    'paymentsapiThrottledCalls391F56D7',
    'AppThrottlingRule8860B4BD',
    'AppThrottlingAlarm103D2439',
    'AlarmForwarderPolicy11A9D486',
    'AlarmForwarderRole18AA32D3',
    'ForwardAlarmStateChangesD388B73C',
    'EndpointSecurityGroup',
    'Endpointmonitoring',
    'Endpointlogs',
    'Endpointsns',
    'CloudWatchAgentConfig',
    'CloudWatchAgentDocument',
    'CloudWatchAgentAssociation',
  ];
  expect(Object.keys(resources(template))).toEqual(expect.arrayContaining(ids010));
});
