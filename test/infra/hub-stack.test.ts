import { Match } from 'aws-cdk-lib/assertions';
import { ASYNC_RETRY_ATTEMPTS } from '../../lib/constructs/incident-pipeline';
import { SHARED_TELEMETRY_TYPES } from '../../lib/constructs/telemetry-sink';
import { EXAMPLE_CONFIG } from '../../lib/config';
import { ofType, render, resources, synthesize } from './support';

const { hubWithNested: template } = synthesize();
const orgId = EXAMPLE_CONFIG.organizationId;

describe('cross-account telemetry', () => {
  test('the OAM sink admits only the organization, for metrics, logs and traces', () => {
    template.hasResourceProperties('AWS::Oam::Sink', {
      Name: 'sink-observability-dev',
      Policy: {
        Statement: [
          Match.objectLike({
            Effect: 'Allow',
            Action: ['oam:CreateLink', 'oam:UpdateLink'],
            Condition: {
              StringEquals: { 'aws:PrincipalOrgID': orgId },
              'ForAllValues:StringEquals': { 'oam:ResourceTypes': SHARED_TELEMETRY_TYPES },
            },
          }),
        ],
      },
    });
    expect(SHARED_TELEMETRY_TYPES).toEqual(['AWS::CloudWatch::Metric', 'AWS::Logs::LogGroup', 'AWS::XRay::Trace']);
  });
});

describe('alarms', () => {
  const alarms = ofType(template, 'AWS::CloudWatch::Alarm');
  const composites = ofType(template, 'AWS::CloudWatch::CompositeAlarm');

  test('every member account gets error, latency and throttling alarms on its own metrics (AccountId)', () => {
    for (const account of EXAMPLE_CONFIG.memberAccounts) {
      for (const purpose of ['errors', 'latency-p99', 'throttling']) {
        const [[, alarm]] = alarms.filter(([, p]) => p.AlarmName === `alarm-${purpose}-${account.name}-dev`);
        const metrics = alarm.Metrics as { AccountId?: string; MetricStat?: unknown }[];
        expect(metrics.find((m) => m.MetricStat)?.AccountId).toBe(account.id);
      }
    }
  });

  // Composite rules reference alarms by ARN (GetAtt); read them back as alarm names.
  const byLogicalId = resources(template);
  const ruleText = (rule: unknown) =>
    render(rule)
      .replace(/\$\{([A-Za-z0-9]+)\.Arn\}/g, (_m, id: string) =>
        String((byLogicalId[id] ?? byLogicalId[`Nested1${id}`]).Properties?.AlarmName),
      )
      .replace(/arn:\$\{AWS::Partition\}:cloudwatch:us-east-1:111111111111:alarm:/g, '');

  test('per-account composites combine errors AND latency; the platform composite covers every account', () => {
    for (const account of EXAMPLE_CONFIG.memberAccounts) {
      const [[, composite]] = composites.filter(
        ([, p]) => p.AlarmName === `composite-errors-and-latency-${account.name}-dev`,
      );
      expect(ruleText(composite.AlarmRule)).toBe(
        `(ALARM("alarm-errors-${account.name}-dev") AND ALARM("alarm-latency-p99-${account.name}-dev"))`,
      );
    }
    const [[, platform]] = composites.filter(([, p]) => p.AlarmName === 'composite-platform-critical-dev');
    const rule = ruleText(platform.AlarmRule);
    for (const account of EXAMPLE_CONFIG.memberAccounts) {
      expect(rule).toContain(`ALARM("composite-errors-and-latency-${account.name}-dev")`);
    }
    expect(rule.split(' OR ')).toHaveLength(EXAMPLE_CONFIG.memberAccounts.length);
  });

  test('no alarm has actions: state changes reach the handler through EventBridge, never the alias/aws/sns topic', () => {
    for (const [id, props] of [...alarms, ...composites]) {
      expect([id, props.AlarmActions, props.OKActions, props.InsufficientDataActions]).toEqual([
        id,
        undefined,
        undefined,
        undefined,
      ]);
    }
  });
});

describe('alert topic', () => {
  test('is sns-alerts-<suffix>, encrypted with alias/aws/sns, with the configured email subscriptions', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { TopicName: 'sns-alerts-dev', KmsMasterKeyId: 'alias/aws/sns' });
    const subscriptions = ofType(template, 'AWS::SNS::Subscription').map(([, p]) => [p.Protocol, p.Endpoint]);
    expect(subscriptions).toEqual(EXAMPLE_CONFIG.alertEmails.map((email) => ['email', email]));
  });

  test('its policy denies publishing without TLS', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  test('only the incident handler may publish to it', () => {
    const publishers = ofType(template, 'AWS::IAM::ManagedPolicy').filter(([, p]) =>
      JSON.stringify(p.PolicyDocument).includes('sns:Publish'),
    );
    expect(publishers.map(([, p]) => p.ManagedPolicyName)).toEqual(['policy-jira-incident-dev']);
  });
});

