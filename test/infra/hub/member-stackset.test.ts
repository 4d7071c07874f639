import { EXAMPLE_CONFIG } from '../../../lib/config';
import { FULL_FEATURES, ofType, render, resources, synthesize } from '../support';

type Group = {
  Regions: string[];
  DeploymentTargets: { OrganizationalUnitIds?: string[]; AccountFilterType?: string; Accounts?: string[] };
  ParameterOverrides?: { ParameterKey: string; ParameterValue: string }[];
};
const stackSetOf = (template: ReturnType<typeof synthesize>['hubTemplate']) =>
  ofType(template, 'AWS::CloudFormation::StackSet')[0][1];
const overrides = (group: Group) =>
  Object.fromEntries((group.ParameterOverrides ?? []).map((o) => [o.ParameterKey, o.ParameterValue]));

describe('service-managed (example config)', () => {
  const { hubTemplate } = synthesize();
  const stackSet = stackSetOf(hubTemplate);

  test('to the OUs with auto-deployment, CAPABILITY_NAMED_IAM and the hub parameters', () => {
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
    expect(parameters).toEqual({
      OamSinkArn: { 'Fn::GetAtt': [expect.stringMatching(/^TelemetrySink/), 'Arn'] },
      HubEventBusArn: { 'Fn::GetAtt': [expect.stringMatching(/^AuditTrailBus/), 'Arn'] },
      HubAccountId: '111111111111',
      OrganizationId: EXAMPLE_CONFIG.organizationId,
      MonitoringExternalId: 'observability-hub',
    });
    expect(render(stackSet.TemplateURL)).toMatch(/\.json$/);
  });

  test('the hub account is excluded from every OU target, even when it sits in a targeted OU', () => {
    const groups = stackSet.StackInstancesGroup as Group[];
    const ouWide = groups.filter((g) => g.DeploymentTargets.AccountFilterType === 'DIFFERENCE');
    expect(ouWide).toHaveLength(1);
    expect(ouWide[0].DeploymentTargets.Accounts).toContain(EXAMPLE_CONFIG.hubAccountId);
    for (const group of groups.filter((g) => g.DeploymentTargets.AccountFilterType === 'INTERSECTION')) {
      expect(group.DeploymentTargets.Accounts).not.toContain(EXAMPLE_CONFIG.hubAccountId);
    }
  });

  test('an account with overrides gets its own OU+account instance group; the rest of the OU the defaults', () => {
    expect(stackSet.StackInstancesGroup).toEqual([
      {
        Regions: ['us-east-1'],
        DeploymentTargets: {
          OrganizationalUnitIds: ['ou-ab12-paym0001'],
          AccountFilterType: 'DIFFERENCE',
          Accounts: ['111111111111', '222222222222'],
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
          { ParameterKey: 'VpcRegion', ParameterValue: 'us-east-1' },
          { ParameterKey: 'VpcPrivateDns', ParameterValue: 'true' },
          { ParameterKey: 'SilenceIsCritical', ParameterValue: 'true' },
        ],
      },
    ]);
  });
});

test('per-account thresholds and critical silence become parameter overrides of that account only', () => {
  const groups = stackSetOf(synthesize(FULL_FEATURES).hubTemplate).StackInstancesGroup as Group[];
  const prod = groups.find((g) => g.DeploymentTargets.AccountFilterType === 'INTERSECTION')!;
  expect(overrides(prod)).toMatchObject({
    ErrorThreshold: '25',
    SilencePeriods: '6',
    SilenceIsCritical: 'true',
    VpcRegion: 'eu-west-1',
    VpcPrivateDns: 'false',
  });
  expect(prod.Regions).toEqual(['us-east-1', 'eu-west-1']);
});

describe('self-managed', () => {
  const { hubTemplate } = synthesize({ deployment: { permissionModel: 'SELF_MANAGED' } });
  const stackSet = stackSetOf(hubTemplate);

  test('accounts without overrides share one instance group; each account with overrides has its own', () => {
    expect(stackSet.PermissionModel).toBe('SELF_MANAGED');
    expect(stackSet.AutoDeployment).toBeUndefined();
    const groups = stackSet.StackInstancesGroup as Group[];
    expect(groups.map((g) => g.DeploymentTargets.Accounts)).toEqual([
      ['333333333333', '444444444444'],
      ['222222222222'],
    ]);
    expect(groups[0].ParameterOverrides).toBeUndefined();
    expect(overrides(groups[1])).toMatchObject({ VpcId: 'vpc-0a1b2c3d4e5f60718', SilenceIsCritical: 'true' });
  });

  test('the admin role may assume the execution role only in accounts of the organization, at any size', () => {
    const [[, admin]] = ofType(hubTemplate, 'AWS::IAM::ManagedPolicy').filter(
      ([, p]) => p.ManagedPolicyName === 'policy-stackset-admin-dev',
    );
    const [statement] = (admin.PolicyDocument as { Statement: { Resource: unknown; Condition: unknown }[] }).Statement;
    expect(render(statement.Resource)).toBe('arn:${AWS::Partition}:iam::*:role/AWSCloudFormationStackSetExecutionRole');
    expect(statement.Condition).toEqual({ StringEquals: { 'aws:ResourceOrgID': EXAMPLE_CONFIG.organizationId } });
    // cdk-stacksets' own unconditioned grant would add a second statement or an inline policy.
    expect(ofType(hubTemplate, 'AWS::IAM::Policy')).toEqual([]);
    expect(Object.keys(resources(hubTemplate)).filter((id) => id.includes('AdminRole'))).toHaveLength(2);
  });
});
