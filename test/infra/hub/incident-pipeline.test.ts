import { Match } from 'aws-cdk-lib/assertions';
import { BUFFER_MAX_RECEIVES, HANDLER_TIMEOUT } from '../../../lib/hub/incident-pipeline';
import { EXAMPLE_CONFIG } from '../../../lib/config';
import { FULL_FEATURES, ofType, render, synthesize } from '../support';

const { hubTemplate: template } = synthesize();
const handler = () =>
  ofType(template, 'AWS::Lambda::Function').find(([, p]) => p.FunctionName === 'lambda-jira-incident-dev')![1];

test('the handler: esbuild bundle, 128 MB, newest Node.js LTS, arm64, own 30-day log group, X-Ray tracing', () => {
  template.hasResourceProperties('AWS::Lambda::Function', {
    FunctionName: 'lambda-jira-incident-dev',
    MemorySize: 128,
    Runtime: 'nodejs24.x',
    Architectures: ['arm64'],
    Handler: 'index.handler',
    TracingConfig: { Mode: 'Active' },
    LoggingConfig: Match.objectLike({ LogGroup: Match.anyValue(), LogFormat: 'JSON' }),
  });
  template.hasResourceProperties('AWS::Logs::LogGroup', {
    LogGroupName: '/aws/lambda/lambda-jira-incident-dev',
    RetentionInDays: 30,
  });
  const { hubTemplate } = synthesize({ tracing: false });
  const [, untraced] = ofType(hubTemplate, 'AWS::Lambda::Function').find(
    ([, p]) => p.FunctionName === 'lambda-jira-incident-dev',
  )!;
  expect((untraced.TracingConfig as { Mode?: string } | undefined)?.Mode).not.toBe('Active');
});

test('environment variables of the contract, set from the resources the stack creates', () => {
  const env = (handler().Environment as { Variables: Record<string, unknown> }).Variables;
  expect(Object.keys(env)).toEqual(
    expect.arrayContaining([
      'ALERT_TOPIC_ARN',
      'INCIDENT_TABLE_NAME',
      'JIRA_BASE_URL',
      'JIRA_ISSUE_TYPE',
      'JIRA_PROJECT_KEY',
      'JIRA_RESOLVE_TRANSITION',
      'JIRA_SECRET_ARN',
      'JIRA_TICKET_ALARM_PATTERN',
      'DIGEST_QUEUE_URL',
      'BUFFER_QUEUE_URL',
      'RESOLVE_GRACE_SECONDS',
      'STORM_MAX_NEW_ISSUES',
      'STORM_WINDOW_SECONDS',
      'OPSCENTER_ENABLED',
      'MAINTENANCE_WINDOWS',
      'ACCOUNT_NAMES',
    ]),
  );
  expect(env.ALERT_TOPIC_ARN).toEqual({ Ref: expect.stringMatching(/^AlertTopic/) });
  expect(env.INCIDENT_TABLE_NAME).toEqual({ Ref: expect.stringMatching(/^IncidentPipelineIncidents/) });
  expect(env.JIRA_SECRET_ARN).toBe(EXAMPLE_CONFIG.jira.secretArn);
  expect(JSON.parse(env.ACCOUNT_NAMES as string)).toEqual({
    '222222222222': 'payments-prod',
    '333333333333': 'payments-gateway',
    '444444444444': 'ledger',
  });
  expect(JSON.stringify(env)).not.toMatch(/apiToken|password/i);
});

test('the default ticket pattern matches exactly the critical alarms: per-account degradation, critical silence, platform, canary', () => {
  const pattern = new RegExp(
    (handler().Environment as { Variables: Record<string, string> }).Variables.JIRA_TICKET_ALARM_PATTERN,
  );
  for (const name of [
    'composite-payments-degraded-dev',
    'alarm-silence-critical-dev',
    'composite-platform-critical-dev',
  ]) {
    expect([name, pattern.test(name)]).toEqual([name, true]);
  }
  for (const name of [
    'alarm-errors-dev',
    'alarm-latency-p99-dev',
    'alarm-silence-dev',
    'alarm-incident-dlq-not-empty-dev',
    'composite-payments-degraded-prod',
    'alarm-canary-payments-health-dev',
  ]) {
    expect([name, pattern.test(name)]).toEqual([name, false]);
  }
  const { hubTemplate } = synthesize({ canary: { healthUrl: 'https://payments.example.com/health' } });
  const [, fn] = ofType(hubTemplate, 'AWS::Lambda::Function').find(
    ([, p]) => p.FunctionName === 'lambda-jira-incident-dev',
  )!;
  expect(
    new RegExp((fn.Environment as { Variables: Record<string, string> }).Variables.JIRA_TICKET_ALARM_PATTERN).test(
      'alarm-canary-payments-health-dev',
    ),
  ).toBe(true);
});

