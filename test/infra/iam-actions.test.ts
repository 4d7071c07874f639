/**
 * Every action of every identity policy matches its documented resource types (iam-resource-types.ts): an action
 * without resource-level permissions on `*` only, one with them never on `*` and only on its own resource type.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { IAM_RESOURCE_TYPES } from './iam-resource-types';
import { asArray, FULL_FEATURES, policyStatements, render, resources, synthesize } from './support';

/** A value an ARN parameter's AllowedPattern accepts (the patterns of the member template are this simple). */
const sampleOf = (pattern: string) =>
  pattern
    .replace(/^\^|\$$/g, '')
    .replace(/aws\[a-z-\]\*/g, 'aws')
    .replace(/\[a-z0-9-\]\+/g, 'us-east-1')
    .replace(/\\d\{12\}/g, '111111111111')
    .replace(/\.\+/g, 'x');

/** Grants that contradict the table, as `policy: action on resource (why)`; also counts what it checked. */
function grantViolations(template: Template): { checked: number; violations: string[] } {
  const all = resources(template);
  const parameters = (template.toJSON().Parameters ?? {}) as Record<string, { AllowedPattern?: string }>;
  const identity = policyStatements(template).filter(
    ({ where, statement }) =>
      statement.Effect === 'Allow' &&
      where.endsWith('.PolicyDocument') &&
      ['AWS::IAM::ManagedPolicy', 'AWS::IAM::Policy'].includes(all[where.split('.')[0]]?.Type),
  );
  const violations: string[] = [];
  let checked = 0;
  for (const { where, statement } of identity) {
    const granted = asArray(statement.Resource as unknown[]);
    for (const action of asArray(statement.Action as string | string[])) {
      checked += 1;
      const expected = IAM_RESOURCE_TYPES[action];
      if (expected === undefined) {
        violations.push(
          `${where}: ${action} is not in iam-resource-types.ts (add it with its documented resource types)`,
        );
        continue;
      }
      if (expected === '*') {
        if (granted.length !== 1 || granted[0] !== '*') {
          violations.push(
            `${where}: ${action} has no resource-level permissions; grant it on * (got ${granted.map(render)})`,
          );
        }
        continue;
      }
      for (const resource of granted) {
        const text = render(resource);
        const reference = /^\$\{([A-Za-z0-9]+)\.Arn\}(\/\*)?$|^\$\{([A-Za-z0-9]+)\}$/.exec(text);
        const referenced = reference?.[1] ?? reference?.[3];
        const referencedType = referenced ? all[referenced]?.Type : undefined;
        const parameter = referenced ? parameters[referenced] : undefined;
        const ok = referencedType
          ? expected.cfnTypes.includes(referencedType)
          : parameter
            ? expected.arn.test(sampleOf(parameter.AllowedPattern ?? ''))
            : text !== '*' && expected.arn.test(text.replace(/\$\{[^}]+\}/g, 'X'));
        if (!ok) violations.push(`${where}: ${action} on ${text} is not its documented resource type`);
      }
    }
  }
  return { checked, violations };
}

const variants: [string, Parameters<typeof synthesize>[0]][] = [
  ['example', {}],
  ['every feature on', FULL_FEATURES],
  ['self-managed', { deployment: { permissionModel: 'SELF_MANAGED' } }],
  ['trail in another account', { cloudTrail: { accountId: '999999999999' } }],
];

test.each(variants)('%s: every granted action matches its documented resource types', (_name, overrides) => {
  const { hubTemplate, memberTemplate } = synthesize(overrides);
  for (const template of [hubTemplate, memberTemplate]) {
    const { checked, violations } = grantViolations(template);
    expect(checked).toBeGreaterThan(5);
    expect(violations).toEqual([]);
  }
});

test('the check fails an action without resource-level permissions on an ARN, and one with them on *', () => {
  const planted = (action: string, resource: unknown) =>
    Template.fromJSON({
      Resources: {
        Policy: {
          Type: 'AWS::IAM::ManagedPolicy',
          Properties: { PolicyDocument: { Statement: [{ Effect: 'Allow', Action: action, Resource: resource }] } },
        },
      },
    });
  expect(
    grantViolations(planted('cloudwatch:DescribeAlarmsForMetric', 'arn:aws:cloudwatch:us-east-1:1:alarm:*')).violations,
  ).toEqual([expect.stringContaining('has no resource-level permissions')]);
  expect(grantViolations(planted('sqs:SendMessage', '*')).violations).toEqual([
    expect.stringContaining('is not its documented resource type'),
  ]);
  expect(grantViolations(planted('kms:Decrypt', '*')).violations).toEqual([
    expect.stringContaining('not in iam-resource-types.ts'),
  ]);
});
