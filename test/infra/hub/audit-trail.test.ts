import { Match } from 'aws-cdk-lib/assertions';
import { EXAMPLE_CONFIG } from '../../../lib/config';
import { ofType, render, synthesize } from '../support';

const { hubTemplate: template } = synthesize();
const ALL_ALARM_CHANGES = { source: ['aws.cloudwatch'], 'detail-type': ['CloudWatch Alarm State Change'] };

test('a hub bus that organization members may put events on', () => {
  template.hasResourceProperties('AWS::Events::EventBus', { Name: 'bus-observability-dev' });
  template.hasResourceProperties('AWS::Events::EventBusPolicy', {
    Statement: Match.objectLike({
      Effect: 'Allow',
      Action: 'events:PutEvents',
      Condition: { StringEquals: { 'aws:PrincipalOrgID': EXAMPLE_CONFIG.organizationId } },
    }),
  });
});

test('every alarm state change goes to /aws/events/alarm-audit-<suffix> (30 days) and an archive', () => {
  template.hasResourceProperties('AWS::Logs::LogGroup', {
    LogGroupName: '/aws/events/alarm-audit-dev',
    RetentionInDays: 30,
  });
  const [[, rule]] = ofType(template, 'AWS::Events::Rule').filter(([, p]) => p.Name === 'rule-alarm-audit-dev');
  expect(rule.EventPattern).toEqual(ALL_ALARM_CHANGES);
  expect(render((rule.Targets as { Arn: unknown }[])[0].Arn)).toMatch(
    /:logs:us-east-1:111111111111:log-group:\$\{AuditTrailLogGroup/,
  );
  template.hasResourceProperties('AWS::Events::Archive', {
    ArchiveName: 'archive-alarm-audit-dev',
    EventPattern: ALL_ALARM_CHANGES,
  });
});

test('the log group policy admits EventBridge for that rule only, without a custom-resource Lambda', () => {
  const [[, policy]] = ofType(template, 'AWS::Logs::ResourcePolicy');
  const document = JSON.parse(render(policy.PolicyDocument));
  expect(document.Statement[0]).toMatchObject({
    Principal: { Service: 'events.amazonaws.com' },
    Condition: { ArnEquals: { 'aws:SourceArn': expect.stringContaining('AuditTrailRule') } },
  });
  expect(ofType(template, 'AWS::Lambda::Function').map(([, p]) => p.FunctionName)).toEqual([
    'lambda-jira-incident-dev',
    'lambda-alarm-action-dev',
  ]);
});

test("the hub's own alarm state changes are forwarded to the hub bus: all of them by the owner, only its own by a reusing environment", () => {
  const forwarding = (t: typeof template, suffix: string) =>
    ofType(t, 'AWS::Events::Rule').find(([, p]) => p.Name === `rule-forward-hub-alarms-${suffix}`)![1];
  const owner = forwarding(template, 'dev');
  expect(owner.EventBusName).toBeUndefined();
  expect(owner.EventPattern).toEqual(ALL_ALARM_CHANGES);
  expect(render((owner.Targets as { Arn: unknown }[])[0].Arn)).toContain('AuditTrailBus');
  const { hubTemplate } = synthesize(
    { foundation: { oamSinkArn: 'arn:aws:oam:us-east-1:111111111111:sink/a1b2c3d4-5678-90ab-cdef-111111111111' } },
    { suffix: 'pr42' },
  );
  expect(forwarding(hubTemplate, 'pr42').EventPattern).toEqual({
    ...ALL_ALARM_CHANGES,
    detail: { alarmName: [{ suffix: '-pr42' }] },
  });
});