test('alarm state changes wait in an SQS buffer, read with a bounded concurrency (the JIRA bound) and partial batch failures', () => {
  const [[, rule]] = ofType(template, 'AWS::Events::Rule').filter(([, p]) => p.Name === 'rule-alarm-incidents-dev');
  expect(rule.EventBusName).toEqual({ Ref: expect.stringMatching(/^AuditTrailBus/) });
  expect(rule.EventPattern).toEqual({
    source: ['aws.cloudwatch', 'observability.hub'],
    'detail-type': ['CloudWatch Alarm State Change', 'Maintenance Window Ended'],
  });
  expect((rule.Targets as unknown[])[0]).toMatchObject({
    Arn: { 'Fn::GetAtt': [expect.stringMatching(/^IncidentPipelineBuffer/), 'Arn'] },
    RetryPolicy: { MaximumRetryAttempts: 20, MaximumEventAgeInSeconds: 86400 },
    DeadLetterConfig: { Arn: { 'Fn::GetAtt': [expect.stringMatching(/^IncidentPipelineDeadLetterQueue/), 'Arn'] } },
  });
  const mappings = ofType(template, 'AWS::Lambda::EventSourceMapping').map(([, p]) => ({
    queue: render(p.EventSourceArn),
    batchSize: p.BatchSize,
    window: p.MaximumBatchingWindowInSeconds,
    concurrency: (p.ScalingConfig as { MaximumConcurrency: number }).MaximumConcurrency,
    failures: p.FunctionResponseTypes,
  }));
  expect(mappings).toEqual([
    {
      queue: expect.stringMatching(/IncidentPipelineBuffer/),
      batchSize: 10,
      window: undefined,
      concurrency: 3,
      failures: ['ReportBatchItemFailures'],
    },
    {
      queue: expect.stringMatching(/IncidentPipelineDigest/),
      batchSize: 1000,
      window: 60,
      concurrency: 2,
      failures: ['ReportBatchItemFailures'],
    },
  ]);
  const { hubTemplate } = synthesize({ jira: { ...EXAMPLE_CONFIG.jira, maxConcurrency: 5 } });
  expect(
    ofType(hubTemplate, 'AWS::Lambda::EventSourceMapping').map(
      ([, p]) => (p.ScalingConfig as { MaximumConcurrency: number }).MaximumConcurrency,
    ),
  ).toEqual([5, 2]);
});

test('queues: SSE, the buffer and digest dead-letter after many receives, visibility six times the handler timeout', () => {
  for (const name of ['sqs-incident-buffer-dev', 'sqs-incident-digest-dev']) {
    const [[, queue]] = ofType(template, 'AWS::SQS::Queue').filter(([, p]) => p.QueueName === name);
    expect(queue).toMatchObject({
      SqsManagedSseEnabled: true,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [expect.stringMatching(/^IncidentPipelineDeadLetterQueue/), 'Arn'] },
        maxReceiveCount: BUFFER_MAX_RECEIVES,
      },
    });
    expect(queue.VisibilityTimeout as number).toBeGreaterThanOrEqual(6 * HANDLER_TIMEOUT.toSeconds());
  }
  template.hasResourceProperties('AWS::SQS::Queue', {
    QueueName: 'sqs-incident-dlq-dev',
    SqsManagedSseEnabled: true,
    MessageRetentionPeriod: 1209600,
  });
});

