/**
 * A small, documented model of Amazon CloudWatch that runs the SYNTHESIZED alarms of this app over simulated
 * minutes: log events go through the metric filters, a zero baseline is put every minute, alarms are evaluated
 * every minute over sliding windows, composites follow their children, and state changes travel the synthesized
 * EventBridge rules to a model of the incident handler (tickets, email).
 *
 * Each rule cites the AWS documentation it follows (see DOCS). Where AWS does not document a behaviour, the model
 * takes the conservative reading and says so (search for "ASSUMPTION").
 *
 * Time is in whole minutes. Minute m is the interval [m, m + 1); "boundary t" is the instant between minute t - 1
 * and minute t. Alarms are evaluated at boundaries.
 */

import { HEARTBEAT_METRIC, PIPELINE_METRIC_NAMESPACE } from '../../../lib/hub/incident-pipeline';

/** The AWS documentation each rule of the model follows. */
export const DOCS = {
  metricFilters: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/MonitoringLogData.html',
  filterPatternSyntax: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html',
  logsMetrics:
    'https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CloudWatch-Logs-Monitoring-CloudWatch-Metrics.html',
  putMetricData: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricData.html',
  schedulerUniversalTargets: 'https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-targets-universal.html',
  schedulerRate: 'https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html',
  statistics: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html',
  metricMath: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html',
  metricsInsightsQuery:
    'https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-metrics-insights-querylanguage.html',
  metricsInsightsAlarms:
    'https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Metrics_Insights_Alarm.html',
  crossAccountObservability:
    'https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-Unified-Cross-Account.html',
  alarms: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html',
  evaluationWindow: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation-window.html',
  compositeAlarms: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Create_Composite_Alarm.html',
  alarmEvents: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html',
  eventPatterns: 'https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html',
  cloudTrailToLogs:
    'https://docs.aws.amazon.com/awscloudtrail/latest/userguide/send-cloudtrail-events-to-cloudwatch-logs.html',
  contributorInsightsRuleSyntax:
    'https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/ContributorInsights-RuleSyntax.html',
  sqsMetrics:
    'https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html',
  sqsMessageTimers:
    'https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-timers.html',
  lambdaMetrics: 'https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html',
  cfnIntrinsics: 'https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference.html',
} as const;

/**
 * How long after a minute ends its data can be read by an alarm, per source.
 * - Metric filters and `AWS/Logs` metrics: about a minute (DOCS.metricFilters: metric filters aggregate and
 *   report per minute).
 * - PutMetricData: readable at the end of the minute it was put (DOCS.putMetricData).
 * - CloudTrail: "CloudTrail typically delivers events to your log group within an average of about 5 minutes of
 *   an API call" (DOCS.cloudTrailToLogs): a delivery (ingestion) delay, before the metric filter delay.
 * - SQS and Lambda metrics: about a minute (DOCS.sqsMetrics, DOCS.lambdaMetrics).
 */
export const DELAYS = { metricFilter: 1, putMetricData: 0, cloudTrailDelivery: 5, serviceMetrics: 1 } as const;

/**
 * ASSUMPTION. "CloudWatch attempts to retrieve a higher number of data points than the number specified as
 * Evaluation Periods. The exact number ... depends on the length of the alarm period"; the documented example
 * (N = 3, period 5 minutes) retrieves 5 (DOCS.alarms, "How alarm state is evaluated when data is missing").
 * The model retrieves N + 2 periods for every alarm.
 */
export const EXTRA_RANGE_PERIODS = 2;

// ------------------------------------------------------------------------------------------------------------
// CloudFormation templates: the intrinsics the synthesized alarms use (DOCS.cfnIntrinsics)
// ------------------------------------------------------------------------------------------------------------

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}
export interface CfnTemplate {
  readonly Parameters?: Record<string, { Default?: unknown; Type?: string }>;
  readonly Conditions?: Record<string, unknown>;
  readonly Resources: Record<string, CfnResource>;
}

/** One deployed copy of a template: an account, a region and parameter values. */
export class StackContext {
  constructor(
    readonly template: CfnTemplate,
    readonly account: string,
    readonly region: string,
    readonly parameters: Record<string, string> = {},
  ) {}

  resources(type: string): [string, Record<string, unknown>][] {
    return Object.entries(this.template.Resources)
      .filter(([, r]) => r.Type === type)
      .map(([id, r]) => [id, r.Properties ?? {}]);
  }

  /** A parameter's value: the override given to this stack, else the template default. */
  parameter(name: string): string {
    if (name in this.parameters) return this.parameters[name];
    const declared = this.template.Parameters?.[name];
    if (!declared) throw new Error(`The template has no parameter ${name}`);
    if (declared.Default === undefined) return `<parameter ${name}>`;
    return String(declared.Default);
  }

  /** Resolves Ref (parameters, pseudo parameters, resources), Fn::If, Fn::Join, Fn::GetAtt, Fn::Sub, Fn::Select. */
  resolve(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolve(v));
    if (!value || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [key, arg] = entries[0];
      switch (key) {
        case 'Ref':
          return this.ref(String(arg));
        case 'Fn::Join': {
          const [sep, parts] = arg as [string, unknown];
          return (this.resolve(parts) as unknown[]).map((p) => this.text(p)).join(sep);
        }
        case 'Fn::If': {
          const [condition, whenTrue, whenFalse] = arg as [string, unknown, unknown];
          return this.resolve(this.condition(condition) ? whenTrue : whenFalse);
        }
        case 'Fn::GetAtt': {
          const [id, attribute] = (typeof arg === 'string' ? arg.split('.') : arg) as [string, string];
          return this.getAtt(id, attribute);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [unknown, unknown];
          return (this.resolve(list) as unknown[])[Number(this.resolve(index))];
        }
        case 'Fn::Sub': {
          const [text, vars] = (typeof arg === 'string' ? [arg, {}] : arg) as [string, Record<string, unknown>];
          return text.replace(/\$\{([^}]+)\}/g, (_, name: string) =>
            this.text(
              name in vars
                ? this.resolve(vars[name])
                : name.includes('.')
                  ? this.getAtt(...(name.split('.', 2) as [string, string]))
                  : this.ref(name),
            ),
          );
        }
      }
      if (key.startsWith('Fn::')) throw new Error(`The model does not resolve ${key}`);
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, this.resolve(v)]));
  }

  /** A resolved value as text (a string or a number). */
  text(value: unknown): string {
    const resolved = this.resolve(value);
    if (typeof resolved === 'string') return resolved;
    if (typeof resolved === 'number' || typeof resolved === 'boolean') return String(resolved);
    throw new Error(`Expected text, got ${JSON.stringify(resolved)}`);
  }

  number(value: unknown): number {
    const n = Number(this.text(value));
    if (!Number.isFinite(n)) throw new Error(`Expected a number, got ${JSON.stringify(value)}`);
    return n;
  }

  /** Fn::Equals, Fn::Not, Fn::And, Fn::Or and Condition references. */
  condition(name: string): boolean {
    const expression = this.template.Conditions?.[name];
    if (expression === undefined) throw new Error(`The template has no condition ${name}`);
    return this.conditionValue(expression);
  }

  private conditionValue(expression: unknown): boolean {
    const [key, arg] = Object.entries(expression as Record<string, unknown>)[0];
    const args = arg as unknown[];
    switch (key) {
      case 'Fn::Equals':
        return this.text(args[0]) === this.text(args[1]);
      case 'Fn::Not':
        return !this.conditionValue(args[0]);
      case 'Fn::And':
        return args.every((a) => this.conditionValue(a));
      case 'Fn::Or':
        return args.some((a) => this.conditionValue(a));
      case 'Condition':
        return this.condition(String(arg));
    }
    throw new Error(`The model does not evaluate the condition function ${key}`);
  }

  private ref(name: string): unknown {
    const pseudo: Record<string, unknown> = {
      'AWS::AccountId': this.account,
      'AWS::Region': this.region,
      'AWS::Partition': 'aws',
      'AWS::URLSuffix': 'amazonaws.com',
      'AWS::StackName': 'stack',
      'AWS::NoValue': undefined,
    };
    if (name in pseudo) return pseudo[name];
    if (this.template.Parameters && name in this.template.Parameters) return this.parameter(name);
    const resource = this.template.Resources[name];
    if (!resource) throw new Error(`Ref to an unknown name ${name}`);
    const p = resource.Properties ?? {};
    switch (resource.Type) {
      case 'AWS::Logs::LogGroup':
        return this.resolve(p.LogGroupName);
      case 'AWS::Lambda::Function':
        return this.resolve(p.FunctionName ?? name);
      case 'AWS::SQS::Queue':
        return `https://sqs.${this.region}.amazonaws.com/${this.account}/${this.text(p.QueueName ?? name)}`;
      case 'AWS::Events::EventBus':
        return this.resolve(p.Name);
      case 'AWS::CloudWatch::Alarm':
      case 'AWS::CloudWatch::CompositeAlarm':
        return this.resolve(p.AlarmName);
    }
    return name;
  }

  private getAtt(id: string, attribute: string): unknown {
    const resource = this.template.Resources[id];
    if (!resource) throw new Error(`Fn::GetAtt of an unknown resource ${id}`);
    const p = resource.Properties ?? {};
    const arn = (service: string, resourcePart: string) =>
      `arn:aws:${service}:${this.region}:${this.account}:${resourcePart}`;
    switch (`${resource.Type}.${attribute}`) {
      case 'AWS::CloudWatch::Alarm.Arn':
      case 'AWS::CloudWatch::CompositeAlarm.Arn':
        return arn('cloudwatch', `alarm:${this.text(p.AlarmName)}`);
      case 'AWS::Events::EventBus.Arn':
        return arn('events', `event-bus/${this.text(p.Name)}`);
      case 'AWS::SQS::Queue.Arn':
        return arn('sqs', this.text(p.QueueName ?? id));
      case 'AWS::SQS::Queue.QueueName':
        return this.text(p.QueueName ?? id);
      case 'AWS::Lambda::Function.Arn':
        return arn('lambda', `function:${this.text(p.FunctionName ?? id)}`);
      case 'AWS::Logs::LogGroup.Arn':
        return arn('logs', `log-group:${this.text(p.LogGroupName)}:*`);
    }
    return `${id}.${attribute}`;
  }
}

