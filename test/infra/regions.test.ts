/**
 * `deployment.regions` beyond us-east-1: every region gets what works there (log metrics, alarms, forwarding to
 * the hub bus); the OAM link and the IAM roles exist once (OAM is regional and the sink is in us-east-1; IAM is
 * global); VPC endpoints only in the VPC's own region.
 */
import { ConfigError, EXAMPLE_CONFIG, loadConfig } from '../../lib/config';
import { FULL_FEATURES, ofType, resources, synthesize } from './support';

const { hubTemplate, memberTemplate } = synthesize(FULL_FEATURES);
const json = memberTemplate.toJSON();

test('the StackSet deploys to both regions', () => {
  const [[, stackSet]] = ofType(hubTemplate, 'AWS::CloudFormation::StackSet');
  for (const group of stackSet.StackInstancesGroup as { Regions: string[] }[]) {
    expect(group.Regions).toEqual(['us-east-1', 'eu-west-1']);
  }
});

test('the OAM link and the monitoring role exist only in the hub region', () => {
  for (const type of ['AWS::Oam::Link', 'AWS::IAM::Role']) {
    const [[id]] = ofType(memberTemplate, type).filter(
      ([, p]) => type !== 'AWS::IAM::Role' || JSON.stringify(p.RoleName).includes('MonitoringRole'),
    );
    expect(resources(memberTemplate)[id].Condition).toBe('IsHubRegion');
  }
});

test('regional roles carry the region in their names, so each region has its own', () => {
  const regional = ofType(memberTemplate, 'AWS::IAM::Role').filter(
    ([, p]) => !JSON.stringify(p.RoleName).includes('MonitoringRole'),
  );
  expect(regional.length).toBeGreaterThanOrEqual(2);
  for (const [id, role] of regional) {
    expect([id, JSON.stringify(role.RoleName)]).toEqual([id, expect.stringContaining('AWS::Region')]);
    expect(resources(memberTemplate)[id].Condition).toBeUndefined();
  }
});

test('alarms and forwarding exist in every region; endpoints only where VpcRegion says (the VPC is regional)', () => {
  for (const [id] of [
    ...ofType(memberTemplate, 'AWS::CloudWatch::Alarm'),
    ...ofType(memberTemplate, 'AWS::Events::Rule'),
  ]) {
    expect(resources(memberTemplate)[id].Condition).toBeUndefined();
  }
  expect(JSON.stringify(json.Conditions.HasVpc)).toContain('VpcRegion');
});

test('synth refuses regions that lack us-east-1 or repeat one, naming the key, the value and the fix', () => {
  const attempt = (regions: string[]) => () =>
    loadConfig({ ...EXAMPLE_CONFIG, deployment: { permissionModel: 'SELF_MANAGED', regions } }, 'dev');
  expect(attempt(['eu-west-1'])).toThrow(ConfigError);
  expect(attempt(['eu-west-1'])).toThrow(
    /deployment\.regions = \["eu-west-1"\]: must include us-east-1.*Fix: add 'us-east-1'/,
  );
  expect(attempt(['us-east-1', 'us-east-1'])).toThrow(
    /deployment\.regions\[1\] = "us-east-1": lists 'us-east-1' twice/,
  );
});

test('a VPC outside the deployed regions is refused (no stack instance would create its endpoints)', () => {
  const [a, b, c] = EXAMPLE_CONFIG.memberAccounts;
  expect(() =>
    loadConfig({ ...EXAMPLE_CONFIG, memberAccounts: [{ ...a, vpc: { ...a.vpc!, region: 'eu-west-1' } }, b, c] }, 'dev'),
  ).toThrow(/memberAccounts\[0\]\.vpc\.region = "eu-west-1": is not in deployment\.regions/);
});
