/**
 * First `cdk deploy --all` into a fresh organization, modelled: CloudWatch refuses an alarm on another account's
 * metric until that account is linked to the monitoring account's sink ("One or more metrics in your request are
 * Forbidden", hashicorp/terraform-provider-aws#32436), and a Contributor Insights rule can name a linked
 * account's log groups only through the link (`LogGroupARNs`, Contributor Insights rule syntax). CloudFormation
 * creates a resource after everything it references or DependsOn. A member's link exists once its StackSet
 * instance exists; so anything in the hub that reads a member's telemetry must come after the StackSet.
 */
import { App, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Template } from 'aws-cdk-lib/assertions';
import { addObservabilityHub } from '../../lib/app';
import { EXAMPLE_CONFIG, loadConfig, ObservabilityConfigInput } from '../../lib/config';
import { FULL_FEATURES, generatedAccounts, resources, synthesize, TEST_APP_PROPS } from './support';

type Resource = { Type: string; Properties?: Record<string, unknown>; DependsOn?: string | string[] };

/** Logical ids a resource depends on: Ref, Fn::GetAtt, DependsOn (CloudFormation's creation order). */
function dependencies(resource: Resource): Set<string> {
  const out = new Set<string>([resource.DependsOn ?? []].flat());
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (value && typeof value === 'object') {
      const obj = value as Record<string, unknown>;
      if (typeof obj.Ref === 'string') out.add(obj.Ref);
      if (Array.isArray(obj['Fn::GetAtt'])) out.add(String(obj['Fn::GetAtt'][0]));
      Object.values(obj).forEach(walk);
    }
  };
  walk(resource.Properties);
  return out;
}

/** Accounts whose telemetry a hub resource reads: alarm metrics with AccountId, insight rules with LogGroupARNs. */
function accountsRead(resource: Resource): string[] {
  const props = resource.Properties ?? {};
  if (resource.Type === 'AWS::CloudWatch::Alarm') {
    return ((props.Metrics as { AccountId?: string }[] | undefined) ?? []).flatMap((m) =>
      m.AccountId ? [m.AccountId] : [],
    );
  }
  if (resource.Type === 'AWS::CloudWatch::InsightRule') {
    const body = JSON.parse(String(props.RuleBody)) as { LogGroupARNs?: string[] };
    return (body.LogGroupARNs ?? []).map((arn) => arn.split(':')[4]);
  }
  return [];
}

interface Violation {
  resource: string;
  account: string;
  why: string;
}

/**
 * The first-deploy rule over the hub template: a resource reading account X's telemetry is created safely iff X is
 * the hub, or X is linked before the hub deploys (an account outside the StackSet, a documented prerequisite), or
 * it (transitively) depends on the StackSet and X is one of the StackSet's member accounts.
 */
function firstDeployViolations(template: Template, config: ReturnType<typeof loadConfig>): Violation[] {
  const all = resources(template) as Record<string, Resource>;
  const stackSet = Object.keys(all).find((id) => all[id].Type === 'AWS::CloudFormation::StackSet')!;
  const after = new Map<string, Set<string>>();
  const closure = (id: string, seen = new Set<string>()): Set<string> => {
    if (after.has(id)) return after.get(id)!;
    for (const dep of dependencies(all[id] ?? { Type: '' })) {
      if (seen.has(dep) || !all[dep]) continue;
      seen.add(dep);
      closure(dep, seen).forEach((d) => seen.add(d));
    }
    after.set(id, seen);
    return seen;
  };
  const members = new Set(config.memberAccounts.map((a) => a.id));
  const violations: Violation[] = [];
  for (const [id, resource] of Object.entries(all)) {
    for (const account of accountsRead(resource)) {
      if (account === config.hubAccountId) continue;
      if (!members.has(account)) continue; // linked by the operator before the deploy (README prerequisite)
      if (!closure(id).has(stackSet)) violations.push({ resource: id, account, why: 'created before the StackSet' });
    }
  }
  return violations;
}

const configOf = (overrides: Partial<ObservabilityConfigInput>) =>
  loadConfig({ ...EXAMPLE_CONFIG, ...overrides }, 'dev');

test.each([
  ['the example config', {}],
  ['every feature on, two regions', FULL_FEATURES],
  ['the CloudTrail log group in a member account', { cloudTrail: { accountId: '333333333333' } }],
  ['200 accounts', { memberAccounts: generatedAccounts(200) }],
  ['self-managed', { deployment: { permissionModel: 'SELF_MANAGED' as const } }],
])('%s: nothing reads a member before its StackSet instance exists', (_name, overrides) => {
  const { hubTemplate, nestedTemplates } = synthesize(overrides);
  const config = configOf(overrides);
  expect(firstDeployViolations(hubTemplate, config)).toEqual([]);
  // Nested stacks hold only dashboards, which CloudWatch accepts for metrics that do not exist yet.
  for (const nested of nestedTemplates) {
    const types = new Set(Object.values(resources(nested)).map((r) => r.Type));
    expect([...types].filter((t) => t !== 'AWS::CloudWatch::Dashboard')).toEqual([]);
  }
});

test('the model catches a cross-account alarm created beside the StackSet, and accepts it after it', () => {
  const config = configOf({});
  const plant = (ordered: boolean) => {
    const app = new App(TEST_APP_PROPS);
    const hub = addObservabilityHub(app, { config, nag: false });
    const alarm = new cloudwatch.Alarm(hub, 'PlantedCrossAccount', {
      alarmName: 'alarm-planted-dev',
      metric: new cloudwatch.Metric({
        namespace: 'Observability/Payments',
        metricName: 'ErrorCount',
        account: '333333333333',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    if (ordered) alarm.node.addDependency(hub.stackSet.stackSet);
    return firstDeployViolations(Template.fromStack(hub as Stack), config);
  };
  expect(plant(false)).toEqual([
    {
      resource: expect.stringMatching(/^PlantedCrossAccount/),
      account: '333333333333',
      why: 'created before the StackSet',
    },
  ]);
  expect(plant(true)).toEqual([]);
});

test('an account added tomorrow is just as safe: adding it changes no hub alarm, only dashboards and targets', () => {
  const before = synthesize();
  const after = synthesize({
    memberAccounts: [
      ...EXAMPLE_CONFIG.memberAccounts,
      { id: '555555555555', name: 'payouts', organizationalUnitId: 'ou-ab12-paym0001' },
    ],
  });
  const alarms = (t: Template) =>
    Object.values(resources(t))
      .filter((r) => r.Type === 'AWS::CloudWatch::Alarm' || r.Type === 'AWS::CloudWatch::CompositeAlarm')
      .map((r) => JSON.stringify(r.Properties));
  expect(alarms(after.hubTemplate).sort()).toEqual(alarms(before.hubTemplate).sort());
  expect(JSON.stringify(after.memberTemplate.toJSON())).toEqual(JSON.stringify(before.memberTemplate.toJSON()));
});
