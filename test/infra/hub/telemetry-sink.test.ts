import { Match } from 'aws-cdk-lib/assertions';
import { EXAMPLE_CONFIG } from '../../../lib/config';
import { SHARED_TELEMETRY_TYPES } from '../../../lib/metrics';
import { ofType, synthesize } from '../support';

test('the OAM sink admits only the organization, for metrics, logs and traces', () => {
  const { hubTemplate } = synthesize();
  hubTemplate.hasResourceProperties('AWS::Oam::Sink', {
    Name: 'sink-observability-dev',
    Policy: {
      Statement: [
        Match.objectLike({
          Effect: 'Allow',
          Action: ['oam:CreateLink', 'oam:UpdateLink'],
          Condition: {
            StringEquals: { 'aws:PrincipalOrgID': EXAMPLE_CONFIG.organizationId },
            'ForAllValues:StringEquals': { 'oam:ResourceTypes': SHARED_TELEMETRY_TYPES },
          },
        }),
      ],
    },
  });
  expect(SHARED_TELEMETRY_TYPES).toEqual(['AWS::CloudWatch::Metric', 'AWS::Logs::LogGroup', 'AWS::XRay::Trace']);
});

test('an environment that reuses the foundation creates no sink and passes no sink to its members', () => {
  const sinkArn = 'arn:aws:oam:us-east-1:111111111111:sink/a1b2c3d4-5678-90ab-cdef-111111111111';
  const { hubTemplate, memberTemplate } = synthesize({ foundation: { oamSinkArn: sinkArn } }, { suffix: 'pr42' });
  expect(ofType(hubTemplate, 'AWS::Oam::Sink')).toEqual([]);
  expect(ofType(memberTemplate, 'AWS::Oam::Link')).toEqual([]);
  const [[, stackSet]] = ofType(hubTemplate, 'AWS::CloudFormation::StackSet');
  expect(JSON.stringify(stackSet.Parameters)).not.toContain('OamSinkArn');
});