describe('audit trail', () => {
  test('a hub bus that organization members may put events on', () => {
    template.hasResourceProperties('AWS::Events::EventBus', { Name: 'bus-observability-dev' });
    template.hasResourceProperties('AWS::Events::EventBusPolicy', {
      Statement: Match.objectLike({
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Condition: { StringEquals: { 'aws:PrincipalOrgID': orgId } },
      }),
    });
  });

  test('every alarm state change goes to /aws/events/alarm-audit-<suffix> (30 days) and an archive', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/events/alarm-audit-dev',
      RetentionInDays: 30,
    });
    const [[, rule]] = ofType(template, 'AWS::Events::Rule').filter(([, p]) => p.Name === 'rule-alarm-audit-dev');
    expect(rule.EventPattern).toEqual({ source: ['aws.cloudwatch'], 'detail-type': ['CloudWatch Alarm State Change'] });
    expect(render((rule.Targets as { Arn: unknown }[])[0].Arn)).toMatch(
      /:logs:us-east-1:111111111111:log-group:\$\{AuditTrailLogGroup/,
    );
    template.hasResourceProperties('AWS::Events::Archive', {
      ArchiveName: 'archive-alarm-audit-dev',
      EventPattern: { source: ['aws.cloudwatch'], 'detail-type': ['CloudWatch Alarm State Change'] },
    });
  });

  test('the log group policy admits EventBridge for that rule only, without a custom-resource Lambda', () => {
    const [[, policy]] = ofType(template, 'AWS::Logs::ResourcePolicy');
    const document = JSON.parse(render(policy.PolicyDocument));
    expect(document.Statement[0]).toMatchObject({
      Principal: { Service: 'events.amazonaws.com' },
      Condition: { ArnEquals: { 'aws:SourceArn': expect.stringContaining('AuditTrailRule') } },
    });
    expect(ofType(template, 'AWS::Lambda::Function')).toHaveLength(1);
  });

  test("the hub's own alarm state changes are forwarded to the hub bus", () => {
    const [[, rule]] = ofType(template, 'AWS::Events::Rule').filter(
      ([, p]) => p.Name === 'rule-forward-hub-alarms-dev',
    );
    expect(rule.EventBusName).toBeUndefined();
    expect(render((rule.Targets as { Arn: unknown }[])[0].Arn)).toContain('AuditTrailBus');
  });
});

describe('API throttling analysis', () => {
  const rules = ofType(template, 'AWS::CloudWatch::InsightRule');

  test('Contributor Insights rules on CloudTrail errorCode and "Rate exceeded", keyed by service and operation', () => {
    const bodies = rules.map(([, p]) => JSON.parse(p.RuleBody as string));
    expect(bodies).toHaveLength(2);
    for (const body of bodies) {
      expect(body.Contribution.Keys).toEqual(['$.eventSource', '$.eventName']);
      expect(body.LogGroupNames).toEqual(['aws-controltower/CloudTrailLogs']);
    }
    expect(bodies[0].Contribution.Filters[0]).toEqual({
      Match: '$.errorCode',
      In: expect.arrayContaining([
        'ThrottlingException',
        'Throttling',
        'TooManyRequestsException',
        'RequestLimitExceeded',
      ]),
    });
    expect(bodies[1].Contribution.Filters[0]).toEqual({ Match: '$.errorMessage', StartsWith: ['Rate exceeded'] });
  });

  test('each rule is alarmed on with INSIGHT_RULE_METRIC and shown on the dashboard', () => {
    const body = JSON.stringify(ofType(template, 'AWS::CloudWatch::Dashboard').map(([, p]) => render(p.DashboardBody)));
    for (const [, rule] of rules) {
      const name = rule.RuleName as string;
      const alarm = ofType(template, 'AWS::CloudWatch::Alarm').find(([, p]) =>
        JSON.stringify(p.Metrics).includes(`INSIGHT_RULE_METRIC('${name}', 'Sum')`),
      );
      expect(alarm).toBeDefined();
      expect(body).toContain(`INSIGHT_RULE_METRIC('${name}'`);
      expect(body).toContain(`\\"ruleName\\":\\"${name}\\"`);
    }
  });
});