test('the incident table: on-demand, pk + TTL, encrypted with the AWS managed key, suffix-named, destroyable', () => {
  template.hasResource('AWS::DynamoDB::Table', {
    Properties: {
      TableName: 'ddb-incidents-dev',
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      SSESpecification: { SSEEnabled: true },
    },
    DeletionPolicy: 'Delete',
    UpdateReplacePolicy: 'Delete',
  });
  const [[, table]] = ofType(template, 'AWS::DynamoDB::Table');
  expect((table.SSESpecification as { KMSMasterKeyId?: unknown }).KMSMasterKeyId).toBeUndefined();
});

test('the handler role has exactly the permissions it needs, per feature', () => {
  const actionsBySid = (t: typeof template) => {
    const [[, policy]] = ofType(t, 'AWS::IAM::ManagedPolicy').filter(
      ([, p]) => p.ManagedPolicyName === 'policy-jira-incident-dev',
    );
    const statements = (policy.PolicyDocument as { Statement: { Sid: string; Action: string | string[] }[] }).Statement;
    return Object.fromEntries(statements.map((s) => [s.Sid, ([] as string[]).concat(s.Action).sort()]));
  };
  expect(actionsBySid(template)).toEqual({
    WriteOwnLogs: ['logs:CreateLogStream', 'logs:PutLogEvents'],
    IncidentRecords: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
    EmailAlerts: ['sns:ListSubscriptionsByTopic', 'sns:Publish'],
    JiraCredentials: ['secretsmanager:GetSecretValue'],
    ReadBufferAndDigest: [
      'sqs:ChangeMessageVisibility',
      'sqs:DeleteMessage',
      'sqs:GetQueueAttributes',
      'sqs:ReceiveMessage',
    ],
    SendToQueues: ['sqs:SendMessage'],
    PipelineMetrics: ['cloudwatch:PutMetricData'],
    Tracing: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'],
  });
  expect(actionsBySid(synthesize(FULL_FEATURES).hubTemplate)).toMatchObject({
    CreateOpsItems: ['ssm:CreateOpsItem'],
    ResolveOpsItems: ['ssm:UpdateOpsItem'],
  });
  expect(actionsBySid(template).CreateOpsItems).toBeUndefined();
  expect(actionsBySid(synthesize({ tracing: false }).hubTemplate).Tracing).toBeUndefined();
  expect(ofType(template, 'AWS::IAM::Policy')).toEqual([]);
});

test('the pipeline watches itself: dead letters, handler errors and backlog, on queues kept active', () => {
  const alarms = Object.fromEntries(ofType(template, 'AWS::CloudWatch::Alarm').map(([, p]) => [p.AlarmName, p]));
  // Raw queue metrics (no FILL): the keepalive keeps them published, so missing data means broken.
  expect(alarms['alarm-incident-dlq-not-empty-dev']).toMatchObject({
    MetricName: 'ApproximateNumberOfMessagesVisible',
    Statistic: 'Maximum',
    Threshold: 1,
    TreatMissingData: 'breaching',
  });
  expect(alarms['alarm-incident-backlog-dev']).toMatchObject({
    MetricName: 'ApproximateAgeOfOldestMessage',
    Threshold: 900,
  });
  expect(alarms['alarm-incident-handler-errors-dev']).toMatchObject({ EvaluationPeriods: 3, DatapointsToAlarm: 2 });
  const keepalives = ofType(template, 'AWS::Scheduler::Schedule').filter(([, p]) =>
    String(p.Name).startsWith('schedule-keepalive'),
  );
  expect(keepalives.map(([, p]) => (p.Target as { Arn: string }).Arn)).toEqual([
    'arn:aws:scheduler:::aws-sdk:sqs:setQueueAttributes',
    'arn:aws:scheduler:::aws-sdk:sqs:setQueueAttributes',
  ]);
  const inputs = keepalives.map(([, p]) => render((p.Target as { Input: unknown }).Input));
  expect(inputs.join('\n')).toMatch(/IncidentPipelineDeadLetterQueue/);
  expect(inputs.join('\n')).toMatch(/IncidentPipelineBuffer/);
  // The value it sets is the one the template sets (no drift, no effect).
  expect(inputs[0]).toContain('"MessageRetentionPeriod":"1209600"');
});