// ------------------------------------------------------------------------------------------------------------
// Log events, metric filter patterns and metric filters (DOCS.filterPatternSyntax, DOCS.metricFilters)
// ------------------------------------------------------------------------------------------------------------

/** One JSON log line and the minute of its timestamp. */
export interface LogEvent {
  readonly minute: number;
  readonly json: Record<string, unknown>;
}

type Comparison = '=' | '!=' | '>' | '<' | '>=' | '<=';
export type FilterNode =
  | { readonly kind: 'and'; readonly left: FilterNode; readonly right: FilterNode }
  | { readonly kind: 'or'; readonly left: FilterNode; readonly right: FilterNode }
  | { readonly kind: 'compare'; readonly path: string[]; readonly op: Comparison; readonly value: string | number };

/**
 * Parses the JSON filter patterns this app uses: `{ $.a = "x" }`, `||` and `&&` of (parenthesised) terms, and
 * numeric comparisons such as `$.latencyMs >= 2000` (DOCS.filterPatternSyntax, "Using filter patterns to match
 * terms in JSON log events"). `&&` binds tighter than `||`.
 */
export function parseFilterPattern(pattern: string): FilterNode {
  const source = pattern.trim();
  if (!source.startsWith('{') || !source.endsWith('}')) {
    throw new Error(`Only JSON filter patterns are modelled, got: ${pattern}`);
  }
  const tokens = source.slice(1, -1).match(/"(?:[^"\\]|\\.)*"|&&|\|\||>=|<=|!=|[=<>()]|\$[\w.[\]]*|[^\s()=<>!&|]+/g);
  if (!tokens) throw new Error(`Empty filter pattern: ${pattern}`);
  let i = 0;
  const peek = () => tokens[i];
  const next = () => tokens[i++];
  const expect = (t: string) => {
    if (next() !== t) throw new Error(`Expected '${t}' in filter pattern: ${pattern}`);
  };
  const or = (): FilterNode => {
    let left = and();
    while (peek() === '||') {
      next();
      left = { kind: 'or', left, right: and() };
    }
    return left;
  };
  const and = (): FilterNode => {
    let left = term();
    while (peek() === '&&') {
      next();
      left = { kind: 'and', left, right: term() };
    }
    return left;
  };
  const term = (): FilterNode => {
    if (peek() === '(') {
      next();
      const inner = or();
      expect(')');
      return inner;
    }
    const selector = next();
    if (!selector?.startsWith('$.')) throw new Error(`Expected a $.selector in filter pattern: ${pattern}`);
    const op = next() as Comparison;
    if (!['=', '!=', '>', '<', '>=', '<='].includes(op)) throw new Error(`Unknown operator ${op} in ${pattern}`);
    const raw = next();
    if (raw === undefined) throw new Error(`Missing value in filter pattern: ${pattern}`);
    const value = raw.startsWith('"') ? (JSON.parse(raw) as string) : Number(raw);
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error(`Bad value ${raw} in ${pattern}`);
    const path = selector
      .slice(2)
      .split(/[.[\]]/)
      .filter((s) => s !== '');
    return { kind: 'compare', path, op, value };
  };
  const tree = or();
  if (i !== tokens.length) throw new Error(`Unexpected '${tokens[i]}' in filter pattern: ${pattern}`);
  return tree;
}

