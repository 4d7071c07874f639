import { MAX_FILTER_VALUES } from '../../../lib/insight-rule-alarm';
import { THROTTLING_ERROR_CODES } from '../../../lib/metrics';
import { ofType, synthesize } from '../support';

const rulesOf = (template: ReturnType<typeof synthesize>['hubTemplate']) =>
  ofType(template, 'AWS::CloudWatch::InsightRule').map(([id, p]) => ({
    id,
    name: p.RuleName as string,
    body: JSON.parse(p.RuleBody as string),
  }));

describe('CloudTrail throttling rules in the hub', () => {
  const { hubTemplate } = synthesize();
  const rules = rulesOf(hubTemplate);

  test('cover every documented throttling code, at most 10 per rule (filters are AND-ed), keyed by service and operation', () => {
    const errorCodeRules = rules.filter((r) => r.name.startsWith('insight-api-throttling-errorcode'));
    const codes = errorCodeRules.flatMap((r) => r.body.Contribution.Filters[0].In);
    expect(codes.sort()).toEqual([...THROTTLING_ERROR_CODES].sort());
    expect(codes).toEqual(expect.arrayContaining(['Client.RequestLimitExceeded', 'ThrottlingException']));
    for (const rule of rules) {
      expect(rule.body.Contribution.Keys).toEqual(['$.eventSource', '$.eventName']);
      expect(rule.body.Contribution.Filters).toHaveLength(1);
      const values = rule.body.Contribution.Filters[0].In ?? rule.body.Contribution.Filters[0].StartsWith;
      expect(values.length).toBeLessThanOrEqual(MAX_FILTER_VALUES);
    }
    const rateExceeded = rules.find((r) => r.name === 'insight-api-throttling-rate-exceeded-dev')!;
    expect(rateExceeded.body.Contribution.Filters[0]).toEqual({
      Match: '$.errorMessage',
      StartsWith: ['Rate exceeded'],
    });
  });

  test('read the trail log group by name when it is in the hub (the default)', () => {
    for (const rule of rules) expect(rule.body.LogGroupNames).toEqual(['aws-controltower/CloudTrailLogs']);
  });

  test('alarms tolerate CloudTrail delivery (~5 minutes): 1 breaching period of the last 3, zero-filled', () => {
    const alarms = ofType(hubTemplate, 'AWS::CloudWatch::Alarm').filter(([, p]) =>
      String(p.AlarmName).startsWith('alarm-api-throttling'),
    );
    expect(alarms).toHaveLength(2);
    for (const [, alarm] of alarms) {
      expect(alarm).toMatchObject({ EvaluationPeriods: 3, DatapointsToAlarm: 1, TreatMissingData: 'breaching' });
      const expression = (alarm.Metrics as { Expression: string }[])[0].Expression;
      // Anchored on the hub baseline: defined in every period even when no rule matched anything.
      expect(expression).toMatch(
        /^SUM\(\[FILL\(INSIGHT_RULE_METRIC\('insight-api-throttling-[a-z-]+-dev', 'Sum'\), 0\), .*anchor\]\)$/,
      );
    }
  });
});

test("a trail log group in another account (Control Tower's management account) is read by ARN through the sink", () => {
  const { hubTemplate } = synthesize({ cloudTrail: { accountId: '999999999999' } });
  for (const rule of rulesOf(hubTemplate)) {
    expect(rule.body.LogGroupNames).toBeUndefined();
    expect(rule.body.LogGroupARNs).toEqual([
      'arn:aws:logs:us-east-1:999999999999:log-group:aws-controltower/CloudTrailLogs',
    ]);
  }
});

test('a trail log group in a member account is read only after the StackSet (and so its OAM link) exists', () => {
  const { hubTemplate } = synthesize({ cloudTrail: { accountId: '333333333333' } });
  const stackSetId = ofType(hubTemplate, 'AWS::CloudFormation::StackSet')[0][0];
  const resources = hubTemplate.toJSON().Resources as Record<string, { Type: string; DependsOn?: string[] }>;
  for (const [id, r] of Object.entries(resources).filter(([, r]) => r.Type === 'AWS::CloudWatch::InsightRule')) {
    expect([id, r.DependsOn]).toEqual([id, expect.arrayContaining([stackSetId])]);
  }
});
