import { HUB_ALARMS } from '../../../lib/alarms';
import { FULL_FEATURES, ofType, render, synthesize } from '../support';

const { hubTemplate: template } = synthesize(FULL_FEATURES);
const actionFunction = ofType(template, 'AWS::Lambda::Function').find(
  ([, p]) => p.FunctionName === 'lambda-alarm-action-dev',
)!;

test('every hub alarm (metric and composite) has the alarm-action function as its ALARM and OK action', () => {
  const alarms = [
    ...ofType(template, 'AWS::CloudWatch::Alarm'),
    ...ofType(template, 'AWS::CloudWatch::CompositeAlarm'),
  ];
  expect(alarms.length).toBeGreaterThanOrEqual(10);
  for (const [id, alarm] of alarms) {
    for (const key of ['AlarmActions', 'OKActions']) {
      // The function, and with OpsCenter on also CloudWatch's own OpsItem action (pipeline alarms, ALARM only).
      const others = (alarm[key] as unknown[]).map(render).filter((a) => !a.includes(':opsitem:'));
      expect([id, key, others]).toEqual([id, key, [expect.stringContaining(`${actionFunction[0]}.Arn`)]]);
    }
  }
});

test('each alarm may invoke the function, and only from its own ARN', () => {
  const permissions = ofType(template, 'AWS::Lambda::Permission').filter(
    ([, p]) => p.Principal === 'lambda.alarms.cloudwatch.amazonaws.com',
  );
  expect(permissions.length).toBeGreaterThanOrEqual(10);
  const alarmIds = new Set(
    [...ofType(template, 'AWS::CloudWatch::Alarm'), ...ofType(template, 'AWS::CloudWatch::CompositeAlarm')].map(
      ([id]) => id,
    ),
  );
  for (const [id, permission] of permissions) {
    const source = render(permission.SourceArn);
    const reference = /^\$\{([A-Za-z0-9]+)\.Arn\}$/.exec(source)?.[1];
    expect([id, reference ? alarmIds.has(reference) : /:cloudwatch:.*:alarm:/.test(source)]).toEqual([id, true]);
  }
});

test('the action never bypasses the storm buffer: it may only send to the buffer queue and publish to the topic', () => {
  const [[, policy]] = ofType(template, 'AWS::IAM::ManagedPolicy').filter(
    ([, p]) => p.ManagedPolicyName === 'policy-alarm-action-dev',
  );
  const statements = (policy.PolicyDocument as { Statement: { Action: string; Resource: unknown }[] }).Statement;
  expect(statements.map((s) => [s.Action, render(s.Resource)])).toEqual([
    [['logs:CreateLogStream', 'logs:PutLogEvents'], expect.stringContaining('AlarmActionsLogs')],
    ['sqs:SendMessage', expect.stringContaining('IncidentPipelineBuffer')],
    ['sns:Publish', expect.stringContaining('AlertTopic')],
  ]);
  const env = (actionFunction[1].Environment as { Variables: Record<string, unknown> }).Variables;
  expect(render(env.BUFFER_QUEUE_URL)).toContain('IncidentPipelineBuffer');
});

test('the pipeline alarms (and only they) are also emailed directly, a path that does not depend on the handler', () => {
  const env = (actionFunction[1].Environment as { Variables: Record<string, string> }).Variables;
  expect(JSON.parse(env.DIRECT_EMAIL_ALARMS)).toEqual(
    [HUB_ALARMS.heartbeat, HUB_ALARMS.backlog, HUB_ALARMS.handlerErrors, HUB_ALARMS.deadLetters]
      .map((spec) => `alarm-${spec.purpose}-dev`)
      .sort(),
  );
});

test('with OpsCenter on, CloudWatch also opens an OpsItem for the pipeline alarms (needs neither SNS nor a function)', () => {
  const pipeline = ofType(template, 'AWS::CloudWatch::Alarm').filter(([, p]) =>
    JSON.parse(
      (actionFunction[1].Environment as { Variables: Record<string, string> }).Variables.DIRECT_EMAIL_ALARMS,
    ).includes(p.AlarmName),
  );
  expect(pipeline).toHaveLength(4);
  for (const [id, alarm] of pipeline) {
    expect([id, (alarm.AlarmActions as unknown[]).map(render)]).toEqual([
      id,
      expect.arrayContaining([expect.stringMatching(/:ssm:us-east-1:111111111111:opsitem:2#CATEGORY=Availability$/)]),
    ]);
  }
});