function select(json: unknown, path: string[]): unknown {
  let value = json;
  for (const part of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

/**
 * Whether a JSON log event matches (DOCS.filterPatternSyntax): string terms match exactly, except that `*` in a
 * string value is a wildcard; numeric terms compare numbers; a missing field matches nothing.
 */
export function matchesFilter(node: FilterNode, json: Record<string, unknown>): boolean {
  if (node.kind === 'and') return matchesFilter(node.left, json) && matchesFilter(node.right, json);
  if (node.kind === 'or') return matchesFilter(node.left, json) || matchesFilter(node.right, json);
  const field = select(json, node.path);
  if (typeof node.value === 'string') {
    if (typeof field !== 'string') return false;
    const equal = node.value.includes('*') ? wildcard(node.value).test(field) : field === node.value;
    if (node.op === '=') return equal;
    if (node.op === '!=') return !equal;
    throw new Error(`Operator ${node.op} needs a number`);
  }
  if (typeof field !== 'number') return false;
  switch (node.op) {
    case '=':
      return field === node.value;
    case '!=':
      return field !== node.value;
    case '>':
      return field > node.value;
    case '<':
      return field < node.value;
    case '>=':
      return field >= node.value;
    case '<=':
      return field <= node.value;
  }
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const wildcards = new Map<string, RegExp>();
function wildcard(value: string): RegExp {
  let re = wildcards.get(value);
  if (!re) wildcards.set(value, (re = new RegExp(`^${value.split('*').map(escapeRegExp).join('.*')}$`)));
  return re;
}

export interface MetricId {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Record<string, string>;
}

/** A synthesized `AWS::Logs::MetricFilter`, resolved. */
export class MetricFilterModel {
  readonly tree: FilterNode;
  constructor(
    readonly name: string,
    readonly logGroupName: string,
    readonly filterPattern: string,
    readonly metric: MetricId,
    readonly metricValue: string,
    readonly defaultValue: number | undefined,
  ) {
    this.tree = parseFilterPattern(filterPattern);
  }

  static fromTemplate(stack: StackContext, props: Record<string, unknown>): MetricFilterModel[] {
    const transformations = props.MetricTransformations as Record<string, unknown>[];
    return transformations.map(
      (t) =>
        new MetricFilterModel(
          stack.text(props.FilterName ?? 'filter'),
          stack.text(props.LogGroupName),
          stack.text(props.FilterPattern),
          {
            namespace: stack.text(t.MetricNamespace),
            metricName: stack.text(t.MetricName),
            dimensions: {},
          },
          stack.text(t.MetricValue),
          t.DefaultValue === undefined ? undefined : stack.number(t.DefaultValue),
        ),
    );
  }

  /**
   * The values this filter publishes for one minute of ingested log events (DOCS.metricFilters): the metric value
   * for each matching event (`1`, or the number at `$.field`; an event whose field is not a number publishes
   * nothing); if events were ingested but none matched, the default value, if there is one ("the value reported
   * to the metric filter during a period when logs are ingested but no matching logs are found"); if no events
   * were ingested, nothing ("If no logs are ingested during a one-minute period, then no value is reported").
   */
  valuesFor(events: readonly Record<string, unknown>[]): number[] {
    if (events.length === 0) return [];
    const values: number[] = [];
    let matched = 0;
    for (const json of events) {
      if (!matchesFilter(this.tree, json)) continue;
      matched++;
      const value = this.metricValue.startsWith('$.')
        ? select(json, this.metricValue.slice(2).split('.'))
        : Number(this.metricValue);
      if (typeof value === 'number' && Number.isFinite(value)) values.push(value);
    }
    if (matched === 0 && this.defaultValue !== undefined) return [this.defaultValue];
    return values;
  }
}

/**
 * A Contributor Insights rule over JSON logs (DOCS.contributorInsightsRuleSyntax): `LogGroupNames` (own account)
 * or `LogGroupARNs` (a monitoring account over linked accounts), filters AND-ed (`In`, `StartsWith`), counting
 * matching events. `INSIGHT_RULE_METRIC(rule, 'Sum')` has a value only for minutes with a matching event.
 */
export class InsightRuleModel {
  constructor(
    readonly name: string,
    readonly logGroups: { readonly names?: string[]; readonly arns?: string[] },
    readonly filters: { Match: string; In?: string[]; StartsWith?: string[] }[],
  ) {}

  static fromTemplate(stack: StackContext, props: Record<string, unknown>): InsightRuleModel {
    const body = JSON.parse(stack.text(props.RuleBody)) as {
      LogFormat: string;
      LogGroupNames?: string[];
      LogGroupARNs?: string[];
      AggregateOn: string;
      Contribution: { Filters?: { Match: string; In?: string[]; StartsWith?: string[] }[] };
    };
    if (body.LogFormat !== 'JSON' || body.AggregateOn !== 'Count') {
      throw new Error('Only JSON rules that count events are modelled');
    }
    return new InsightRuleModel(
      stack.text(props.RuleName),
      { names: body.LogGroupNames, arns: body.LogGroupARNs },
      body.Contribution.Filters ?? [],
    );
  }

  /** Whether the rule reads this log group of this account, seen from the rule's account. */
  reads(ruleAccount: string, region: string, logAccount: string, logGroupName: string): boolean {
    if (logAccount === ruleAccount && this.logGroups.names?.includes(logGroupName)) return true;
    const arn = `arn:aws:logs:${region}:${logAccount}:log-group:${logGroupName}`;
    return (this.logGroups.arns ?? []).some((a) => a === arn || a === `${arn}:*`);
  }

  matches(json: Record<string, unknown>): boolean {
    return this.filters.every((f) => {
      const value = select(json, f.Match.replace(/^\$\./, '').split('.'));
      if (typeof value !== 'string') return false;
      if (f.In) return f.In.includes(value);
      if (f.StartsWith) return f.StartsWith.some((prefix) => value.startsWith(prefix));
      throw new Error(`Filter ${JSON.stringify(f)} is not modelled`);
    });
  }
}

// ------------------------------------------------------------------------------------------------------------
// Metrics and statistics (DOCS.putMetricData, DOCS.statistics)
// ------------------------------------------------------------------------------------------------------------

interface Sample {
  /** The boundary from which alarms can read it. */
  readonly arrival: number;
  readonly values: number[];
}

const metricKeys = new WeakMap<MetricId, string>();
function metricKey(id: MetricId): string {
  let key = metricKeys.get(id);
  if (key === undefined) {
    const dims = Object.entries(id.dimensions)
      .sort()
      .map(([k, v]) => `${k}=${v}`);
    metricKeys.set(id, (key = [id.namespace, id.metricName, ...dims].join('\u0000')));
  }
  return key;
}

/** The metric data of one account and region: values by metric, minute of their timestamp, and arrival. */
export class MetricStore {
  private readonly series = new Map<string, { id: MetricId; byMinute: Map<number, Sample[]> }>();

  put(id: MetricId, minute: number, arrival: number, values: number[]): void {
    if (values.length === 0) return;
    const key = metricKey(id);
    let entry = this.series.get(key);
    if (!entry) this.series.set(key, (entry = { id, byMinute: new Map() }));
    const samples = entry.byMinute.get(minute) ?? [];
    samples.push({ arrival, values });
    entry.byMinute.set(minute, samples);
  }

  /** Values with a timestamp in minutes [from, to) that arrived by boundary `asOf`. */
  values(id: MetricId, from: number, to: number, asOf: number): number[] {
    const acc = new Accumulator(true);
    this.collect(this.series.get(metricKey(id)), from, to, asOf, acc);
    return acc.values!;
  }

  /** A statistic over the values of one metric in minutes [from, to) that arrived by boundary `asOf`. */
  statistic(stat: string, id: MetricId, from: number, to: number, asOf: number): number | undefined {
    const acc = new Accumulator(isPercentile(stat));
    this.collect(this.series.get(metricKey(id)), from, to, asOf, acc);
    return acc.statistic(stat);
  }

  /** Adds every metric of that namespace and name, whatever its dimensions (Metrics Insights `FROM "namespace"`). */
  collectAll(namespace: string, metricName: string, from: number, to: number, asOf: number, acc: Accumulator): void {
    for (const entry of this.series.values()) {
      if (entry.id.namespace === namespace && entry.id.metricName === metricName) {
        this.collect(entry, from, to, asOf, acc);
      }
    }
  }

  private collect(
    entry: { byMinute: Map<number, Sample[]> } | undefined,
    from: number,
    to: number,
    asOf: number,
    acc: Accumulator,
  ): void {
    if (!entry) return;
    for (let minute = from; minute < to; minute++) {
      const samples = entry.byMinute.get(minute);
      if (!samples) continue;
      for (const sample of samples) {
        if (sample.arrival <= asOf) acc.add(sample.values);
      }
    }
  }
}

const isPercentile = (stat: string) => /^p\d/.test(stat);

/** Running Sum, SampleCount, Minimum, Maximum (and the values themselves, for percentiles). */
export class Accumulator {
  sum = 0;
  count = 0;
  min = Infinity;
  max = -Infinity;
  readonly values: number[] | undefined;
  constructor(keepValues: boolean) {
    this.values = keepValues ? [] : undefined;
  }
  add(values: readonly number[]): void {
    for (const v of values) {
      this.sum += v;
      this.count++;
      if (v < this.min) this.min = v;
      if (v > this.max) this.max = v;
      this.values?.push(v);
    }
  }
  statistic(stat: string): number | undefined {
    if (this.count === 0) return undefined;
    switch (stat) {
      case 'Sum':
        return this.sum;
      case 'SampleCount':
        return this.count;
      case 'Average':
        return this.sum / this.count;
      case 'Minimum':
        return this.min;
      case 'Maximum':
        return this.max;
    }
    return statistic(stat, this.values ?? []);
  }
}

/** The nearest-rank percentile: the smallest value with at least p% of the values at or below it. */
export function nearestRankPercentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  // Integer arithmetic (p in thousandths): ceil(p/100 * n) without floating-point rounding.
  const rank = Math.ceil((Math.round(p * 1000) * sorted.length) / 100000);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/**
 * A statistic over one period's values (DOCS.statistics): Sum, SampleCount, Average, Minimum, Maximum, pNN.
 * A period without values has no datapoint. Percentiles are nearest-rank (CloudWatch's own are approximations).
 */
export function statistic(stat: string, values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  switch (stat) {
    case 'Sum':
      return values.reduce((a, b) => a + b, 0);
    case 'SampleCount':
      return values.length;
    case 'Average':
      return values.reduce((a, b) => a + b, 0) / values.length;
    case 'Minimum':
      return Math.min(...values);
    case 'Maximum':
      return Math.max(...values);
  }
  const percentile = /^p(\d+(?:\.\d+)?)$/.exec(stat);
  if (percentile) return nearestRankPercentile(values, Number(percentile[1]));
  throw new Error(`Statistic ${stat} is not modelled`);
}

// ------------------------------------------------------------------------------------------------------------
// Metric math and Metrics Insights (DOCS.metricMath, DOCS.metricsInsightsQuery)
// ------------------------------------------------------------------------------------------------------------

/** A time series over an alarm's evaluation range: index k is period k back from now (0 = newest). */
export type Series = (number | undefined)[];
type MathValue = number | Series;

type MathNode =
  | { kind: 'number'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'id'; name: string }
  | { kind: 'array'; items: MathNode[] }
  | { kind: 'call'; name: string; args: MathNode[] }
  | { kind: 'unary'; op: string; operand: MathNode }
  | { kind: 'binary'; op: string; left: MathNode; right: MathNode };

const BINARY_PRECEDENCE: Record<string, number> = {
  OR: 1,
  '||': 1,
  AND: 2,
  '&&': 2,
  '==': 3,
  '!=': 3,
  '>': 3,
  '<': 3,
  '>=': 3,
  '<=': 3,
  '+': 4,
  '-': 4,
  '*': 5,
  '/': 5,
};

export function parseMathExpression(expression: string): MathNode {
  const tokens =
    expression.match(
      /'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|\d+(?:\.\d+)?|[A-Za-z_][\w]*|>=|<=|==|!=|&&|\|\||[-+*/()<>,[\]!]/g,
    ) ?? [];
  let i = 0;
  const peek = () => tokens[i];
  const next = () => tokens[i++];
  const expect = (t: string) => {
    if (next() !== t) throw new Error(`Expected '${t}' in ${expression}`);
  };
  const primary = (): MathNode => {
    const t = next();
    if (t === undefined) throw new Error(`Unexpected end of ${expression}`);
    if (t === '(') {
      const inner = binary(0);
      expect(')');
      return inner;
    }
    if (t === '[') {
      const items: MathNode[] = [];
      while (peek() !== ']') {
        items.push(binary(0));
        if (peek() === ',') next();
      }
      expect(']');
      return { kind: 'array', items };
    }
    if (t === '-' || t === '!' || t.toUpperCase() === 'NOT') return { kind: 'unary', op: t, operand: primary() };
    if (/^\d/.test(t)) return { kind: 'number', value: Number(t) };
    if (t.startsWith("'") || t.startsWith('"')) return { kind: 'string', value: t.slice(1, -1) };
    if (peek() === '(') {
      next();
      const args: MathNode[] = [];
      while (peek() !== ')') {
        args.push(binary(0));
        if (peek() === ',') next();
      }
      expect(')');
      return { kind: 'call', name: t.toUpperCase(), args };
    }
    return { kind: 'id', name: t };
  };
  const binary = (minPrecedence: number): MathNode => {
    let left = primary();
    for (;;) {
      const op = peek()?.toUpperCase();
      const precedence = op === undefined ? undefined : BINARY_PRECEDENCE[op];
      if (precedence === undefined || precedence < minPrecedence) break;
      next();
      left = { kind: 'binary', op: op!, left, right: binary(precedence + 1) };
    }
    return left;
  };
  const tree = binary(0);
  if (i !== tokens.length) throw new Error(`Unexpected '${tokens[i]}' in ${expression}`);
  return tree;
}

/** What an expression can read: other queries of the alarm, and Contributor Insights rule metrics. */
export interface MathEnvironment {
  readonly length: number;
  series(id: string): Series;
  insightRuleMetric(ruleName: string, stat: string): Series;
}

const isSeries = (v: MathValue): v is Series => Array.isArray(v);

function pointwise(a: MathValue, b: MathValue, length: number, f: (x: number, y: number) => number | undefined) {
  if (!isSeries(a) && !isSeries(b)) return f(a, b) ?? NaN;
  const out: Series = [];
  for (let k = 0; k < length; k++) {
    const x = isSeries(a) ? a[k] : a;
    const y = isSeries(b) ? b[k] : b;
    out.push(x === undefined || y === undefined ? undefined : f(x, y));
  }
  return out;
}

/**
 * Evaluates a metric math expression over the evaluation range (DOCS.metricMath):
 * - arithmetic and comparisons apply per timestamp; a timestamp where an operand has no value has no value;
 *   division by zero has no value; comparisons and AND/OR give 1 or 0;
 * - IF(condition, a, b): a where the condition is non-zero, b where it is zero, nothing where it has no value;
 * - SUM([a, b, ...]): per timestamp, the sum of the series that have a value there;
 * - FILL(x, value), ASSUMPTION (conservative): fills the timestamps of x without a value only when x has at least
 *   one value in the evaluation range; AWS does not document FILL over a range with no data at all, so the model
 *   lets such a range stay missing (and missing data then breaches);
 * - INSIGHT_RULE_METRIC(rule, 'Sum'): the rule's matching events per period (DOCS.contributorInsightsRuleSyntax).
 */
export function evaluateMath(node: MathNode, env: MathEnvironment): MathValue {
  const n = env.length;
  switch (node.kind) {
    case 'number':
      return node.value;
    case 'string':
      throw new Error(`A string ('${node.value}') is only an argument of INSIGHT_RULE_METRIC`);
    case 'id':
      return env.series(node.name);
    case 'array':
      throw new Error('An array is only an argument of SUM');
    case 'unary': {
      const v = evaluateMath(node.operand, env);
      return node.op === '-' ? pointwise(v, 0, n, (x) => -x) : pointwise(v, 0, n, (x) => (x === 0 ? 1 : 0));
    }
    case 'binary': {
      const a = evaluateMath(node.left, env);
      const b = evaluateMath(node.right, env);
      const ops: Record<string, (x: number, y: number) => number | undefined> = {
        '+': (x, y) => x + y,
        '-': (x, y) => x - y,
        '*': (x, y) => x * y,
        '/': (x, y) => (y === 0 ? undefined : x / y),
        '>': (x, y) => Number(x > y),
        '<': (x, y) => Number(x < y),
        '>=': (x, y) => Number(x >= y),
        '<=': (x, y) => Number(x <= y),
        '==': (x, y) => Number(x === y),
        '!=': (x, y) => Number(x !== y),
        AND: (x, y) => Number(x !== 0 && y !== 0),
        '&&': (x, y) => Number(x !== 0 && y !== 0),
        OR: (x, y) => Number(x !== 0 || y !== 0),
        '||': (x, y) => Number(x !== 0 || y !== 0),
      };
      return pointwise(a, b, n, ops[node.op]);
    }
    case 'call':
      return callFunction(node.name, node.args, env);
  }
}

function callFunction(name: string, args: MathNode[], env: MathEnvironment): MathValue {
  const n = env.length;
  const series = (v: MathValue): Series => (isSeries(v) ? v : Array.from({ length: n }, () => v));
  switch (name) {
    case 'FILL': {
      const x = series(evaluateMath(args[0], env));
      const fill = evaluateMath(args[1], env);
      if (isSeries(fill)) throw new Error('FILL with a series as the fill value is not modelled');
      if (x.every((v) => v === undefined)) return x; // conservative: nothing to fill from
      return x.map((v) => v ?? fill);
    }
    case 'IF': {
      const condition = evaluateMath(args[0], env);
      const whenTrue = evaluateMath(args[1], env);
      const whenFalse = args[2] ? evaluateMath(args[2], env) : undefined;
      const pick = (v: MathValue | undefined, k: number) => (v === undefined ? undefined : isSeries(v) ? v[k] : v);
      return series(condition).map((c, k) =>
        c === undefined ? undefined : c !== 0 ? pick(whenTrue, k) : pick(whenFalse, k),
      );
    }
    case 'SUM': {
      if (args[0].kind !== 'array') throw new Error('SUM over a single series (a scalar) is not modelled');
      const items = args[0].items.map((item) => series(evaluateMath(item, env)));
      return Array.from({ length: n }, (_, k) => {
        const present = items.map((s) => s[k]).filter((v): v is number => v !== undefined);
        return present.length === 0 ? undefined : present.reduce((a, b) => a + b, 0);
      });
    }
    case 'INSIGHT_RULE_METRIC': {
      const [rule, stat] = args.map((a) => (a.kind === 'string' ? a.value : undefined));
      if (rule === undefined || stat === undefined) throw new Error('INSIGHT_RULE_METRIC takes two strings');
      return env.insightRuleMetric(rule, stat);
    }
  }
  throw new Error(`Metric math function ${name} is not modelled`);
}

/**
 * A Metrics Insights query as this app writes it: `SELECT SUM(M) FROM "namespace"` (also AVG, MIN, MAX, COUNT;
 * DOCS.metricsInsightsQuery). In a monitoring account it covers the account and every linked source account
 * (DOCS.crossAccountObservability, DOCS.metricsInsightsAlarms). WHERE and GROUP BY are not modelled.
 */
export function parseMetricsInsights(
  expression: string,
): { fn: string; metricName: string; namespace: string } | undefined {
  const m = /^\s*SELECT\s+(SUM|AVG|MIN|MAX|COUNT)\((\w+)\)\s+FROM\s+(?:"([^"]+)"|([\w/]+))\s*$/i.exec(expression);
  if (!/^\s*SELECT\s/i.test(expression)) return undefined;
  if (!m) throw new Error(`This Metrics Insights query is not modelled: ${expression}`);
  return { fn: m[1].toUpperCase(), metricName: m[2], namespace: m[3] ?? m[4] };
}

// ------------------------------------------------------------------------------------------------------------
// Alarms (DOCS.alarms, DOCS.evaluationWindow, DOCS.compositeAlarms)
// ------------------------------------------------------------------------------------------------------------

export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

type Query =
  | {
      readonly kind: 'metric';
      readonly metric: MetricId;
      readonly accountId?: string;
      readonly stat: string;
      readonly periodMinutes: number;
    }
  | { readonly kind: 'expression'; readonly expression: string; readonly periodMinutes?: number };

export interface MetricAlarmDefinition {
  readonly type: 'metric';
  readonly logicalId: string;
  readonly name: string;
  readonly periodMinutes: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly threshold: number;
  readonly comparison: string;
  readonly treatMissingData: string;
  readonly queries: ReadonlyMap<string, Query>;
  readonly returnId: string;
}

export interface CompositeAlarmDefinition {
  readonly type: 'composite';
  readonly logicalId: string;
  readonly name: string;
  readonly rule: string;
}

export type AlarmDefinition = MetricAlarmDefinition | CompositeAlarmDefinition;

/** Reads a synthesized `AWS::CloudWatch::Alarm` (single metric or `Metrics` array) or `CompositeAlarm`. */
export function alarmDefinitions(stack: StackContext): AlarmDefinition[] {
  const metricAlarms = stack.resources('AWS::CloudWatch::Alarm').map(([logicalId, p]): MetricAlarmDefinition => {
    const queries = new Map<string, Query>();
    let returnId: string;
    let periodMinutes: number;
    if (p.Metrics) {
      const metrics = p.Metrics as Record<string, unknown>[];
      for (const m of metrics) {
        const id = stack.text(m.Id);
        if (m.MetricStat) {
          const ms = m.MetricStat as { Metric: Record<string, unknown>; Period: unknown; Stat: unknown };
          queries.set(id, {
            kind: 'metric',
            metric: metricIdOf(stack, ms.Metric),
            accountId: m.AccountId === undefined ? undefined : stack.text(m.AccountId),
            stat: stack.text(ms.Stat),
            periodMinutes: stack.number(ms.Period) / 60,
          });
        } else {
          queries.set(id, {
            kind: 'expression',
            expression: stack.text(m.Expression),
            periodMinutes: m.Period === undefined ? undefined : stack.number(m.Period) / 60,
          });
        }
      }
      const returned = metrics.filter((m) => m.ReturnData !== false);
      if (returned.length !== 1) throw new Error(`${logicalId}: exactly one query must return data`);
      returnId = stack.text(returned[0].Id);
      const periods = [...queries.values()].map((q) => q.periodMinutes).filter((x): x is number => x !== undefined);
      if (new Set(periods).size !== 1) throw new Error(`${logicalId}: every query must use the same period`);
      periodMinutes = periods[0];
    } else {
      returnId = 'm';
      periodMinutes = stack.number(p.Period) / 60;
      queries.set(returnId, {
        kind: 'metric',
        metric: metricIdOf(stack, p),
        stat: stack.text(p.Statistic ?? p.ExtendedStatistic),
        periodMinutes,
      });
    }
    const evaluationPeriods = stack.number(p.EvaluationPeriods);
    return {
      type: 'metric',
      logicalId,
      name: stack.text(p.AlarmName),
      periodMinutes,
      evaluationPeriods,
      datapointsToAlarm: p.DatapointsToAlarm === undefined ? evaluationPeriods : stack.number(p.DatapointsToAlarm),
      threshold: stack.number(p.Threshold),
      comparison: stack.text(p.ComparisonOperator),
      treatMissingData: p.TreatMissingData === undefined ? 'missing' : stack.text(p.TreatMissingData),
      queries,
      returnId,
    };
  });
  const composites = stack
    .resources('AWS::CloudWatch::CompositeAlarm')
    .map(([logicalId, p]): CompositeAlarmDefinition => ({
      type: 'composite',
      logicalId,
      name: stack.text(p.AlarmName),
      rule: stack.text(p.AlarmRule),
    }));
  return [...metricAlarms, ...composites];
}

function metricIdOf(stack: StackContext, m: Record<string, unknown>): MetricId {
  const dims = (m.Dimensions as { Name: unknown; Value: unknown }[] | undefined) ?? [];
  return {
    namespace: stack.text(m.Namespace),
    metricName: stack.text(m.MetricName),
    dimensions: Object.fromEntries(dims.map((d) => [stack.text(d.Name), stack.text(d.Value)])),
  };
}

/**
 * The state of a metric alarm from its datapoints, newest first (`true` breaching, `false` not, `undefined`
 * missing), following DOCS.alarms "How alarm state is evaluated when data is missing":
 * - with at least N (EvaluationPeriods) real datapoints in the evaluation range, the N most recent real ones are
 *   evaluated and missing data is ignored;
 * - with fewer, the missing ones are filled per TreatMissingData, "as few times as possible": all real datapoints
 *   plus N - real filled ones;
 * - M (DatapointsToAlarm) or more breaching -> ALARM, fewer -> OK.
 * Only `breaching` and `notBreaching` are modelled (the customer rule is `breaching` on every metric alarm).
 */
export function alarmStateFrom(
  datapoints: readonly (boolean | undefined)[],
  evaluationPeriods: number,
  datapointsToAlarm: number,
  treatMissingData: string,
): AlarmState {
  const real = datapoints.filter((d): d is boolean => d !== undefined);
  let breaching: number;
  if (real.length >= evaluationPeriods) {
    breaching = real.slice(0, evaluationPeriods).filter((d) => d).length;
  } else {
    const filled = evaluationPeriods - real.length;
    if (treatMissingData === 'breaching') breaching = real.filter((d) => d).length + filled;
    else if (treatMissingData === 'notBreaching') breaching = real.filter((d) => d).length;
    else throw new Error(`TreatMissingData ${treatMissingData} is not modelled`);
  }
  return breaching >= datapointsToAlarm ? 'ALARM' : 'OK';
}

function breaches(value: number, comparison: string, threshold: number): boolean {
  switch (comparison) {
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
  }
  throw new Error(`ComparisonOperator ${comparison} is not modelled`);
}

type RuleNode =
  | { kind: 'state'; state: AlarmState; alarm: string }
  | { kind: 'const'; value: boolean }
  | { kind: 'not'; operand: RuleNode }
  | { kind: 'and' | 'or'; left: RuleNode; right: RuleNode };

/** Parses a composite alarm rule: ALARM(x), OK(x), INSUFFICIENT_DATA(x), TRUE, FALSE, AND, OR, NOT, parentheses. */
export function parseAlarmRule(rule: string): RuleNode {
  const tokens =
    rule.match(/ALARM|OK|INSUFFICIENT_DATA|TRUE|FALSE|AND|OR|NOT|\(|\)|"(?:[^"\\]|\\.)*"|'[^']*'|[^\s()]+/g) ?? [];
  let i = 0;
  const next = () => tokens[i++];
  const peek = () => tokens[i];
  const expect = (t: string) => {
    if (next() !== t) throw new Error(`Expected '${t}' in alarm rule ${rule}`);
  };
  const or = (): RuleNode => {
    let left = and();
    while (peek() === 'OR') {
      next();
      left = { kind: 'or', left, right: and() };
    }
    return left;
  };
  const and = (): RuleNode => {
    let left = unary();
    while (peek() === 'AND') {
      next();
      left = { kind: 'and', left, right: unary() };
    }
    return left;
  };
  const unary = (): RuleNode => {
    const t = next();
    if (t === 'NOT') return { kind: 'not', operand: unary() };
    if (t === '(') {
      const inner = or();
      expect(')');
      return inner;
    }
    if (t === 'TRUE' || t === 'FALSE') return { kind: 'const', value: t === 'TRUE' };
    if (t === 'ALARM' || t === 'OK' || t === 'INSUFFICIENT_DATA') {
      expect('(');
      const raw = next() ?? '';
      expect(')');
      return { kind: 'state', state: t, alarm: raw.replace(/^["']|["']$/g, '') };
    }
    throw new Error(`Unexpected '${t}' in alarm rule ${rule}`);
  };
  const tree = or();
  if (i !== tokens.length) throw new Error(`Unexpected '${tokens[i]}' in alarm rule ${rule}`);
  return tree;
}

/** The alarm names a rule reads. */
export function ruleChildren(node: RuleNode): string[] {
  switch (node.kind) {
    case 'state':
      return [node.alarm];
    case 'const':
      return [];
    case 'not':
      return ruleChildren(node.operand);
    default:
      return [...ruleChildren(node.left), ...ruleChildren(node.right)];
  }
}

/**
 * A composite rule's truth (DOCS.compositeAlarms): ALARM(x) is TRUE only when x is in ALARM; OK(x) only in OK;
 * INSUFFICIENT_DATA(x) only in INSUFFICIENT_DATA. The composite is in ALARM when the rule is TRUE, else OK.
 */
export function ruleValue(node: RuleNode, stateOf: (alarm: string) => AlarmState): boolean {
  switch (node.kind) {
    case 'state':
      return stateOf(node.alarm) === node.state;
    case 'const':
      return node.value;
    case 'not':
      return !ruleValue(node.operand, stateOf);
    case 'and':
      return ruleValue(node.left, stateOf) && ruleValue(node.right, stateOf);
    case 'or':
      return ruleValue(node.left, stateOf) || ruleValue(node.right, stateOf);
  }
}

// ------------------------------------------------------------------------------------------------------------
// Alarm state change events, EventBridge rules and the incident handler (DOCS.alarmEvents, DOCS.eventPatterns)
// ------------------------------------------------------------------------------------------------------------

export interface StateChange {
  /** The boundary at which the alarm changed state. */
  readonly minute: number;
  readonly accountId: string;
  readonly region: string;
  readonly alarmName: string;
  readonly alarmType: 'metric' | 'composite';
  readonly previousState: AlarmState;
  readonly newState: AlarmState;
}

/** The `CloudWatch Alarm State Change` event CloudWatch sends for a state change (DOCS.alarmEvents). */
export function stateChangeEvent(change: StateChange): Record<string, unknown> {
  return {
    source: 'aws.cloudwatch',
    'detail-type': 'CloudWatch Alarm State Change',
    account: change.accountId,
    region: change.region,
    detail: {
      alarmName: change.alarmName,
      state: { value: change.newState },
      previousState: { value: change.previousState },
    },
  };
}

/**
 * Whether an event matches an EventBridge pattern (DOCS.eventPatterns): every field of the pattern must match;
 * an array lists accepted values (or filter objects: prefix, suffix, anything-but, exists); objects nest.
 */
export function matchesEventPattern(pattern: unknown, event: unknown): boolean {
  if (Array.isArray(pattern)) {
    return pattern.some((p) => {
      if (p !== null && typeof p === 'object') {
        const [op, arg] = Object.entries(p as Record<string, unknown>)[0];
        const value = event;
        switch (op) {
          case 'prefix':
            return typeof value === 'string' && value.startsWith(String(arg));
          case 'suffix':
            return typeof value === 'string' && value.endsWith(String(arg));
          case 'exists':
            return (value !== undefined) === Boolean(arg);
          case 'anything-but':
            return value !== undefined && !(Array.isArray(arg) ? arg : [arg]).includes(value);
        }
        throw new Error(`Event pattern filter ${op} is not modelled`);
      }
      return Array.isArray(event) ? event.includes(p) : event === p;
    });
  }
  if (pattern !== null && typeof pattern === 'object') {
    return Object.entries(pattern as Record<string, unknown>).every(([key, sub]) =>
      matchesEventPattern(
        sub,
        event !== null && typeof event === 'object' ? (event as Record<string, unknown>)[key] : undefined,
      ),
    );
  }
  throw new Error(`Bad event pattern ${JSON.stringify(pattern)}`);
}

export interface Ticket {
  readonly key: string;
  readonly accountId: string;
  readonly region: string;
  readonly alarmName: string;
  readonly openedAt: number;
  resolvedAt?: number;
  /** Repeat ALARMs and INSUFFICIENT_DATA while open. */
  comments: number;
}

/**
 * The incident handler as far as tickets and email go (lambda/jira-incident/processor.ts): every state change it
 * receives is emailed (at once or in a digest: `notifications` counts state changes, not emails), except an
 * alarm's first evaluation, an OK after INSUFFICIENT_DATA with no open ticket, which is recorded but not emailed
 * (`muted`; processor.ts isFirstEvaluation); a state change to ALARM of an alarm whose name matches
 * JIRA_TICKET_ALARM_PATTERN opens a ticket unless one is open for the same account, region and alarm name (then it
 * comments); OK resolves the open ticket, after the resolve grace period (RESOLVE_GRACE_SECONDS, lambda/jira-incident/
 * resolve.ts: the OK is emailed and comments at once, the resolve waits for a delayed SQS message) unless the alarm
 * goes back to ALARM first (a flap: that ALARM comments, the ticket stays open); INSUFFICIENT_DATA comments on it.
 * (The storm limit, STORM_MAX_NEW_ISSUES, is not modelled.)
 */
export class IncidentHandlerModel {
  readonly tickets: Ticket[] = [];
  readonly notifications: StateChange[] = [];
  /** State changes recorded but not emailed: first evaluations (INSUFFICIENT_DATA -> OK, no open ticket). */
  readonly muted: StateChange[] = [];
  /** Minutes in which the handler ran, with how many invocations (for its `AWS/Lambda` metrics). */
  readonly invocations = new Map<number, number>();
  /** ALARMs within the grace period after an OK: they kept the ticket open. */
  readonly flaps: StateChange[] = [];
  private readonly open = new Map<string, Ticket>();
  /** Open tickets whose OK waits out the grace period: the minute the delayed resolve arrives. */
  private readonly pending = new Map<string, number>();

  /**
   * @param graceMinutes the resolve grace period, in whole minutes (the delayed message is handled in the first
   *   minute at or after the OK's minute + the grace period; SQS message timers, DOCS.sqsMessageTimers).
   */
  constructor(
    readonly ticketPattern: RegExp,
    readonly graceMinutes = 0,
  ) {}

  /** Delayed resolves due by minute m (called before the state changes of boundary m are handled). */
  tick(m: number): void {
    for (const [key, due] of this.pending) {
      if (due > m) continue;
      this.pending.delete(key);
      const ticket = this.open.get(key);
      if (!ticket) continue;
      ticket.resolvedAt = due;
      this.open.delete(key);
      this.invocations.set(due, (this.invocations.get(due) ?? 0) + 1);
    }
  }

  handle(change: StateChange): void {
    this.tick(change.minute);
    this.invocations.set(change.minute, (this.invocations.get(change.minute) ?? 0) + 1);
    const critical = this.ticketPattern.test(change.alarmName);
    const key = `${change.accountId}/${change.region}/${change.alarmName}`;
    const open = critical ? this.open.get(key) : undefined;
    if (change.newState === 'OK' && change.previousState === 'INSUFFICIENT_DATA' && !open) {
      this.muted.push(change);
      return;
    }
    this.notifications.push(change);
    if (!critical) return;
    if (change.newState === 'ALARM') {
      if (open) {
        open.comments++;
        if (this.pending.delete(key)) this.flaps.push(change);
      } else {
        const ticket: Ticket = {
          key: `OPS-${this.tickets.length + 1}`,
          accountId: change.accountId,
          region: change.region,
          alarmName: change.alarmName,
          openedAt: change.minute,
          comments: 0,
        };
        this.tickets.push(ticket);
        this.open.set(key, ticket);
      }
    } else if (open && change.newState === 'OK') {
      if (this.graceMinutes > 0) {
        // The OK comments and is emailed now; the resolve waits for its delayed message (a newer OK restarts it).
        this.pending.set(key, change.minute + this.graceMinutes);
      } else {
        open.resolvedAt = change.minute;
        this.open.delete(key);
      }
    } else if (open) {
      open.comments++;
    }
  }
}

// ------------------------------------------------------------------------------------------------------------
// The simulated organization
// ------------------------------------------------------------------------------------------------------------

interface ScheduleModel {
  readonly everyMinutes: number;
  readonly target: string;
  readonly input: unknown;
}

/** `rate(N minute(s)|hour(s))` (DOCS.schedulerRate); the first invocation is at deployment (optimistic). */
function rateMinutes(expression: string): number {
  const m = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (!m) throw new Error(`Schedule expression ${expression} is not modelled`);
  const unit = m[2].startsWith('minute') ? 1 : m[2].startsWith('hour') ? 60 : 1440;
  return Number(m[1]) * unit;
}

class MetricAlarmInstance {
  state: AlarmState = 'INSUFFICIENT_DATA';
  private readonly tree: MathNode | undefined;
  private readonly insights: ReturnType<typeof parseMetricsInsights>;
  private readonly expressionTrees = new Map<string, MathNode>();

  constructor(
    readonly def: MetricAlarmDefinition,
    readonly account: SimAccount,
  ) {
    const returned = def.queries.get(def.returnId)!;
    this.insights = returned.kind === 'expression' ? parseMetricsInsights(returned.expression) : undefined;
    for (const [id, q] of def.queries) {
      if (q.kind === 'expression' && !parseMetricsInsights(q.expression)) {
        this.expressionTrees.set(id, parseMathExpression(q.expression));
      }
    }
    this.tree = this.expressionTrees.get(def.returnId);
  }

  /**
   * The alarm's datapoints at boundary t over its evaluation range, newest first. Sliding window
   * (DOCS.evaluationWindow, the default): "at the end of minute 6, the alarm is evaluated based on the data from
   * minutes 2 to 6" (DOCS.alarms), so period k covers minutes [t - (k + 1) P, t - k P). A value counts once it
   * has arrived; late values in older periods count at later evaluations ("all real data points in the
   * evaluation range are included").
   */
  datapoints(t: number): Series {
    const { periodMinutes: p, evaluationPeriods } = this.def;
    const length = evaluationPeriods + EXTRA_RANGE_PERIODS;
    const windows = Array.from({ length }, (_, k) => [t - (k + 1) * p, t - k * p] as const);
    const world = this.account.world;
    const metricSeries = (q: Extract<Query, { kind: 'metric' }>): Series => {
      const store = q.accountId ? world.account(q.accountId).metrics : this.account.metrics;
      return windows.map(([from, to]) => store.statistic(q.stat, q.metric, from, to, t));
    };
    if (this.insights) {
      const { fn, namespace, metricName } = this.insights;
      const stat = { SUM: 'Sum', AVG: 'Average', MIN: 'Minimum', MAX: 'Maximum', COUNT: 'SampleCount' }[fn]!;
      const visible = world.accountsVisibleFrom(this.account);
      return windows.map(([from, to]) => {
        const acc = new Accumulator(false);
        for (const a of visible) a.metrics.collectAll(namespace, metricName, from, to, t, acc);
        return acc.statistic(stat);
      });
    }
    if (!this.tree) return metricSeries(this.def.queries.get(this.def.returnId) as Extract<Query, { kind: 'metric' }>);
    const cache = new Map<string, Series>();
    const env: MathEnvironment = {
      length,
      series: (id) => {
        const cached = cache.get(id);
        if (cached) return cached;
        const q = this.def.queries.get(id);
        if (!q) throw new Error(`${this.def.name}: no query ${id}`);
        let s: Series;
        if (q.kind === 'metric') s = metricSeries(q);
        else {
          const v = evaluateMath(this.expressionTrees.get(id)!, env);
          s = Array.isArray(v) ? v : windows.map(() => v);
        }
        cache.set(id, s);
        return s;
      },
      insightRuleMetric: (rule, stat) =>
        windows.map(([from, to]) => statistic(stat, this.account.metrics.values(insightMetric(rule), from, to, t))),
    };
    const v = evaluateMath(this.tree, env);
    return Array.isArray(v) ? v : windows.map(() => v);
  }

  evaluate(t: number): AlarmState {
    const points = this.datapoints(t).map((v) =>
      v === undefined || Number.isNaN(v) ? undefined : breaches(v, this.def.comparison, this.def.threshold),
    );
    return alarmStateFrom(points, this.def.evaluationPeriods, this.def.datapointsToAlarm, this.def.treatMissingData);
  }
}

const insightMetrics = new Map<string, MetricId>();
/** Where the model keeps a Contributor Insights rule's matching-event counts. */
function insightMetric(rule: string): MetricId {
  let id = insightMetrics.get(rule);
  if (!id)
    insightMetrics.set(rule, (id = { namespace: 'ContributorInsights (model)', metricName: rule, dimensions: {} }));
  return id;
}

class CompositeAlarmInstance {
  state: AlarmState = 'INSUFFICIENT_DATA';
  readonly tree: RuleNode;
  constructor(
    readonly def: CompositeAlarmDefinition,
    readonly account: SimAccount,
  ) {
    this.tree = parseAlarmRule(def.rule);
  }

  /** Children are named by ARN or name; they must be in the composite's account and region (DOCS.compositeAlarms). */
  childName(ref: string): string {
    const arn = /^arn:aws:cloudwatch:([^:]+):(\d{12}):alarm:(.+)$/.exec(ref);
    if (!arn) return ref;
    if (arn[1] !== this.account.region || arn[2] !== this.account.id) {
      throw new Error(`${this.def.name}: child ${ref} is not in ${this.account.id}/${this.account.region}`);
    }
    return arn[3];
  }

  evaluate(): AlarmState {
    return ruleValue(this.tree, (ref) => this.account.alarm(this.childName(ref)).state) ? 'ALARM' : 'OK';
  }
}

interface PendingLogs {
  readonly logGroupName: string;
  readonly events: LogEvent[];
}

/**
 * One account and region with one deployed template (member or hub). ASSUMPTION (optimistic): every resource of
 * the stack exists from its deployment minute d; schedules first fire in minute d (DOCS.schedulerRate) and alarms
 * are first evaluated at boundary d + 1, so a zero baseline put in minute d is there for the first evaluation.
 */
export class SimAccount {
  readonly metrics = new MetricStore();
  readonly alarms = new Map<string, MetricAlarmInstance | CompositeAlarmInstance>();
  readonly logGroupNames: string[];
  readonly filters: MetricFilterModel[];
  readonly insightRules: InsightRuleModel[];
  readonly schedules: ScheduleModel[];
  private readonly pending = new Map<number, PendingLogs[]>();

  constructor(
    readonly world: World,
    readonly stack: StackContext,
    readonly kind: 'member' | 'hub',
    readonly deployedAt: number,
  ) {
    this.logGroupNames = stack.resources('AWS::Logs::LogGroup').map(([, p]) => stack.text(p.LogGroupName));
    this.filters = stack
      .resources('AWS::Logs::MetricFilter')
      .flatMap(([, p]) => MetricFilterModel.fromTemplate(stack, p));
    this.insightRules = stack
      .resources('AWS::CloudWatch::InsightRule')
      .map(([, p]) => InsightRuleModel.fromTemplate(stack, p));
    this.schedules = stack
      .resources('AWS::Scheduler::Schedule')
      .filter(([, p]) => p.State === undefined || stack.text(p.State) === 'ENABLED')
      .map(([, p]) => {
        const target = p.Target as Record<string, unknown>;
        const input = target.Input === undefined ? undefined : stack.resolve(target.Input);
        return {
          everyMinutes: rateMinutes(stack.text(p.ScheduleExpression)),
          target: stack.text(target.Arn),
          input: typeof input === 'string' ? (JSON.parse(input) as unknown) : input,
        };
      });
    for (const def of alarmDefinitions(stack)) {
      this.alarms.set(
        def.name,
        def.type === 'metric' ? new MetricAlarmInstance(def, this) : new CompositeAlarmInstance(def, this),
      );
    }
  }

  get id(): string {
    return this.stack.account;
  }
  get region(): string {
    return this.stack.region;
  }

  /** The synthesized definition of a metric alarm of this account. */
  metricAlarm(name: string): MetricAlarmDefinition {
    const alarm = this.alarm(name);
    if (!(alarm instanceof MetricAlarmInstance)) throw new Error(`${name} is a composite alarm`);
    return alarm.def;
  }

  /** The state of an alarm of this account now. */
  stateOf(name: string): AlarmState {
    return this.alarm(name).state;
  }

  /** Matching events a Contributor Insights rule of this account counted in minutes [from, to). */
  insightRuleCount(ruleName: string, from: number, to: number): number {
    return this.metrics.values(insightMetric(ruleName), from, to, Infinity).reduce((a, b) => a + b, 0);
  }

  alarm(name: string): MetricAlarmInstance | CompositeAlarmInstance {
    const alarm = this.alarms.get(name);
    if (!alarm) throw new Error(`${this.id}: no alarm ${name} (has ${[...this.alarms.keys()].join(', ')})`);
    return alarm;
  }

  /** Log events written to a log group of this account, ingested `lateness` minutes after their timestamp. */
  log(logGroupName: string, events: LogEvent[], lateness = 0): void {
    const byIngestion = new Map<number, LogEvent[]>();
    for (const e of events) {
      const at = e.minute + lateness;
      const batch = byIngestion.get(at);
      if (batch) batch.push(e);
      else byIngestion.set(at, [e]);
    }
    for (const [at, batch] of byIngestion) {
      this.pending.set(at, [...(this.pending.get(at) ?? []), { logGroupName, events: batch }]);
    }
  }

  /** Runs minute m: schedules fire, log events ingested in minute m are processed. */
  runMinute(m: number): void {
    if (m < this.deployedAt) return;
    for (const schedule of this.schedules) {
      if ((m - this.deployedAt) % schedule.everyMinutes !== 0) continue;
      this.world.scheduleFired(this, schedule, m);
    }
    for (const batch of this.pending.get(m) ?? []) this.ingest(batch, m);
    this.pending.delete(m);
  }

  /**
   * One minute's ingestion into a log group: `AWS/Logs IncomingLogEvents` (Sum of events, only for minutes with
   * events, DOCS.logsMetrics), the metric filters of the group per event minute (DOCS.metricFilters), and the
   * Contributor Insights rules that read the group (here or in a monitoring account).
   */
  private ingest({ logGroupName, events }: PendingLogs, m: number): void {
    if (!this.logGroupNames.includes(logGroupName) && !this.world.insightReaders(this, logGroupName).length) {
      throw new Error(`${this.id}: no log group ${logGroupName}`);
    }
    const arrival = m + 1 + DELAYS.metricFilter;
    this.metrics.put(
      { namespace: 'AWS/Logs', metricName: 'IncomingLogEvents', dimensions: { LogGroupName: logGroupName } },
      m,
      arrival,
      [events.length],
    );
    const byMinute = new Map<number, Record<string, unknown>[]>();
    for (const e of events) {
      const jsons = byMinute.get(e.minute);
      if (jsons) jsons.push(e.json);
      else byMinute.set(e.minute, [e.json]);
    }
    for (const filter of this.filters.filter((f) => f.logGroupName === logGroupName)) {
      for (const [minute, jsons] of byMinute) this.metrics.put(filter.metric, minute, arrival, filter.valuesFor(jsons));
    }
    for (const { account, rule } of this.world.insightReaders(this, logGroupName)) {
      for (const [minute, jsons] of byMinute) {
        const matched = jsons.filter((j) => rule.matches(j)).length;
        if (matched > 0) account.metrics.put(insightMetric(rule.name), minute, arrival, [matched]);
      }
    }
  }

  /** Evaluates the metric alarms at boundary t (first evaluation one minute after deployment). */
  evaluateMetricAlarms(t: number): StateChange[] {
    if (t <= this.deployedAt) return [];
    const changes: StateChange[] = [];
    for (const alarm of this.alarms.values()) {
      if (!(alarm instanceof MetricAlarmInstance)) continue;
      const next = alarm.evaluate(t);
      if (next !== alarm.state) {
        changes.push(this.change(t, alarm.def.name, 'metric', alarm.state, next));
        alarm.state = next;
      }
    }
    return changes;
  }

  /** Composites follow their children at the same boundary (evaluated until nothing changes). */
  evaluateComposites(t: number): StateChange[] {
    if (t <= this.deployedAt) return [];
    const changes: StateChange[] = [];
    for (let round = 0; round < 10; round++) {
      let changed = false;
      for (const alarm of this.alarms.values()) {
        if (!(alarm instanceof CompositeAlarmInstance)) continue;
        const next = alarm.evaluate();
        if (next !== alarm.state) {
          changes.push(this.change(t, alarm.def.name, 'composite', alarm.state, next));
          alarm.state = next;
          changed = true;
        }
      }
      if (!changed) return changes;
    }
    throw new Error(`${this.id}: composite alarms do not settle`);
  }

  private change(
    minute: number,
    alarmName: string,
    alarmType: 'metric' | 'composite',
    previousState: AlarmState,
    newState: AlarmState,
  ): StateChange {
    return { minute, accountId: this.id, region: this.region, alarmName, alarmType, previousState, newState };
  }
}

export interface WorldOptions {
  /** Minute at which the hub stack is deployed. */
  readonly hubDeployedAt?: number;
  /** Hub template parameter overrides. */
  readonly hubParameters?: Record<string, string>;
}

export interface MemberOptions {
  readonly deployedAt?: number;
  readonly parameters?: Record<string, string>;
  readonly region?: string;
}

/**
 * The organization: the hub account (hub template) and member accounts (the member StackSet template), all linked
 * to the hub's OAM sink. Alarm state changes travel the synthesized EventBridge rules to the incident handler.
 */
export class World {
  readonly hub: SimAccount;
  readonly members: SimAccount[] = [];
  readonly changes: StateChange[] = [];
  readonly handler: IncidentHandlerModel;
  /** The next minute to run. */
  now: number;
  /** Queues (by name) with messages waiting, for `AWS/SQS` metrics. */
  readonly queueDepth = new Map<string, number>();
  /** Handler invocations fail (for `AWS/Lambda Errors`). */
  handlerFails = false;
  private readonly hubBusArn: string;
  private readonly handlerFunctionName: string;
  private readonly queueActivity = new Map<string, number>();

  constructor(
    readonly hubTemplate: CfnTemplate,
    readonly memberTemplate: CfnTemplate,
    readonly hubAccountId: string,
    options: WorldOptions = {},
  ) {
    const hubStack = new StackContext(hubTemplate, hubAccountId, 'us-east-1', options.hubParameters);
    this.hub = new SimAccount(this, hubStack, 'hub', options.hubDeployedAt ?? 0);
    this.now = this.hub.deployedAt;
    const [busId] = hubStack.resources('AWS::Events::EventBus')[0] ?? [];
    if (!busId) throw new Error('The hub template has no event bus');
    this.hubBusArn = String(hubStack.resolve({ 'Fn::GetAtt': [busId, 'Arn'] }));
    const handler = hubStack
      .resources('AWS::Lambda::Function')
      .find(
        ([, p]) =>
          (p.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.JIRA_TICKET_ALARM_PATTERN,
      );
    if (!handler) throw new Error('No Lambda function in the hub template has JIRA_TICKET_ALARM_PATTERN');
    const variables = (handler[1].Environment as { Variables: Record<string, unknown> }).Variables;
    // The grace period needs the buffer queue for its delayed message (lambda/jira-incident/resolve.ts graceEnabled).
    const graceSeconds =
      variables.BUFFER_QUEUE_URL !== undefined && variables.RESOLVE_GRACE_SECONDS !== undefined
        ? hubStack.number(variables.RESOLVE_GRACE_SECONDS)
        : 0;
    this.handler = new IncidentHandlerModel(
      new RegExp(hubStack.text(variables.JIRA_TICKET_ALARM_PATTERN)),
      Math.ceil(graceSeconds / 60),
    );
    this.handlerFunctionName = hubStack.text(handler[1].FunctionName);
  }

  /** A member account running the member template (the StackSet passes the hub bus ARN). */
  addMember(accountId: string, options: MemberOptions = {}): SimAccount {
    const stack = new StackContext(this.memberTemplate, accountId, options.region ?? 'us-east-1', {
      HubEventBusArn: this.hubBusArn,
      ...options.parameters,
    });
    const account = new SimAccount(this, stack, 'member', options.deployedAt ?? this.now);
    this.members.push(account);
    return account;
  }

  account(id: string): SimAccount {
    const found = [this.hub, ...this.members].find((a) => a.id === id);
    if (!found) throw new Error(`No account ${id}`);
    return found;
  }

  /** A monitoring account sees its own metrics and those of every linked account (DOCS.crossAccountObservability). */
  accountsVisibleFrom(account: SimAccount): SimAccount[] {
    return account.kind === 'hub' ? [this.hub, ...this.members] : [account];
  }

  /** Contributor Insights rules, anywhere, that read this log group of this account. */
  insightReaders(owner: SimAccount, logGroupName: string): { account: SimAccount; rule: InsightRuleModel }[] {
    return [this.hub, ...this.members].flatMap((account) =>
      account.insightRules
        .filter((rule) => rule.reads(account.id, account.region, owner.id, logGroupName))
        .filter(() => this.accountsVisibleFrom(account).includes(owner))
        .map((rule) => ({ account, rule })),
    );
  }

  /**
   * A schedule's invocation (EventBridge Scheduler universal targets, DOCS.schedulerUniversalTargets):
   * `cloudwatch:putMetricData` puts its MetricData at minute m (DOCS.putMetricData); `sqs:*` calls are activity on
   * the queue; the alert-path heartbeat goes to the hub bus and, handled, publishes its success metric.
   */
  scheduleFired(account: SimAccount, schedule: ScheduleModel, m: number): void {
    const input = schedule.input as Record<string, unknown> | undefined;
    if (schedule.target === 'arn:aws:scheduler:::aws-sdk:cloudwatch:putMetricData') {
      const data = input as {
        Namespace: string;
        MetricData: { MetricName: string; Value: number; Dimensions?: { Name: string; Value: string }[] }[];
      };
      for (const d of data.MetricData) {
        const dimensions = Object.fromEntries((d.Dimensions ?? []).map((x) => [x.Name, x.Value]));
        account.metrics.put(
          { namespace: data.Namespace, metricName: d.MetricName, dimensions },
          m,
          m + 1 + DELAYS.putMetricData,
          [d.Value],
        );
      }
    } else if (schedule.target.startsWith('arn:aws:scheduler:::aws-sdk:sqs:')) {
      const url = String(input?.QueueUrl ?? '');
      this.queueActivity.set(url.slice(url.lastIndexOf('/') + 1), m);
    } else if (schedule.target === this.hubBusArn && input?.heartbeat === true) {
      this.heartbeats.push(m);
    }
  }

  /** Minutes at which a heartbeat went through the alert path. */
  readonly heartbeats: number[] = [];

  /**
   * Runs minutes [now, until): accounts run their minute (schedules, log ingestion), `perMinute(m)` writes the
   * scenario's log events, then every alarm is evaluated at boundary m + 1, composites follow, state changes go
   * to the handler, and the hub's pipeline metrics are published.
   */
  run(until: number, perMinute?: (m: number) => void): void {
    for (let m = this.now; m < until; m++) {
      perMinute?.(m);
      for (const account of [this.hub, ...this.members]) account.runMinute(m);
      this.publishPipelineMetrics(m);
      const t = m + 1;
      const changes: StateChange[] = [];
      for (const account of [this.hub, ...this.members]) changes.push(...account.evaluateMetricAlarms(t));
      for (const account of [this.hub, ...this.members]) changes.push(...account.evaluateComposites(t));
      this.handler.tick(t);
      for (const change of changes) {
        this.changes.push(change);
        if (this.reachesHandler(change)) this.handler.handle(change);
      }
      this.now = t;
    }
  }

  /**
   * Whether a state change reaches the incident handler through the synthesized rules (DOCS.eventPatterns): a rule
   * on the default bus of the alarm's account forwards it to the hub bus, and a rule on the hub bus sends it to the
   * queue the handler reads.
   */
  reachesHandler(change: StateChange): boolean {
    const event = stateChangeEvent(change);
    const origin = this.account(change.accountId);
    const forwarded = origin.stack
      .resources('AWS::Events::Rule')
      .filter(([, p]) => p.EventBusName === undefined && matchesEventPattern(p.EventPattern, event))
      .some(([, p]) => (p.Targets as { Arn: unknown }[]).some((t) => origin.stack.text(t.Arn) === this.hubBusArn));
    if (!forwarded) return false;
    const hub = this.hub.stack;
    const busName = this.hubBusArn.slice(this.hubBusArn.lastIndexOf('/') + 1);
    const handlerQueues = hub
      .resources('AWS::Lambda::EventSourceMapping')
      .filter(([, p]) => hub.text(p.FunctionName) === this.handlerFunctionName)
      .map(([, p]) => hub.text(p.EventSourceArn));
    return hub
      .resources('AWS::Events::Rule')
      .filter(([, p]) => p.EventBusName !== undefined && hub.text(p.EventBusName) === busName)
      .filter(([, p]) => matchesEventPattern(p.EventPattern, event))
      .some(([, p]) => (p.Targets as { Arn: unknown }[]).some((t) => handlerQueues.includes(hub.text(t.Arn))));
  }

  /**
   * The hub pipeline's own metrics at minute m:
   * - `AWS/SQS` queue metrics every minute while the queue is active: "CloudWatch considers a queue to be active
   *   for up to six hours if it contains any messages or if any action accesses it" (DOCS.sqsMetrics);
   * - `AWS/Lambda Errors` of the handler only for minutes with invocations (DOCS.lambdaMetrics);
   * - the heartbeat's success metric when a heartbeat went through.
   */
  private publishPipelineMetrics(m: number): void {
    if (m < this.hub.deployedAt) return;
    const arrival = m + 1 + DELAYS.serviceMetrics;
    for (const [queue, last] of this.queueActivity) {
      const depth = this.queueDepth.get(queue) ?? 0;
      if (depth > 0) this.queueActivity.set(queue, m);
      if (m - last > 360 && depth === 0) continue;
      const dims = { QueueName: queue };
      this.hub.metrics.put(
        { namespace: 'AWS/SQS', metricName: 'ApproximateNumberOfMessagesVisible', dimensions: dims },
        m,
        arrival,
        [depth],
      );
      this.hub.metrics.put(
        { namespace: 'AWS/SQS', metricName: 'ApproximateAgeOfOldestMessage', dimensions: dims },
        m,
        arrival,
        [0],
      );
    }
    const heartbeat = this.heartbeats.includes(m);
    const invocations = (this.handler.invocations.get(m) ?? 0) + (heartbeat ? 1 : 0);
    if (invocations > 0) {
      const dims = { FunctionName: this.handlerFunctionName };
      this.hub.metrics.put({ namespace: 'AWS/Lambda', metricName: 'Invocations', dimensions: dims }, m, arrival, [
        invocations,
      ]);
      this.hub.metrics.put(
        { namespace: 'AWS/Lambda', metricName: 'Errors', dimensions: dims },
        m,
        arrival,
        Array.from({ length: invocations }, () => (this.handlerFails ? 1 : 0)),
      );
    }
    if (heartbeat && !this.handlerFails) {
      this.hub.metrics.put(
        { namespace: PIPELINE_METRIC_NAMESPACE, metricName: HEARTBEAT_METRIC, dimensions: {} },
        m,
        arrival,
        [1],
      );
    }
  }

  // ---- reading results ----

  /** State changes of alarms named `alarmName` (in one account, if given) from minute `from` on. */
  changesOf(alarmName: string, accountId?: string, from = -Infinity): StateChange[] {
    return this.changes.filter(
      (c) => c.alarmName === alarmName && (!accountId || c.accountId === accountId) && c.minute >= from,
    );
  }

  /** Tickets opened from minute `from` on. */
  ticketsSince(from: number): Ticket[] {
    return this.handler.tickets.filter((t) => t.openedAt >= from);
  }

  /** First minute (from `from` on) at which the alarm entered ALARM. */
  firstAlarm(alarmName: string, accountId?: string, from = -Infinity): number | undefined {
    return this.changesOf(alarmName, accountId, from).find((c) => c.newState === 'ALARM')?.minute;
  }
}
