import { Match } from 'aws-cdk-lib/assertions';
import { EXAMPLE_CONFIG } from '../../../lib/config';
import { ofType, synthesize } from '../support';

const { hubTemplate: template } = synthesize();

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

test('only the incident handler and the alarm-action fallback may publish to it; no alarm action targets it', () => {
  const publishers = ofType(template, 'AWS::IAM::ManagedPolicy').filter(([, p]) =>
    JSON.stringify(p.PolicyDocument).includes('sns:Publish'),
  );
  expect(publishers.map(([, p]) => p.ManagedPolicyName).sort()).toEqual([
    'policy-alarm-action-dev',
    'policy-jira-incident-dev',
  ]);
  for (const [id, alarm] of [
    ...ofType(template, 'AWS::CloudWatch::Alarm'),
    ...ofType(template, 'AWS::CloudWatch::CompositeAlarm'),
  ]) {
    expect([id, JSON.stringify(alarm.AlarmActions ?? [])]).toEqual([id, expect.not.stringContaining('AlertTopic')]);
  }
});

test('email subscriptions skip heartbeat messages (the heartbeat proves the topic, it pages nobody)', () => {
  for (const [, subscription] of ofType(template, 'AWS::SNS::Subscription')) {
    expect(subscription.FilterPolicy).toEqual({ kind: [{ 'anything-but': ['heartbeat'] }, { exists: false }] });
  }
});