describe('incident pipeline', () => {
  test('the handler: NodejsFunction bundle, 128 MB, newest Node.js LTS, arm64, own 30-day log group', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      FunctionName: 'lambda-jira-incident-dev',
      MemorySize: 128,
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      LoggingConfig: Match.objectLike({ LogGroup: Match.anyValue(), LogFormat: 'JSON' }),
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/lambda/lambda-jira-incident-dev',
      RetentionInDays: 30,
    });
  });

  test('environment variables of the contract, set from the resources the stack creates', () => {
    const [[, fn]] = ofType(template, 'AWS::Lambda::Function');
    const env = (fn.Environment as { Variables: Record<string, unknown> }).Variables;
    expect(Object.keys(env).sort()).toEqual(
      [
        'ALERT_TOPIC_ARN',
        'INCIDENT_TABLE_NAME',
        'JIRA_BASE_URL',
        'JIRA_ISSUE_TYPE',
        'JIRA_PROJECT_KEY',
        'JIRA_RESOLVE_TRANSITION',
        'JIRA_SECRET_ARN',
        'JIRA_TICKET_ALARM_PATTERN',
        'NODE_OPTIONS',
        'POWERTOOLS_SERVICE_NAME',
      ].sort(),
    );
    expect(env.ALERT_TOPIC_ARN).toEqual({ Ref: expect.stringMatching(/^AlertTopic/) });
    expect(env.INCIDENT_TABLE_NAME).toEqual({ Ref: expect.stringMatching(/^IncidentPipelineIncidents/) });
    expect(env.JIRA_SECRET_ARN).toBe(EXAMPLE_CONFIG.jira.secretArn);
    expect(env.JIRA_BASE_URL).toBe('https://example.atlassian.net');
    expect(new RegExp(env.JIRA_TICKET_ALARM_PATTERN as string).test('composite-platform-critical-dev')).toBe(true);
    expect(new RegExp(env.JIRA_TICKET_ALARM_PATTERN as string).test('alarm-errors-ledger-dev')).toBe(false);
    expect(JSON.stringify(env)).not.toMatch(/apiToken|password/i);
  });

  test('every alarm state change on the hub bus reaches the handler, with retries and a DLQ', () => {
    const [[, rule]] = ofType(template, 'AWS::Events::Rule').filter(([, p]) => p.Name === 'rule-alarm-incidents-dev');
    expect(rule.EventPattern).toEqual({ source: ['aws.cloudwatch'], 'detail-type': ['CloudWatch Alarm State Change'] });
    expect(rule.EventBusName).toEqual({ Ref: expect.stringMatching(/^AuditTrailBus/) });
    expect((rule.Targets as unknown[])[0]).toMatchObject({
      Arn: { 'Fn::GetAtt': [expect.stringMatching(/^IncidentPipelineHandler/), 'Arn'] },
      RetryPolicy: { MaximumRetryAttempts: 20, MaximumEventAgeInSeconds: 86400 },
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [expect.stringMatching(/^IncidentPipelineDeadLetterQueue/), 'Arn'] } },
    });
  });

  test('failed invocations go to the SQS dead-letter queue (on-failure destination)', () => {
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      MaximumRetryAttempts: ASYNC_RETRY_ATTEMPTS,
      DestinationConfig: {
        OnFailure: {
          Destination: { 'Fn::GetAtt': [Match.stringLikeRegexp('^IncidentPipelineDeadLetterQueue'), 'Arn'] },
        },
      },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      QueueName: 'sqs-incident-dlq-dev',
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1209600,
    });
  });

  test('the incident table: on-demand, pk + TTL, suffix-named, destroyable', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      Properties: {
        TableName: 'ddb-incidents-dev',
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      },
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
    });
  });

  test('the handler role has exactly the permissions it needs', () => {
    const [[, policy]] = ofType(template, 'AWS::IAM::ManagedPolicy').filter(
      ([, p]) => p.ManagedPolicyName === 'policy-jira-incident-dev',
    );
    const statements = (policy.PolicyDocument as { Statement: { Sid: string; Action: string | string[] }[] }).Statement;
    const sorted = (action: string | string[]) => (Array.isArray(action) ? [...action].sort() : action);
    expect(Object.fromEntries(statements.map((s) => [s.Sid, sorted(s.Action)]))).toEqual({
      WriteOwnLogs: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      IncidentRecords: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      EmailAlerts: 'sns:Publish',
      JiraCredentials: 'secretsmanager:GetSecretValue',
      OnFailureDestination: 'sqs:SendMessage',
    });
    expect(ofType(template, 'AWS::IAM::Policy')).toEqual([]);
  });

  test('the pipeline watches itself: DLQ depth and handler errors', () => {
    const names = ofType(template, 'AWS::CloudWatch::Alarm').map(([, p]) => p.AlarmName);
    expect(names).toEqual(
      expect.arrayContaining(['alarm-incident-dlq-not-empty-dev', 'alarm-incident-handler-errors-dev']),
    );
  });
});

