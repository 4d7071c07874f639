/**
 * Two environments in the same accounts: `prod` owns the telemetry foundation, `pr42` reuses it
 * (`foundation.oamSinkArn`). Account-wide singletons exist once; every other physical name is per environment.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { FULL_FEATURES, ofType, render, resources, synthesize } from './support';

const SINK = 'arn:aws:oam:us-east-1:111111111111:sink/a1b2c3d4-5678-90ab-cdef-111111111111';
const prod = synthesize(FULL_FEATURES, { suffix: 'prod' });
const pr42 = synthesize({ ...FULL_FEATURES, foundation: { oamSinkArn: SINK } }, { suffix: 'pr42' });

/** Account-wide singletons: an account holds one OAM sink per region and links once to a sink; a VPC takes one
 * private-DNS endpoint per service; two agent associations on the same instances fight. */
const SINGLETON_TYPES = ['AWS::Oam::Sink', 'AWS::Oam::Link', 'AWS::EC2::VPCEndpoint', 'AWS::SSM::Association'];

/** Every physical name (any property ending in Name, plus the role/policy/queue names) of a template. */
function physicalNames(template: Template): string[] {
  const names: string[] = [];
  for (const r of Object.values(resources(template))) {
    for (const [key, value] of Object.entries(r.Properties ?? {})) {
      if (/(^|[a-z])Name$/.test(key) && !['ParameterName', 'MetricName'].includes(key) && typeof value !== 'object')
        names.push(render(value));
      if (/(^|[a-z])Name$/.test(key) && typeof value === 'object' && value && 'Fn::If' in value) {
        names.push(...(value['Fn::If'] as unknown[]).slice(1).map(render));
      }
    }
  }
  return names.filter((n) => !/^(AWS::|aws-controltower\/|\$\{)/.test(n));
}

test('the owning environment has the singletons, the reusing one none of them', () => {
  for (const type of SINGLETON_TYPES) {
    const owner = [...ofType(prod.hubTemplate, type), ...ofType(prod.memberTemplate, type)];
    const reuser = [...ofType(pr42.hubTemplate, type), ...ofType(pr42.memberTemplate, type)];
    expect([type, owner.length > 0, reuser.length]).toEqual([type, true, 0]);
  }
});

test('no physical name of one environment appears in the other', () => {
  const prodNames = new Set([prod.hubTemplate, ...prod.nestedTemplates, prod.memberTemplate].flatMap(physicalNames));
  const pr42Names = [pr42.hubTemplate, ...pr42.nestedTemplates, pr42.memberTemplate].flatMap(physicalNames);
  expect(prodNames.size).toBeGreaterThan(50);
  expect(pr42Names.length).toBeGreaterThan(40);
  expect(pr42Names.filter((name) => prodNames.has(name))).toEqual([]);
  for (const name of pr42Names) expect(name).toMatch(/pr42/);
});

test('everything else is created as usual, with its suffix: alarms, pipeline, dashboards, StackSet', () => {
  for (const type of [
    'AWS::CloudWatch::Alarm',
    'AWS::CloudWatch::CompositeAlarm',
    'AWS::Lambda::Function',
    'AWS::SQS::Queue',
    'AWS::CloudWatch::Dashboard',
    'AWS::CloudFormation::StackSet',
  ]) {
    expect([type, ofType(pr42.hubTemplate, type).length]).toEqual([type, ofType(prod.hubTemplate, type).length]);
  }
  expect(ofType(pr42.memberTemplate, 'AWS::CloudWatch::Alarm').length).toBe(
    ofType(prod.memberTemplate, 'AWS::CloudWatch::Alarm').length,
  );
});

test("the reusing environment forwards only its own alarms, so each hub sees its own environment's state changes", () => {
  const [[, rule]] = ofType(pr42.memberTemplate, 'AWS::Events::Rule');
  expect(rule.EventPattern).toMatchObject({ detail: { alarmName: [{ suffix: '-pr42' }] } });
  const [[, ownerRule]] = ofType(prod.memberTemplate, 'AWS::Events::Rule');
  expect(ownerRule.EventPattern).not.toHaveProperty('detail');
});

test('the reusing member template declares no foundation parameters, and the StackSet passes none', () => {
  const parameters = Object.keys(pr42.memberTemplate.toJSON().Parameters);
  for (const name of ['OamSinkArn', 'VpcId', 'VpcCidr', 'SubnetIds', 'VpcRegion', 'CloudWatchAgentTagKey']) {
    expect(parameters).not.toContain(name);
  }
  const [[, stackSet]] = ofType(pr42.hubTemplate, 'AWS::CloudFormation::StackSet');
  expect(JSON.stringify(stackSet)).not.toMatch(/OamSinkArn|VpcId/);
});
