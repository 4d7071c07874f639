/**
 * Least privilege across both templates: what may be allowed on every resource, and who may use
 * each resource policy (topic, bus, sink, queue, log group, function) and under which condition.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { asArray, FULL_FEATURES, ofType, policyStatements, render, resources, synthesize } from './support';

const { hubWithNested, memberTemplate } = synthesize();
const { hubWithNested: selfManagedHub } = synthesize({ deployment: { permissionModel: 'SELF_MANAGED' } });
const templates: [string, Template][] = [
  ['hub', hubWithNested],
  ['hub (self-managed StackSet)', selfManagedHub],
  ['member', memberTemplate],
];

describe.each(templates)('%s', (_name, template) => {
  const allows = policyStatements(template).filter(({ statement }) => statement.Effect === 'Allow');

  test('identity policies never grant IAM, KMS key administration or write access to other accounts', () => {
    for (const { where, statement } of allows) {
      for (const action of asArray(statement.Action as string[])) {
        expect([where, action]).toEqual([
          where,
          expect.not.stringMatching(/^(iam:(?!PassRole)|kms:(Create|Put|Schedule|Disable)|organizations:)/),
        ]);
      }
    }
  });

  test('every resource policy names its principal and a condition', () => {
    const resourcePolicies = allows.filter(
      ({ where, statement }) => statement.Principal !== undefined && !where.endsWith('AssumeRolePolicyDocument'),
    );
    for (const { where, statement } of resourcePolicies) {
      expect([where, statement.Condition]).toEqual([where, expect.anything()]);
    }
  });

  test('every Lambda permission is limited to its source', () => {
    for (const [id, props] of ofType(template, 'AWS::Lambda::Permission')) {
      expect([id, props.SourceArn ?? props.SourceAccount]).toEqual([id, expect.anything()]);
    }
  });

  test('every trust policy is conditioned: external id + organization for accounts, source account for services', () => {
    for (const { where, statement } of policyStatements(template).filter(({ where }) =>
      where.endsWith('AssumeRolePolicyDocument'),
    )) {
      const principal = statement.Principal as { AWS?: unknown; Service?: unknown };
      const conditions = JSON.stringify(statement.Condition ?? {});
      if (principal.AWS) {
        expect([where, conditions]).toEqual([where, expect.stringContaining('sts:ExternalId')]);
        expect([where, conditions]).toEqual([where, expect.stringContaining('aws:PrincipalOrgID')]);
      } else {
        expect([where, conditions]).toEqual([where, expect.stringMatching(/aws:SourceAccount|aws:SourceArn/)]);
      }
    }
  });
});

test('the organization-wide policies (sink, bus) are scoped by aws:PrincipalOrgID', () => {
  const wildcardPrincipals = policyStatements(hubWithNested).filter(({ statement }) => {
    const p = statement.Principal as string | { AWS?: string } | undefined;
    return statement.Effect === 'Allow' && (p === '*' || (typeof p === 'object' && p.AWS === '*'));
  });
  expect(wildcardPrincipals.map(({ where }) => where.replace(/[0-9A-F]{8}\./, '.'))).toEqual(
    expect.arrayContaining([expect.stringMatching(/^TelemetrySink/), expect.stringMatching(/^AuditTrailBus/)]),
  );
  for (const { where, statement } of wildcardPrincipals) {
    expect([
      where,
      render((statement.Condition as Record<string, Record<string, unknown>>).StringEquals['aws:PrincipalOrgID']),
    ]).toEqual([where, 'o-a1b2c3d4e5']);
  }
});

test('queues, the topic and the canary bucket refuse requests without TLS', () => {
  const { hubTemplate } = synthesize(FULL_FEATURES);
  const denies = policyStatements(hubTemplate).filter(({ statement }) => statement.Effect === 'Deny');
  const policies = ['AWS::SQS::QueuePolicy', 'AWS::SNS::TopicPolicy', 'AWS::S3::BucketPolicy'];
  const all = resources(hubTemplate);
  const count = Object.values(all).filter((r) => policies.includes(r.Type)).length;
  expect(count).toBe(5); // DLQ, buffer, digest, topic, canary bucket
  expect(denies.map(({ statement }) => statement.Condition)).toEqual(
    Array(count).fill({ Bool: { 'aws:SecureTransport': 'false' } }),
  );
});