describe('member StackSet', () => {
  test('service-managed to the OUs with auto-deployment, CAPABILITY_NAMED_IAM and hub parameters', () => {
    const [[, stackSet]] = ofType(template, 'AWS::CloudFormation::StackSet');
    expect(stackSet).toMatchObject({
      StackSetName: 'stackset-member-observability-dev',
      PermissionModel: 'SERVICE_MANAGED',
      AutoDeployment: { Enabled: true, RetainStacksOnAccountRemoval: false },
      CallAs: 'DELEGATED_ADMIN',
      Capabilities: ['CAPABILITY_NAMED_IAM'],
      OperationPreferences: {
        FailureTolerancePercentage: 10,
        MaxConcurrentPercentage: 25,
        RegionConcurrencyType: 'PARALLEL',
      },
    });
    const parameters = Object.fromEntries(
      (stackSet.Parameters as { ParameterKey: string; ParameterValue: unknown }[]).map((p) => [
        p.ParameterKey,
        p.ParameterValue,
      ]),
    );
    expect(parameters).toMatchObject({
      OamSinkArn: { 'Fn::GetAtt': [expect.stringMatching(/^TelemetrySink/), 'Arn'] },
      HubEventBusArn: { 'Fn::GetAtt': [expect.stringMatching(/^AuditTrailBus/), 'Arn'] },
      HubAccountId: '111111111111',
      OrganizationId: orgId,
    });
  });

  test('per-account overrides: the VPC account gets its own OU+account instance group, the rest of the OU the defaults', () => {
    const [[, stackSet]] = ofType(template, 'AWS::CloudFormation::StackSet');
    expect(stackSet.StackInstancesGroup).toEqual([
      {
        Regions: ['us-east-1'],
        DeploymentTargets: {
          OrganizationalUnitIds: ['ou-ab12-paym0001'],
          AccountFilterType: 'DIFFERENCE',
          Accounts: ['222222222222'],
        },
      },
      {
        Regions: ['us-east-1'],
        DeploymentTargets: {
          OrganizationalUnitIds: ['ou-ab12-paym0001'],
          AccountFilterType: 'INTERSECTION',
          Accounts: ['222222222222'],
        },
        ParameterOverrides: [
          { ParameterKey: 'VpcId', ParameterValue: 'vpc-0a1b2c3d4e5f60718' },
          { ParameterKey: 'VpcCidr', ParameterValue: '10.20.0.0/16' },
          { ParameterKey: 'SubnetIds', ParameterValue: 'subnet-0a1b2c3d4e5f60718' },
        ],
      },
    ]);
  });

  test('self-managed: one instance group per listed account and an admin role limited to those accounts', () => {
    const { hubTemplate } = synthesize({ deployment: { permissionModel: 'SELF_MANAGED' } });
    const [[, stackSet]] = ofType(hubTemplate, 'AWS::CloudFormation::StackSet');
    expect(stackSet.PermissionModel).toBe('SELF_MANAGED');
    expect(stackSet.AutoDeployment).toBeUndefined();
    const groups = stackSet.StackInstancesGroup as {
      DeploymentTargets: { Accounts: string[] };
      ParameterOverrides?: unknown;
    }[];
    expect(groups.map((g) => g.DeploymentTargets.Accounts)).toEqual(EXAMPLE_CONFIG.memberAccounts.map((a) => [a.id]));
    expect(groups[0].ParameterOverrides).toHaveLength(3);
    expect(groups[1].ParameterOverrides).toBeUndefined();
    const [[, admin]] = ofType(hubTemplate, 'AWS::IAM::ManagedPolicy').filter(
      ([, p]) => p.ManagedPolicyName === 'policy-stackset-admin-dev',
    );
    const resourcesAllowed = (
      admin.PolicyDocument as { Statement: { Resource: unknown[] }[] }
    ).Statement[0].Resource.map(render);
    expect(resourcesAllowed).toEqual(
      EXAMPLE_CONFIG.memberAccounts.map(
        (a) => `arn:\${AWS::Partition}:iam::${a.id}:role/AWSCloudFormationStackSetExecutionRole`,
      ),
    );
    expect(JSON.stringify(resources(hubTemplate))).not.toContain('iam::*:role');
  });

  test('the StackSet template is the member stack, a file of the assembly, with no assets', () => {
    const [[, stackSet]] = ofType(template, 'AWS::CloudFormation::StackSet');
    expect(render(stackSet.TemplateURL)).toMatch(/\.json$/);
  });
});
