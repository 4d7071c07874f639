import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { APP_METRIC_PERIOD } from './metrics';

/** A Contributor Insights filter, as the rule syntax defines it. */
export type InsightFilter = { Match: string; In: string[] } | { Match: string; StartsWith: string[] };

/** Where a rule reads: log group names in its own account, or log group ARNs (monitoring account over linked ones). */
export type InsightLogGroups = { readonly names: string[] } | { readonly arns: string[] };

/** Contributor Insights rule syntax: `In` and `StartsWith` take as many as 10 values; filters are AND-ed. */
export const MAX_FILTER_VALUES = 10;

/**
 * The body of a Contributor Insights rule over JSON logs, counting log events per contributor key.
 * A monitoring account names linked accounts' log groups with `LogGroupARNs` (Contributor Insights rule syntax).
 */
export function insightRuleBody(logGroups: InsightLogGroups, keys: string[], filter: InsightFilter): string {
  return JSON.stringify({
    Schema: { Name: 'CloudWatchLogRule', Version: 1 },
    ...('names' in logGroups ? { LogGroupNames: logGroups.names } : { LogGroupARNs: logGroups.arns }),
    LogFormat: 'JSON',
    Contribution: { Keys: keys, Filters: [filter] },
    AggregateOn: 'Count',
  });
}

/**
 * Rules matching a field against any of `values`: one rule per 10 values, since a rule's filters are AND-ed
 * and an `In` list holds at most 10 (so an OR over more values needs several rules).
 */
export function insightRuleBodiesMatchingAny(
  logGroups: InsightLogGroups,
  keys: string[],
  match: string,
  values: string[],
): string[] {
  const bodies: string[] = [];
  for (let i = 0; i < values.length; i += MAX_FILTER_VALUES) {
    bodies.push(insightRuleBody(logGroups, keys, { Match: match, In: values.slice(i, i + MAX_FILTER_VALUES) }));
  }
  return bodies;
}

export interface InsightRuleAlarmProps {
  /** Physical name of the first rule; further rules get `-2`, `-3` before the suffix (see `ruleName`). */
  readonly ruleName: (index: number) => string;
  readonly alarmName: string;
  readonly description: string;
  /** One or more rule bodies; the alarm watches their sum. */
  readonly ruleBodies: string[];
  /** Matching log events per 5 minutes, summed over all contributors, that raise the alarm. */
  readonly threshold: number;
  /**
   * Periods looked at, and how many must breach. A window longer than the logs' delivery delay lets late
   * events count: the alarm re-reads its whole evaluation range at every evaluation ("Using Amazon CloudWatch
   * alarms": all real data points in the evaluation range are included). @default 1 of 1
   */
  readonly evaluationPeriods?: number;
  readonly datapointsToAlarm?: number;
  /**
   * What the alarm watches, when a count metric is at hand that has data in every period.
   * @default the sum of the rules' `INSIGHT_RULE_METRIC(rule, 'Sum')`, filled with zero
   */
  readonly metric?: cloudwatch.IMetric;
  /**
   * A series with a value in every period (the hub baseline): the rules' sum is computed as
   * `SUM([rules..., anchor])`, so it is defined even when no rule has matched anything in the whole window
   * (FILL has nothing to fill from then). Required unless `metric` is given.
   */
  readonly anchor?: cloudwatch.IMetric;
}

/**
 * Contributor Insights rules (who is throttled) and one alarm on how much. `INSIGHT_RULE_METRIC` has no data
 * point for a period without a matching event; FILL makes that read as zero, not as missing (breaching).
 */
export class InsightRuleAlarm extends Construct {
  readonly ruleNames: string[];
  /** The rules' combined sum, for graphs. */
  readonly sum: cloudwatch.MathExpression;
  readonly alarm: cloudwatch.Alarm;
  readonly rules: cloudwatch.CfnInsightRule[];

  constructor(scope: Construct, id: string, props: InsightRuleAlarmProps) {
    super(scope, id);
    this.ruleNames = props.ruleBodies.map((_, i) => props.ruleName(i + 1));
    this.rules = props.ruleBodies.map(
      (ruleBody, i) =>
        new cloudwatch.CfnInsightRule(this, i === 0 ? 'Rule' : `Rule${i + 1}`, {
          ruleName: this.ruleNames[i],
          ruleState: 'ENABLED',
          ruleBody,
        }),
    );
    const ruleSums = this.ruleNames.map((name) => `FILL(INSIGHT_RULE_METRIC('${name}', 'Sum'), 0)`);
    if (!props.metric && !props.anchor) {
      throw new Error(`InsightRuleAlarm ${props.alarmName}: give a metric with data in every period, or an anchor`);
    }
    this.sum = new cloudwatch.MathExpression({
      expression: props.anchor ? `SUM([${[...ruleSums, 'anchor'].join(', ')}])` : ruleSums.join(' + '),
      usingMetrics: props.anchor ? { anchor: props.anchor } : {},
      period: APP_METRIC_PERIOD,
      label: `${props.description} (all contributors)`,
    });
    const evaluationPeriods = props.evaluationPeriods ?? 1;
    this.alarm = new cloudwatch.Alarm(this, 'Alarm', {
      alarmName: props.alarmName,
      alarmDescription: `${props.description}: ${props.threshold} or more in 5 minutes. See Contributor Insights rule(s) ${this.ruleNames.join(', ')} for who is throttled.`,
      metric: props.metric ?? this.sum,
      threshold: props.threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods,
      datapointsToAlarm: props.datapointsToAlarm ?? evaluationPeriods,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    for (const rule of this.rules) this.alarm.node.addDependency(rule);
  }
}

/** `<type>-<purpose>-<suffix>` for the first rule, `<type>-<purpose>-<n>-<suffix>` for the n-th. */
export const numberedRuleName = (name: (purpose: string) => string, purpose: string) => (index: number) =>
  name(index === 1 ? purpose : `${purpose}-${index}`);
