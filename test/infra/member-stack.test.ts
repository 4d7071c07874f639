import { MONITORING_READ_ACTIONS } from '../../lib/member-account-stack';
import { APP_METRIC_FILTERS, APP_METRIC_NAMESPACE } from '../../lib/metrics';
import { asArray, ofType, policyStatements, render, resources, synthesize } from './support';

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
    ]),
  );
  expect(json.Parameters.OamSinkArn.Default).toBeUndefined();
  expect(json.Parameters.HubEventBusArn.Default).toBeUndefined();
  expect(json.Parameters.VpcId.Default).toBe('');
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

  test('can read metrics, alarms and logs but never write: only Get/List/Describe/Filter/query actions', () => {
    const [[, policy]] = ofType(template, 'AWS::IAM::ManagedPolicy').filter(
      ([, p]) => p.ManagedPolicyName === 'policy-monitoring-read-dev',
    );
    expect(render(asArray(role.ManagedPolicyArns as unknown[])[0])).toContain('MonitoringPolicy');
    const statements = (policy.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] })
      .Statement;
    const actions = statements.flatMap((s) => asArray(s.Action));
    expect(actions.sort()).toEqual(Object.values(MONITORING_READ_ACTIONS).flat().sort());
    for (const action of actions) {
      expect(action).toMatch(/^(cloudwatch|logs):(Get|List|Describe|Filter|StartQuery$|StopQuery$)/);
    }
    // Scoped wherever the action supports resource-level permissions.
    const scoped = statements.filter((s) =>
      asArray(s.Action).some((a) => MONITORING_READ_ACTIONS.logGroups.includes(a)),
    );
    expect(render(scoped[0].Resource)).toBe('arn:${AWS::Partition}:logs:*:${AWS::AccountId}:log-group:*');
  });

  test('is created once per account, in the hub region (IAM names are global)', () => {
    expect(resources(template)[roleId].Condition).toBe('IsHubRegion');
    expect(json.Conditions.IsHubRegion).toEqual({ 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'us-east-1'] });
  });
});

test('links to the hub sink for metrics, log groups and traces', () => {
  template.hasResourceProperties('AWS::Oam::Link', {
    SinkIdentifier: { Ref: 'OamSinkArn' },
    ResourceTypes: ['AWS::CloudWatch::Metric', 'AWS::Logs::LogGroup', 'AWS::XRay::Trace'],
  });
});

test('application log groups with exact-match metric filters feeding the hub metrics', () => {
  template.hasResourceProperties('AWS::Logs::LogGroup', {
    LogGroupName: '/observability/app/payments-api-dev',
    RetentionInDays: 30,
  });
  const filters = ofType(template, 'AWS::Logs::MetricFilter');
  expect(filters.map(([, p]) => p.FilterPattern).sort()).toEqual(
    Object.values(APP_METRIC_FILTERS)
      .map((f) => f.filterPattern)
      .sort(),
  );
  for (const [, p] of filters) {
    expect(p.MetricTransformations).toEqual([
      expect.objectContaining({ MetricNamespace: APP_METRIC_NAMESPACE, DefaultValue: 0 }),
    ]);
  }
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

test('interface endpoints for monitoring, logs and sns exist only when a VPC is given', () => {
  const endpoints = ofType(template, 'AWS::EC2::VPCEndpoint');
  expect(endpoints.map(([, p]) => render(p.ServiceName)).sort()).toEqual(
    ['logs', 'monitoring', 'sns'].map((s) => `com.amazonaws.\${AWS::Region}.${s}`),
  );
  for (const [id] of [...endpoints, ...ofType(template, 'AWS::EC2::SecurityGroup')]) {
    expect(resources(template)[id].Condition).toBe('HasVpc');
  }
  expect(json.Conditions.HasVpc).toEqual({ 'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'VpcId' }, ''] }] });
  const [[, sg]] = ofType(template, 'AWS::EC2::SecurityGroup');
  expect(sg.SecurityGroupIngress).toEqual([
    expect.objectContaining({ FromPort: 443, ToPort: 443, CidrIp: { Ref: 'VpcCidr' } }),
  ]);
});

test('an SSM association installs the CloudWatch agent and configures it from an AmazonCloudWatch- parameter', () => {
  const [[, parameter]] = ofType(template, 'AWS::SSM::Parameter');
  expect(parameter.Name).toBe('AmazonCloudWatch-observability-dev');
  const agentConfig = JSON.parse(parameter.Value as string);
  expect(agentConfig.metrics.metrics_collected).toHaveProperty('mem');
  const [[docId, document]] = ofType(template, 'AWS::SSM::Document');
  const steps = (
    document.Content as {
      mainSteps: { inputs: { documentPath: string; documentParameters: Record<string, unknown> } }[];
    }
  ).mainSteps;
  expect(steps.map((s) => s.inputs.documentPath)).toEqual(['AWS-ConfigureAWSPackage', 'AmazonCloudWatch-ManageAgent']);
  expect(steps[0].inputs.documentParameters).toEqual({ action: 'Install', name: 'AmazonCloudWatchAgent' });
  expect(steps[1].inputs.documentParameters).toMatchObject({
    action: 'configure',
    optionalConfigurationSource: 'ssm',
    optionalConfigurationLocation: { Ref: 'CloudWatchAgentConfig' },
  });
  template.hasResourceProperties('AWS::SSM::Association', {
    AssociationName: 'ssm-cloudwatch-agent-dev',
    Name: { Ref: docId },
    Targets: [
      {
        Key: { 'Fn::Join': ['', ['tag:', { Ref: 'CloudWatchAgentTagKey' }]] },
        Values: [{ Ref: 'CloudWatchAgentTagValue' }],
      },
    ],
  });
});

test('a Contributor Insights rule finds who is throttled in the application logs, by service and operation, and is alarmed', () => {
  const [[, rule]] = ofType(template, 'AWS::CloudWatch::InsightRule');
  const body = JSON.parse(render(rule.RuleBody));
  expect(body.Contribution.Keys).toEqual(['$.service', '$.operation']);
  expect(body.Contribution.Filters).toEqual([
    { Match: '$.errorCode', In: expect.arrayContaining(['ThrottlingException', 'TooManyRequestsException']) },
  ]);
  expect(body.LogGroupNames).toEqual([expect.stringMatching(/^\$\{AppLogGrouppaymentsapi/)]);
  const [[, alarm]] = ofType(template, 'AWS::CloudWatch::Alarm');
  expect(JSON.stringify(alarm.Metrics)).toContain("FILL(INSIGHT_RULE_METRIC('insight-app-throttling-dev', 'Sum'), 0)");
  expect(alarm.TreatMissingData).toBe('breaching');
});
