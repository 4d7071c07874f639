/**
 * What an organization of N member accounts synthesizes to, measured against CloudFormation, IAM and CloudWatch
 * limits, with the alarms' monthly list price. Used by `npm run bench` (docs/benchmarks.md) and by the scale
 * tests (test/infra/scale.test.ts), so the numbers the README quotes are the numbers the tests assert.
 */
import { performance } from 'node:perf_hooks';
import * as fs from 'fs';
import * as path from 'path';
import { App, NestedStack } from 'aws-cdk-lib';
import { addObservabilityHub } from '../../lib/app';
import { EXAMPLE_CONFIG, loadConfig, ObservabilityConfigInput } from '../../lib/config';

/** CloudFormation, IAM and CloudWatch quotas the templates must stay inside. */
export const LIMITS = {
  templateBytes: 1_000_000, // CloudFormation template body (S3 URL), CloudFormation quotas
  resourcesPerTemplate: 500, // CloudFormation quotas
  managedPolicyChars: 6_144, // IAM managed policy document, IAM quotas (whitespace not counted)
  dashboardWidgets: 500,
  dashboardMetrics: 2_500,
  widgetMetrics: 500,
};

/**
 * us-east-1 list prices used for the cost estimates (aws.amazon.com/cloudwatch/pricing, read 2026-12-01).
 * Metric alarms are billed per metric they evaluate; Metrics Insights query alarms per metric they analyze
 * (here one per linked account); composite alarms per alarm.
 */
export const PRICES = {
  date: '2026-12-01',
  alarmMetricMonth: 0.1,
  compositeAlarmMonth: 0.5,
  dashboardMonth: 3, // beyond the first 3 (free tier)
  contributorInsightsRuleMonth: 0.5,
  customMetricMonth: 0.3, // first 10,000 metrics
  putMetricDataPer1000: 0.01,
  schedulerPerMillion: 1.0, // after the 14 million free invocations per month
  interfaceEndpointHour: 0.01, // per AZ
};

export interface TemplateStats {
  readonly name: string;
  readonly bytes: number;
  readonly resources: number;
}

export interface ScaleReport {
  readonly accounts: number;
  readonly synthMs: number;
  readonly templates: TemplateStats[];
  readonly largestPolicyChars: number;
  readonly dashboards: { name: string; widgets: number; metrics: number }[];
  /** Per environment: hub alarms + member alarms in every account and region. */
  readonly alarms: { hubMetric: number; hubComposite: number; memberMetric: number; memberComposite: number };
  readonly monthlyAlarmCost: number;
}

/** `n` member accounts in one OU. */
export function generatedMembers(n: number): NonNullable<ObservabilityConfigInput['memberAccounts']> {
  return Array.from({ length: n }, (_, i) => ({
    id: String(100000000000 + i),
    name: `payments-${i}`,
    organizationalUnitId: 'ou-ab12-paym0001',
  }));
}

type Resource = { Type: string; Properties?: Record<string, unknown> };
type TemplateJson = { Resources: Record<string, Resource> };

/**
 * Synthesizes the app for `accounts` member accounts. cdk-nag, the Guard rules and esbuild bundling are off: they
 * do not change the templates (`npm run bench` times the full `cdk synth` separately).
 */
export function measureScale(accounts: number, overrides: Partial<ObservabilityConfigInput> = {}): ScaleReport {
  const started = performance.now();
  const app = new App({ builtinCloudFormationValidation: false, context: { 'aws:cdk:bundling-stacks': [] } });
  const config = loadConfig(
    {
      ...EXAMPLE_CONFIG,
      memberAccounts: accounts === 3 ? EXAMPLE_CONFIG.memberAccounts : generatedMembers(accounts),
      ...overrides,
    },
    'bench',
  );
  const hub = addObservabilityHub(app, { config, nag: false });
  const assembly = app.synth();
  const synthMs = performance.now() - started;

  const files = [
    hub.templateFile,
    ...hub.node
      .findAll()
      .filter(NestedStack.isNestedStack)
      .map((n) => n.templateFile),
    hub.memberStack.templateFile,
  ];
  const templates = files.map((file) => {
    const text = fs.readFileSync(path.join(assembly.directory, file), 'utf8');
    return { file, text, json: JSON.parse(text) as TemplateJson };
  });
  const all = templates.flatMap((t) => Object.values(t.json.Resources));
  const hubResources = templates
    .filter((t) => !t.file.endsWith('.stackset.template.json'))
    .flatMap((t) => Object.values(t.json.Resources));
  const memberResources = Object.values(templates[templates.length - 1].json.Resources);
  const count = (rs: Resource[], type: string) => rs.filter((r) => r.Type === type).length;
  const metricsOf = (r: Resource) =>
    Math.max(
      1,
      ((r.Properties?.Metrics as unknown[]) ?? []).filter(
        (m) => !(m as { Expression?: string }).Expression || /^SELECT/.test((m as { Expression: string }).Expression),
      ).length,
    );

  const hubAlarmMetrics = hubResources
    .filter((r) => r.Type === 'AWS::CloudWatch::Alarm')
    .reduce((n, r) => {
      const insights = ((r.Properties?.Metrics as { Expression?: string }[]) ?? []).some((m) =>
        /^SELECT/.test(m.Expression ?? ''),
      );
      return n + (insights ? accounts + 1 : metricsOf(r));
    }, 0);
  const memberAlarmMetrics = memberResources
    .filter((r) => r.Type === 'AWS::CloudWatch::Alarm')
    .reduce((n, r) => n + metricsOf(r), 0);
  const instances = accounts * config.deployment.regions.length;
  const alarms = {
    hubMetric: count(hubResources, 'AWS::CloudWatch::Alarm'),
    hubComposite: count(hubResources, 'AWS::CloudWatch::CompositeAlarm'),
    memberMetric: count(memberResources, 'AWS::CloudWatch::Alarm') * instances,
    memberComposite: count(memberResources, 'AWS::CloudWatch::CompositeAlarm') * instances,
  };
  const monthlyAlarmCost =
    (hubAlarmMetrics + memberAlarmMetrics * instances) * PRICES.alarmMetricMonth +
    (alarms.hubComposite + alarms.memberComposite) * PRICES.compositeAlarmMonth;

  const largestPolicyChars = Math.max(
    ...all
      .filter((r) => r.Type === 'AWS::IAM::ManagedPolicy')
      .map((r) => JSON.stringify(r.Properties?.PolicyDocument).replace(/\s/g, '').length),
  );
  const dashboards = all
    .filter((r) => r.Type === 'AWS::CloudWatch::Dashboard')
    .map((r) => {
      const body = JSON.parse(renderJoin(r.Properties?.DashboardBody)) as {
        widgets: { properties: { metrics?: unknown[][] } }[];
      };
      return {
        name: renderJoin(r.Properties?.DashboardName),
        widgets: body.widgets.length,
        metrics: body.widgets.reduce((n, w) => n + (w.properties.metrics?.length ?? 0), 0),
      };
    });
  return {
    accounts,
    synthMs,
    templates: templates.map((t) => ({
      name: t.file,
      bytes: Buffer.byteLength(t.text),
      resources: Object.keys(t.json.Resources).length,
    })),
    largestPolicyChars,
    dashboards,
    alarms,
    monthlyAlarmCost,
  };
}

/** Dashboard bodies and names are Fn::Join of strings and references: enough to count widgets and metrics. */
function renderJoin(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && 'Fn::Join' in value) {
    const [sep, parts] = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
    return parts.map((p) => (typeof p === 'string' ? p : 'X')).join(sep);
  }
  return 'X';
}

export interface CostLine {
  readonly item: string;
  readonly monthly: number;
  readonly basis: string;
}

/**
 * Monthly list price (us-east-1, PRICES.date) of one environment with `accounts` member accounts in one region,
 * the example's features (heartbeat on, no canary, one VPC), excluding what scales with the applications' own
 * log volume (CloudWatch Logs ingestion and storage, matched log events).
 */
export function monthlyCost(
  report: ScaleReport,
  options: { vpcAccounts?: number; canaryRunsPerMonth?: number } = {},
): CostLine[] {
  const minutes = 30 * 24 * 60;
  const accounts = report.accounts;
  const memberAlarmMetrics = 5; // errors 1, latency 2 (slow, payments), silence 1, throttling 1
  const lines: CostLine[] = [
    {
      item: 'member alarms (4 metric + 1 composite per account)',
      monthly: accounts * (memberAlarmMetrics * PRICES.alarmMetricMonth + PRICES.compositeAlarmMonth),
      basis: `${memberAlarmMetrics} alarm metrics x $${PRICES.alarmMetricMonth} + 1 composite x $${PRICES.compositeAlarmMonth}, per account`,
    },
    {
      item: 'hub alarms (platform, throttling, pipeline)',
      monthly: 2 * (accounts + 1) * PRICES.alarmMetricMonth + 12 * PRICES.alarmMetricMonth + PRICES.compositeAlarmMonth,
      basis: 'Metrics Insights platform alarms billed per metric analyzed (one per account), ~12 metrics in the others',
    },
    {
      item: 'application metrics (metric filters)',
      monthly: accounts * 5 * PRICES.customMetricMonth,
      basis: `5 custom metrics x $${PRICES.customMetricMonth} per account`,
    },
    {
      item: 'zero baseline (PutMetricData every minute)',
      monthly: (accounts + 1) * (minutes / 1000) * PRICES.putMetricDataPer1000,
      basis: `${minutes} requests x $${PRICES.putMetricDataPer1000}/1,000 per account (Scheduler inside its free tier)`,
    },
    {
      item: 'Contributor Insights rules',
      monthly: (accounts * 2 + 3) * PRICES.contributorInsightsRuleMonth,
      basis: `2 rules per account + 3 in the hub, x $${PRICES.contributorInsightsRuleMonth} (plus $0.02 per million matched events)`,
    },
    {
      item: 'dashboards',
      monthly: Math.max(0, report.dashboards.length - 3) * PRICES.dashboardMonth,
      basis: `${report.dashboards.length} dashboards, first 3 free, $${PRICES.dashboardMonth} each beyond`,
    },
    {
      item: 'interface VPC endpoints',
      monthly: (options.vpcAccounts ?? 1) * 3 * 2 * 24 * 30 * PRICES.interfaceEndpointHour,
      basis: `${options.vpcAccounts ?? 1} VPC(s) x 3 endpoints x 2 AZs x $${PRICES.interfaceEndpointHour}/h (plus $0.01/GB)`,
    },
  ];
  if (options.canaryRunsPerMonth) {
    lines.push({
      item: 'Synthetics canary',
      monthly: options.canaryRunsPerMonth * 0.0012,
      basis: `${options.canaryRunsPerMonth} runs x $0.0012`,
    });
  }
  lines.push({
    item: 'Lambda, SQS, SNS email, DynamoDB, EventBridge',
    monthly: 1,
    basis: 'cents at alarm volumes; $1 rounds them up',
  });
  return lines;
}
